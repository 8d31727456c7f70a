"""Deep chain: 100 000 sequential scalar operations, alternately ``* c`` and ``+ a``, then
backward. It must complete (no recursion anywhere) and, where PyTorch is installed, recording
plus backward should be faster than PyTorch's.

The floor is plain Python floats: the forward loop keeps each step's local derivative in a
list, the backward multiplies them in reverse.

NOTE: c = 1 - 2⁻¹⁶ and a = 2⁻¹⁰ are exact in float32, so a float64 run of the chain gives the
floor's numbers to the last bit; the timed runs use the default float32. The gradient is
c⁵⁰⁰⁰⁰ ≈ 0.47, far from underflow.
"""

from __future__ import annotations

from typing import Any

import autonet as an
from benchmarks.harness import Bench, Row, Target, assert_close

NAME = "deep_chain"
OPS = 100_000
C, A = 1 - 2**-16, 2**-10
X0 = 0.5


def autonet_forward(x: an.Tensor) -> an.Tensor:
    for _ in range(OPS // 2):
        x = x * C
        x = x + A
    return x


def autonet_step(leaf: an.Tensor) -> an.Tensor:
    leaf.grad = None
    autonet_forward(leaf).backward()
    return leaf.grad


def floor_forward(x: float) -> tuple[float, list[float]]:
    tape = []
    for _ in range(OPS // 2):
        x = x * C
        tape.append(C)
        x = x + A
        tape.append(1.0)
    return x, tape


def floor_step(x: float) -> float:
    _, tape = floor_forward(x)
    g = 1.0
    for d in reversed(tape):
        g *= d
    return g


def torch_forward(x: Any) -> Any:
    for _ in range(OPS // 2):
        x = x * C
        x = x + A
    return x


def torch_step(leaf: Any) -> Any:
    leaf.grad = None
    torch_forward(leaf).backward()
    return leaf.grad


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    # check, in float64: the same arithmetic as Python floats
    leaf64 = an.tensor(X0, dtype=an.float64, requires_grad=True)
    value, _ = floor_forward(X0)
    rel = assert_close("deep chain: value", autonet_forward(leaf64).item(), value, 1e-12)
    rel = max(
        rel,
        assert_close("deep chain: gradient", autonet_step(leaf64).item(), floor_step(X0), 1e-12),
    )

    leaf = an.tensor(X0, requires_grad=True)  # float32, as a user gets it
    assert_close("deep chain, float32: gradient", autonet_step(leaf).item(), floor_step(X0), 1e-2)
    tleaf = torch.tensor(X0, requires_grad=True) if torch else None
    if torch:
        assert_close("deep chain: torch gradient", torch_step(tleaf).item(), floor_step(X0), 1e-2)
    check = f"ok in float64 (max rel. diff {rel:.1g}) and float32"

    reps = bench.config.pick(5, 2)
    rows = []
    for case, sides, target in [
        (
            "recording",
            {
                "autonet": lambda: autonet_forward(leaf),
                "floor": lambda: floor_forward(X0),
                "torch": lambda: torch_forward(tleaf),
            },
            None,
        ),
        (
            "recording + backward",
            {
                "autonet": lambda: autonet_step(leaf),
                "floor": lambda: floor_step(X0),
                "torch": lambda: torch_step(tleaf),
            },
            Target(1.0, "torch"),
        ),
    ]:
        if not torch:
            del sides["torch"]
        medians, spreads = bench.time(f"deep chain: {case}", sides, reps, warmup=0)
        rows.append(
            Row(NAME, f"{OPS:,} scalar ops, {case}", "s", medians, target, check, spreads=spreads)
        )
    return rows
