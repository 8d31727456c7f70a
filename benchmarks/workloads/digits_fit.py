"""Digits fit: a whole small training run, as in the README's demonstration.

A 64-64-10 ReLU network on scikit-learn's handwritten digits (pixels scaled to [0, 1]),
1437 images to train on and 360 held out, SGD (lr 0.1) on shuffled batches of 32 for 20
epochs, then the test accuracy. autonet uses ``DataLoader(TensorDataset(...), shuffle=True)``;
the floor and PyTorch draw the same permutation each epoch from a NumPy generator with the
same seed, so every side sees the same batches in the same order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.floor import MLPFloor, cross_entropy
from benchmarks.harness import Bench, Row, Target, assert_close, check_all
from benchmarks.models import arrays_of, torch_mlp

NAME = "digits_fit"
EPOCHS, BATCH, LR, SEED = 20, 32, 0.1, 0
N_TEST = 360


def load() -> tuple[np.ndarray, ...]:
    """Train and test arrays: X float32 (n, 64), y int64."""
    X, y = an.data.load_digits()
    order = np.random.default_rng(SEED).permutation(len(y))
    train, test = order[N_TEST:], order[:N_TEST]
    x, t = X.numpy(), y.numpy()
    return x[train], t[train], x[test], t[test]


def initial_model() -> an.nn.MLP:
    an.manual_seed(SEED)
    return an.nn.MLP(64, [64], 10)


def fit_autonet(data: tuple[np.ndarray, ...], epochs: int = EPOCHS) -> tuple[float, Any]:
    x_train, y_train, x_test, y_test = data
    model = initial_model()
    loader = an.data.DataLoader(
        an.data.TensorDataset(an.tensor(x_train), an.tensor(y_train)),
        batch_size=BATCH,
        shuffle=True,
        generator=SEED,
    )
    optimizer = an.optim.SGD(model.parameters(), lr=LR)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = an.nn.functional.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with an.no_grad():
        predicted = model(an.tensor(x_test)).argmax(axis=1)
    accuracy = (predicted == an.tensor(y_test)).float().mean().item()
    return accuracy, model


def fit_floor(
    data: tuple[np.ndarray, ...], params: list[np.ndarray], epochs: int = EPOCHS
) -> tuple[float, MLPFloor]:
    x_train, y_train, x_test, y_test = data
    net = MLPFloor(params)
    rng = np.random.default_rng(SEED)
    n = len(y_train)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            rows = order[start : start + BATCH]
            z, inputs = net.forward(x_train[rows])
            _, dz = cross_entropy(z, y_train[rows])
            net.sgd(net.backward(dz, inputs), LR)
    accuracy = float((net.predict(x_test).argmax(axis=1) == y_test).mean())
    return accuracy, net


def fit_torch(
    torch: Any, data: tuple[np.ndarray, ...], params: list[np.ndarray], epochs: int = EPOCHS
) -> tuple[float, Any]:
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in data)
    model = torch_mlp(torch, params)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    rng = np.random.default_rng(SEED)
    n = len(y_train)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(n))
        for start in range(0, n, BATCH):
            rows = order[start : start + BATCH]
            loss = torch.nn.functional.cross_entropy(model(x_train[rows]), y_train[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(dim=1) == y_test).float().mean().item()
    return accuracy, model


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    try:
        data = load()
    except ImportError as e:  # scikit-learn holds the digits
        return [Row(NAME, f"{EPOCHS} epochs, batch {BATCH}", "s/fit", {}, note=f"skipped: {e}")]
    params = arrays_of(initial_model())

    # check: one epoch gives the same parameters; the full fit the same accuracy
    _, model = fit_autonet(data, epochs=1)
    _, net = fit_floor(data, params, epochs=1)
    rel = check_all("digits, one epoch: parameters", arrays_of(model), net.params, 1e-3, 1e-5)
    acc = {"autonet": fit_autonet(data)[0], "floor": fit_floor(data, params)[0]}
    if torch:
        acc["torch"] = fit_torch(torch, data, params)[0]
        assert_close("digits: torch accuracy", acc["torch"], acc["floor"], 0, 0.01)
    assert_close("digits: test accuracy", acc["autonet"], acc["floor"], 0, 1 / N_TEST + 1e-9)
    shown = ", ".join(f"{side} {a:.1%}" for side, a in acc.items())
    check = f"ok after 1 epoch (max rel. diff {rel:.1g}); test accuracy {shown}"

    sides = {"autonet": lambda: fit_autonet(data), "floor": lambda: fit_floor(data, params)}
    if torch:
        sides["torch"] = lambda: fit_torch(torch, data, params)
    medians, spreads = bench.time("digits fit", sides, bench.config.pick(7, 2), warmup=0)
    return [
        Row(
            NAME,
            f"{EPOCHS} epochs, batch {BATCH}",
            "s/fit",
            medians,
            Target(3.0),
            check,
            spreads=spreads,
        )
    ]
