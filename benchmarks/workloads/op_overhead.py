"""Op overhead: what the engine adds to each operation, on arrays too small to hide it.

A chain of 1000 elementwise operations, ``x * c``, ``x + a``, ``tanh``, repeating (and one
last ``* c``), on one leaf of shape (1,) and one of shape (32, 32), float32, then ``sum``
and ``backward``. Timed twice: the forward pass with recording, and forward + backward.

The floor records what a hand-written backward needs (each tanh's output) in a list, and its
backward multiplies the gradient through the chain: ``* c`` for a product, ``* (1 - y²)`` for
a tanh, nothing for a sum.

The floor holds its constants the fastest way NumPy allows for the shape (measured): as 0-d
float32 arrays for the (1,) chain (``x * c`` then takes about half the time it takes with a
Python float, whose conversion NumPy repeats on every call), and as float32 scalars for the
(32, 32) chain (where a 0-d array is the slower of the two).

NOTE: c = 1.01 and a = 0.001 keep the values inside tanh's curved part and the gradient
between about 1e-7 and 4, so no subnormal numbers slow any side down.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, Target, assert_close

NAME = "op_overhead"
OPS = 1000
C, A = 1.01, 0.001
TRIPLES, EXTRA = divmod(OPS, 3)  # 333 (mul, add, tanh) and one more mul
assert EXTRA == 1


def start_values(shape: tuple[int, ...]) -> np.ndarray:
    if shape == (1,):
        return np.full(shape, 0.5, np.float32)
    return np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape)


# ---- autonet: what a user writes ----------------------------------------------------------
def autonet_forward(x: an.Tensor) -> an.Tensor:
    for _ in range(TRIPLES):
        x = x * C
        x = x + A
        x = x.tanh()
    return (x * C).sum()


def autonet_step(leaf: an.Tensor) -> Any:
    leaf.grad = None
    autonet_forward(leaf).backward()
    return leaf.grad


# ---- the floor ----------------------------------------------------------------------------
def constants(shape: tuple[int, ...]) -> tuple[Any, Any, Any]:
    """c, a and 1 as the floor holds them for arrays of ``shape`` (see the module docstring)."""
    make = (lambda v: np.array(v, np.float32)) if shape == (1,) else np.float32
    return make(C), make(A), make(1.0)


def floor_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The sum, the last value before it, and the tape: every tanh's output."""
    c, a, _ = constants(x.shape)
    tape = []
    for _ in range(TRIPLES):
        x = x * c
        x = x + a
        x = np.tanh(x)
        tape.append(x)
    x = x * c
    return x.sum(), x, tape


def floor_step(x0: np.ndarray) -> np.ndarray:
    _, x, tape = floor_forward(x0)
    c, _, one = constants(x0.shape)
    g = np.ones_like(x)  # d(sum)/dx
    g = g * c
    for y in reversed(tape):
        g = g * (one - y * y)  # tanh
        g = g * c  # (x + a) passes g through unchanged; x * c multiplies it by c
    return g


# ---- PyTorch ------------------------------------------------------------------------------
def torch_forward(torch: Any, x: Any) -> Any:
    for _ in range(TRIPLES):
        x = x * C
        x = x + A
        x = torch.tanh(x)
    return (x * C).sum()


def torch_step(torch: Any, leaf: Any) -> Any:
    leaf.grad = None
    torch_forward(torch, leaf).backward()
    return leaf.grad


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    rows = []
    for shape in [(1,), (32, 32)]:
        x0 = start_values(shape)
        leaf = an.tensor(x0, requires_grad=True)
        tleaf = torch.tensor(x0, requires_grad=True) if torch else None

        # check: the sum and the leaf's gradient agree with the floor's
        total = autonet_forward(leaf)
        rel = assert_close(f"op chain {shape}: sum", total.item(), floor_forward(x0)[0], 1e-5)
        grad = autonet_step(leaf)
        rel = max(rel, assert_close(f"op chain {shape}: grad", grad.data, floor_step(x0), 1e-4))
        if torch:
            assert_close(
                f"op chain {shape}: torch grad",
                torch_step(torch, tleaf).numpy(),
                floor_step(x0),
                1e-4,
            )
        check = f"ok (max rel. diff {rel:.1g})"

        reps = bench.config.pick(15, 5)
        number = bench.config.pick(4, 2)
        for case, sides, limit in [
            (
                "forward with recording",
                {
                    "autonet": lambda leaf=leaf: autonet_forward(leaf),
                    "floor": lambda x0=x0: floor_forward(x0),
                    "torch": lambda t=tleaf: torch_forward(torch, t),
                },
                2.5,
            ),
            (
                "forward + backward",
                {
                    "autonet": lambda leaf=leaf: autonet_step(leaf),
                    "floor": lambda x0=x0: floor_step(x0),
                    "torch": lambda t=tleaf: torch_step(torch, t),
                },
                3.0,
            ),
        ]:
            if not torch:
                del sides["torch"]
            label = f"op overhead {shape}: {case}"
            medians, spreads = bench.time(label, sides, reps, number)
            per_op = {side: t / OPS * 1e6 for side, t in medians.items()}
            rows.append(
                Row(
                    NAME,
                    f"shape {shape}, {case}",
                    "µs/op",
                    per_op,
                    Target(limit),
                    check,
                    spreads=spreads,
                )
            )
    return rows
