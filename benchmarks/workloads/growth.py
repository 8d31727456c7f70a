"""growth: how each side's cost grows with the size of the data.

Three curves per side (autonet, the floor, PyTorch), drawn in ``benchmarks/growth.png`` and
summed up in a few rows of the table:

- **per-operation cost against tensor size**, 1 to 10⁶ elements: a chain of 30 elementwise
  operations (``* c``, ``+ a``, ``tanh``, repeating) on one float32 leaf, then ``sum`` and
  ``backward``, divided by 30. The floor is :mod:`op_overhead`'s (constants held the fastest
  way for the size). Where the arrays are small the cost is the engine's fixed cost per
  operation; where they are large it is NumPy's arithmetic, the same on every side.
- **MLP step time against batch size**, 1 to 4096: :mod:`mlp_step`'s 784-256-128-10 step.
- **conv2d time against image size**, 8×8 to 64×64: :mod:`conv2d`'s forward + backward,
  batch 16, 16→32 channels, 3×3, padding 1.

Each point is checked against the floor before it is timed (the workloads' own checks run
on their fixed cases; here the chain's gradient and the convolution's gradients are
compared).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, assert_close, check_all
from benchmarks.workloads import conv2d, mlp_step, op_overhead

NAME = "growth"
TRIPLES = 10
OPS = 3 * TRIPLES
ELEMENTS = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]
BATCHES = [1, 4, 16, 64, 256, 1024, 4096]
IMAGES = [8, 16, 32, 64]
CONV_BATCH, CONV_IN, CONV_OUT = 16, 16, 32


# ---- the op chain, shortened ---------------------------------------------------------------
def autonet_chain(leaf: an.Tensor) -> Any:
    leaf.grad = None
    x = leaf
    for _ in range(TRIPLES):
        x = (x * op_overhead.C + op_overhead.A).tanh()
    x.sum().backward()
    return leaf.grad


def floor_chain(x: np.ndarray) -> np.ndarray:
    c, a, one = op_overhead.constants((1,) if x.size == 1 else x.shape)
    tape = []
    for _ in range(TRIPLES):
        x = np.tanh(x * c + a)
        tape.append(x)
    g = np.ones_like(x)
    for y in reversed(tape):
        g = g * (one - y * y) * c
    return g


def torch_chain(leaf: Any) -> Any:
    leaf.grad = None
    x = leaf
    for _ in range(TRIPLES):
        x = (x * op_overhead.C + op_overhead.A).tanh()
    x.sum().backward()
    return leaf.grad


def chain_sides(n: int, torch: Any) -> dict[str, Any]:
    x0 = np.linspace(-1, 1, n, dtype=np.float32) if n > 1 else np.full(1, 0.5, np.float32)
    leaf = an.tensor(x0, requires_grad=True)
    assert_close(f"growth, chain of {n}", autonet_chain(leaf).data, floor_chain(x0), 1e-4, 1e-6)
    sides = {"autonet": lambda: autonet_chain(leaf), "floor": lambda: floor_chain(x0)}
    if torch:
        t = torch.tensor(x0, requires_grad=True)
        sides["torch"] = lambda: torch_chain(t)
    return sides


def conv_sides(size: int, torch: Any) -> dict[str, Any]:
    rng = np.random.default_rng(size)
    x0 = rng.random((CONV_BATCH, CONV_IN, size, size), dtype=np.float32)
    w0 = (rng.standard_normal((CONV_OUT, CONV_IN, 3, 3)) / 12).astype(np.float32)
    b0 = np.zeros(CONV_OUT, np.float32)
    g0 = rng.standard_normal((CONV_BATCH, CONV_OUT, size, size)).astype(np.float32)
    x, w, b = (an.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    g = an.tensor(g0)

    def autonet_step() -> list[Any]:
        x.grad = w.grad = b.grad = None
        (an.nn.functional.conv2d(x, w, b, 1, 1) * g).sum().backward()
        return [x.grad.data, w.grad.data, b.grad.data]

    expected = conv2d.floor_step(x0, w0, b0, g0, 1)
    check_all(f"growth, conv2d on {size}×{size}", autonet_step(), expected, 1e-3, 2e-3)
    sides = {"autonet": autonet_step, "floor": lambda: conv2d.floor_step(x0, w0, b0, g0, 1)}
    if torch:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        tg = torch.from_numpy(g0)

        def torch_step() -> None:
            tx.grad = tw.grad = tb.grad = None
            (torch.nn.functional.conv2d(tx, tw, tb, 1, 1) * tg).sum().backward()

        sides["torch"] = torch_step
    return sides


def curve(bench: Bench, label: str, points: list[int], make: Any, scale: float,
          small: int) -> dict:  # fmt: skip
    """For each point, each side's median time × ``scale``, and its noise. Points up to
    ``small`` time 10 calls per sample (a call there takes well under a millisecond)."""
    values: dict[str, list[float]] = {}
    noise: dict[str, list[float]] = {}
    for p in points:
        sides = make(p)
        number = 10 if p <= small else 1
        medians, spreads = bench.time(f"{label} {p}", sides, bench.config.pick(7, 3), number)
        for side, t in medians.items():
            values.setdefault(side, []).append(t * scale)
            noise.setdefault(side, []).append(spreads[side])
    return {"points": points, "values": values, "noise": noise}


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    curves = {
        "op": curve(bench, "op chain, elements", ELEMENTS, lambda n: chain_sides(n, torch),
                    1e6 / OPS, small=10_000),
        "mlp": curve(bench, "MLP step, batch", BATCHES,
                     lambda n: mlp_step.Sides(*mlp_step.batch(n), torch).timed(), 1e3, small=64),
        "conv": curve(bench, "conv2d, image", IMAGES, lambda n: conv_sides(n, torch), 1e3,
                      small=8),
    }  # fmt: skip
    bench.config.curves[NAME] = curves
    rows = []
    for key, unit, what, picks in [
        ("op", "µs/op", "per-op cost (chain of 30, forward + backward), {} elements", [0, 3, 6]),
        ("mlp", "ms/step", "MLP step, batch {}", [0, 6]),
        ("conv", "ms/step", f"conv2d {CONV_IN}→{CONV_OUT}, batch {CONV_BATCH}, {{0}}×{{0}}",
         [0, 3]),
    ]:  # fmt: skip
        data = curves[key]
        for k in picks:
            point = data["points"][k]
            values = {side: v[k] for side, v in data["values"].items()}
            spreads = {side: v[k] for side, v in data["noise"].items()}
            rows.append(Row(NAME, what.format(f"{point:,}"), unit, values, spreads=spreads))
    rows[-1].note = "curves in growth.png"
    return rows
