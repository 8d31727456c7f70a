"""Watch backpropagation happen: a traced backward pass, drawn node by node.

Two computations, each run inside ``an.viz.trace()`` so that every value and every gradient is
kept (no ``retain_grad``):

1. micrograd's neuron, o = tanh(x1·w1 + x2·w2 + b): the graph with data and grad on every node,
   a GIF that steps through the backward pass, and a page to explore it in a browser;
2. a small MLP on the XOR data with an MSE loss, drawn one box per layer (``depth=1``) with the
   statistics of each layer's output and gradient, and the backward pass step by step.

    python examples/backprop.py --out backprop    # writes the drawings into backprop/

The printed table is the backward pass of the neuron: each step, the local rule it applies and
the gradients it sends back (micrograd's numbers: dL/dx1 = -1.5, dL/dw1 = 1, ...).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import autonet as an
from autonet.viz import animate_backward, draw_graph, render, to_html


def neuron(out: Path) -> list[Path]:
    x1, x2 = an.tensor(2.0, requires_grad=True), an.tensor(0.0, requires_grad=True)
    w1, w2 = an.tensor(-3.0, requires_grad=True), an.tensor(1.0, requires_grad=True)
    b = an.tensor(6.8813735870195432, requires_grad=True)
    names = {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}
    with an.viz.trace() as tr:
        o = (x1 * w1 + x2 * w2 + b).tanh()
        o.backward()
    for step in tr.steps:
        sent = ", ".join(f"{g.array:.4g}" for g in step.grad_inputs if g is not None)
        print(f"step {step.index}: {step.label:5s} {step.rule:32s} sends {sent}")
    print("dL/dx1, dL/dw1, dL/dx2, dL/dw2, dL/db =",
          [round(t.grad.item(), 4) for t in (x1, w1, x2, w2, b)])  # fmt: skip
    return [
        render(draw_graph(o, params=names), out / "neuron.svg"),
        animate_backward(tr, out / "neuron_backprop.gif", params=names),
        to_html(tr, out / "neuron.html", params=names),
    ]


def mlp(out: Path) -> list[Path]:
    an.manual_seed(0)
    X, y = an.data.xor()
    net = an.nn.MLP(2, [4], 1, activation="tanh", output_activation="sigmoid")
    with an.viz.trace() as tr:
        loss = an.nn.functional.mse_loss(net(X), y)
        loss.backward()
    print(f"MLP: {len(tr.records)} operations, {len(tr.steps)} backward steps, loss {loss:.4f}")
    return [
        render(draw_graph(loss, model=net), out / "mlp.svg"),
        render(draw_graph(loss, model=net, depth=2, rankdir="TB"), out / "mlp_layers.svg"),
        to_html(tr, out / "mlp.html", model=net),
    ]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in neuron(out) + mlp(out):
        print("wrote", path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("backprop"))
    main(parser.parse_args().out)
