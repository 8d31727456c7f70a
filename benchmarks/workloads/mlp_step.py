"""MLP step: one training step of a 784-256-128-10 ReLU network on a batch, float32.

Forward, softmax cross-entropy, backward, SGD update; at batch 128 (where the engine's
overhead still shows) and batch 1024 (where matrix products should dominate).
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.floor import MLPFloor, cross_entropy
from benchmarks.harness import Bench, Row, Target, assert_close, check_all
from benchmarks.models import arrays_of, autonet_mlp, torch_mlp

NAME = "mlp_step"
SIZES = [784, 256, 128, 10]
LR = 0.01
CHECK_STEPS = 3


def batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random inputs in [0, 1) (like pixel intensities) and random labels."""
    rng = np.random.default_rng(seed)
    return rng.random((n, SIZES[0]), dtype=np.float32), rng.integers(0, SIZES[-1], n)


class Sides:
    """The three implementations of one step, from the same parameters and data."""

    def __init__(self, x: np.ndarray, y: np.ndarray, torch: Any = None) -> None:
        self.model = autonet_mlp(SIZES, seed=0)
        self.optimizer = an.optim.SGD(self.model.parameters(), lr=LR)
        self.x, self.y = an.tensor(x), an.tensor(y)
        self.floor = MLPFloor(arrays_of(self.model))
        self.fx, self.fy = x, y
        self.torch = torch
        if torch:
            self.tmodel = torch_mlp(torch, arrays_of(self.model))
            self.toptimizer = torch.optim.SGD(self.tmodel.parameters(), lr=LR)
            self.tx, self.ty = torch.from_numpy(x), torch.from_numpy(y)

    def autonet(self) -> float:
        loss = an.nn.functional.cross_entropy(self.model(self.x), self.y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def numpy(self) -> float:
        z, inputs = self.floor.forward(self.fx)
        loss, dz = cross_entropy(z, self.fy)
        self.floor.sgd(self.floor.backward(dz, inputs), LR)
        return loss

    def pytorch(self) -> float:
        loss = self.torch.nn.functional.cross_entropy(self.tmodel(self.tx), self.ty)
        self.toptimizer.zero_grad()
        loss.backward()
        self.toptimizer.step()
        return loss.item()

    def check(self, steps: int = CHECK_STEPS) -> str:
        """Run a few steps on every side; losses and parameters must agree."""
        rel = 0.0
        for k in range(steps):
            a, f = self.autonet(), self.numpy()
            rel = max(rel, assert_close(f"mlp step {k}: loss", a, f, 1e-5))
            if self.torch:
                assert_close(f"mlp step {k}: torch loss", self.pytorch(), f, 1e-4)
        rel = max(
            rel, check_all("mlp: parameters", arrays_of(self.model), self.floor.params, 1e-4, 1e-6)
        )
        if self.torch:
            check_all(
                "mlp: torch parameters", arrays_of(self.tmodel), self.floor.params, 1e-4, 1e-6
            )
        return f"ok after {steps} steps (max rel. diff {rel:.1g})"

    def timed(self) -> dict[str, Any]:
        sides = {"autonet": self.autonet, "floor": self.numpy}
        if self.torch:
            sides["torch"] = self.pytorch
        return sides


def run(bench: Bench) -> list[Row]:
    rows = []
    for n, limit, reps, number in [(128, 1.2, (20, 6), (10, 5)), (1024, 1.1, (15, 5), (4, 2))]:
        sides = Sides(*batch(n), bench.config.torch)
        check = sides.check()
        medians, spreads = bench.time(
            f"MLP step, batch {n}",
            sides.timed(),
            bench.config.pick(*reps),
            bench.config.pick(*number),
        )
        ms = {side: t * 1e3 for side, t in medians.items()}
        rows.append(Row(NAME, f"batch {n}", "ms/step", ms, Target(limit), check, spreads=spreads))
    return rows
