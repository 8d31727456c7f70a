"""Moons: the classic small demo (micrograd's), where nearly all the time is overhead.

A 2-16-16-1 ReLU network separates 100 points of two interleaved half-moons (labels ±1),
with the max-margin loss mean(relu(1 - y·score)) plus α Σθ² (α = 1e-4), full batch, 100 SGD
steps with micrograd's learning rate 1 - 0.9·k/100.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.floor import MLPFloor, hinge_l2
from benchmarks.harness import Bench, Row, Target, assert_close, check_all
from benchmarks.models import arrays_of, torch_mlp

NAME = "moons"
STEPS, ALPHA, SEED = 100, 1e-4, 0


def data() -> tuple[np.ndarray, np.ndarray]:
    X, y = an.data.moons(100, noise=0.1, seed=SEED)
    labels = (2 * y.numpy() - 1).astype(np.float32)[:, None]  # (100, 1) in {-1, 1}
    return X.numpy(), labels


def lr(step: int) -> float:
    return 1.0 - 0.9 * step / STEPS


def initial_model() -> an.nn.MLP:
    an.manual_seed(SEED)
    return an.nn.MLP(2, [16, 16], 1)


def train_autonet(x: np.ndarray, y: np.ndarray, steps: int = STEPS) -> tuple[list[float], Any]:
    X, Y = an.tensor(x), an.tensor(y)
    model = initial_model()
    optimizer = an.optim.SGD(model.parameters(), lr=lr(0))
    losses = []
    for k in range(steps):
        scores = model(X)
        data_loss = an.nn.functional.relu(1 - Y * scores).mean()
        loss = data_loss + ALPHA * sum((p * p).sum() for p in model.parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.param_groups[0]["lr"] = lr(k)
        optimizer.step()
        losses.append(loss.item())
    return losses, model


def train_floor(
    x: np.ndarray, y: np.ndarray, params: list[np.ndarray], steps: int = STEPS
) -> tuple[list[float], MLPFloor]:
    net = MLPFloor(params)
    losses = []
    for k in range(steps):
        scores, inputs = net.forward(x)
        loss, dscores, dreg = hinge_l2(scores, y, net.params, ALPHA)
        grads = [g + r for g, r in zip(net.backward(dscores, inputs), dreg)]
        net.sgd(grads, lr(k))
        losses.append(loss)
    return losses, net


def train_torch(
    torch: Any, x: np.ndarray, y: np.ndarray, params: list[np.ndarray], steps: int = STEPS
) -> tuple[list[float], Any]:
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    model = torch_mlp(torch, params)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr(0))
    losses = []
    for k in range(steps):
        scores = model(X)
        data_loss = torch.relu(1 - Y * scores).mean()
        loss = data_loss + ALPHA * sum((p * p).sum() for p in model.parameters())
        optimizer.zero_grad()
        loss.backward()
        optimizer.param_groups[0]["lr"] = lr(k)
        optimizer.step()
        losses.append(loss.item())
    return losses, model


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    x, y = data()
    params = arrays_of(initial_model())

    # check: a few steps agree closely; after all 100 the loss still agrees
    few_a, model = train_autonet(x, y, steps=5)
    few_f, net = train_floor(x, y, params, steps=5)
    rel = assert_close("moons, 5 steps: losses", few_a, few_f, 1e-5)
    rel = max(
        rel, check_all("moons, 5 steps: parameters", arrays_of(model), net.params, 1e-4, 1e-6)
    )
    last_a, last_f = train_autonet(x, y)[0][-1], train_floor(x, y, params)[0][-1]
    assert_close("moons, 100 steps: final loss", last_a, last_f, 1e-2)
    if torch:
        assert_close(
            "moons: torch final loss", train_torch(torch, x, y, params)[0][-1], last_f, 1e-2
        )
    check = f"ok after 5 steps (max rel. diff {rel:.1g}); final loss {last_a:.4f}"

    sides = {"autonet": lambda: train_autonet(x, y), "floor": lambda: train_floor(x, y, params)}
    if torch:
        sides["torch"] = lambda: train_torch(torch, x, y, params)
    medians, spreads = bench.time("moons, 100 steps", sides, bench.config.pick(9, 3), warmup=0)
    per_step = {side: t / STEPS * 1e3 for side, t in medians.items()}
    return [
        Row(
            NAME,
            f"{STEPS} full-batch steps",
            "ms/step",
            per_step,
            Target(2.0),
            check,
            spreads=spreads,
        )
    ]
