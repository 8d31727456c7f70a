"""Three drawings of recorded graphs, rendered to SVG with Graphviz:

1. ``scalar.svg``: micrograd's worked example L = (a·b + c)·f, with data and gradient on
   every node;
2. ``mlp.svg``: the forward graph of a small MLP, each layer a labelled box;
3. ``second_order.svg``: the graph that computes a derivative, recorded by
   ``backward(create_graph=True)`` — the backward pass as a graph of its own.

    python examples/graph.py --out graphs
"""

from __future__ import annotations

import argparse
from pathlib import Path

import autonet as an
from autonet.viz import draw_graph, render


def scalar_example(out: Path) -> Path:
    a = an.tensor(2.0, requires_grad=True)
    b = an.tensor(-3.0, requires_grad=True)
    c = an.tensor(10.0, requires_grad=True)
    f = an.tensor(-2.0, requires_grad=True)
    e = a * b
    d = e + c
    L = d * f
    for t in (e, d, L):
        t.retain_grad()  # keep the gradients of the intermediate values to show them
    L.backward()
    return render(draw_graph(L, params={"a": a, "b": b, "c": c, "f": f}), out / "scalar.svg")


def mlp_example(out: Path) -> Path:
    an.manual_seed(0)
    net = an.nn.MLP(2, [4], 1, activation="tanh", output_activation="sigmoid")
    X, y = an.data.xor()
    with an.viz.trace():  # notes each module call, so the drawing groups its operations
        loss = an.nn.functional.mse_loss(net(X), y)
    return render(draw_graph(loss, model=net, show_data=False), out / "mlp.svg")


def second_order_example(out: Path) -> Path:
    x = an.tensor(1.5, requires_grad=True)
    y = (x * x).tanh()
    (dy_dx,) = an.grad(y, x, create_graph=True)  # d/dx tanh(x²) = 2x(1 - tanh²(x²))
    return render(draw_graph(dy_dx, params={"x": x}), out / "second_order.svg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="graphs", help="folder for the SVG files")
    out = Path(parser.parse_args().out)
    for make in (scalar_example, mlp_example, second_order_example):
        print("wrote", make(out))


if __name__ == "__main__":
    main()
