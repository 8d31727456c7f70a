"""pool2d: max and average pooling, 2×2 windows with stride 2, forward and backward.

A batch of 64 float32 feature maps of 16 channels, 28×28 (what the first convolution of an
MNIST network gives), pooled to 14×14; the loss is Σ y·G for a fixed random G, and backward
gives the input's gradient.

The floor is the fastest NumPy found for it: the four window elements are four strided views
of x, ``x[..., i::2, j::2]``, each the size of the output. The maximum is ``np.maximum`` of
the four; its gradient goes, view by view, where the view equals the maximum (the data has
no ties). The mean is the views' sum over 4; its gradient is G/4 written into each view.
(Tried and slower: ``x.reshape(N, C, 14, 2, 14, 2).max(axis=(3, 5))`` and the same with
``mean``, whose reductions over the short window axes are several times slower than the four
views; ``sliding_window_view`` and a reduction over the window axes, slower still.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, Target, assert_close

NAME = "pool2d"
SHAPE, KERNEL = (64, 16, 28, 28), 2


def inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    n, c, h, w = SHAPE
    g = rng.standard_normal((n, c, h // KERNEL, w // KERNEL)).astype(np.float32)
    return x, g


def views(a: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """(i, j, a[..., i::2, j::2]) for the four elements of every 2×2 window."""
    return [(i, j, a[..., i::KERNEL, j::KERNEL]) for i in range(KERNEL) for j in range(KERNEL)]


QUARTER = np.array(1 / KERNEL**2, np.float32)  # a 0-d array of the data's dtype


def floor_max(x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pooled maxima and the input's gradient for the output gradient ``g``."""
    (_, _, a), (_, _, b), (_, _, c), (_, _, d) = views(x)
    y = np.maximum(np.maximum(a, b), np.maximum(c, d))
    _ = (y * g).sum()  # the loss, as the other sides compute it
    dx = np.empty_like(x)
    for (_, _, v), (_, _, target) in zip(views(x), views(dx)):
        np.multiply(g, v == y, out=target)
    return y, dx


def floor_avg(x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The window means and the input's gradient for the output gradient ``g``."""
    (_, _, a), (_, _, b), (_, _, c), (_, _, d) = views(x)
    y = a + b
    y += c
    y += d
    y *= QUARTER
    _ = (y * g).sum()
    dx = np.empty_like(x)
    share = g * QUARTER
    for _, _, target in views(dx):
        target[...] = share
    return y, dx


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    F = an.nn.functional
    x0, g0 = inputs()
    x, g = an.tensor(x0, requires_grad=True), an.tensor(g0)
    rows = []
    for kind, pool, floor in [("max", F.max_pool2d, floor_max), ("avg", F.avg_pool2d, floor_avg)]:

        def autonet_step(pool: Any = pool) -> Any:
            x.grad = None
            (pool(x, KERNEL) * g).sum().backward()
            return x.grad

        y, dx = floor(x0, g0)
        rel = assert_close(f"{kind}_pool2d: output", pool(x, KERNEL).data, y, 1e-6, 1e-7)
        rel = max(
            rel, assert_close(f"{kind}_pool2d: gradient", autonet_step().data, dx, 1e-6, 1e-7)
        )
        sides = {"autonet": autonet_step, "floor": lambda floor=floor: floor(x0, g0)}
        if torch:
            tx, tg = torch.tensor(x0, requires_grad=True), torch.from_numpy(g0)
            tpool = getattr(torch.nn.functional, f"{kind}_pool2d")

            def torch_step(tx: Any = tx, tg: Any = tg, tpool: Any = tpool) -> Any:
                tx.grad = None
                (tpool(tx, KERNEL) * tg).sum().backward()
                return tx.grad

            assert_close(f"{kind}_pool2d: torch gradient", torch_step().numpy(), dx, 1e-6, 1e-7)
            sides["torch"] = torch_step
        medians, spreads = bench.time(
            f"{kind}_pool2d", sides, bench.config.pick(15, 4), bench.config.pick(3, 1)
        )
        ms = {side: t * 1e3 for side, t in medians.items()}
        case = f"{kind}_pool2d 2×2 on {SHAPE}, forward + backward"
        check = f"ok (max rel. diff {rel:.1g})"
        rows.append(Row(NAME, case, "ms/step", ms, Target(1.2, "torch"), check, spreads=spreads))
    return rows
