"""digits_cnn: one epoch of ``examples/digits_cnn.py``'s convolutional network.

The model is the example's own ``make_model()``: two 3×3 convolutions (1→16, 16→32 channels,
padding 1) each followed by batch norm and ReLU, a 2×2 max pooling, channel dropout (0.1), and
a linear read-out of the 32·4·4 features to 10 classes. It trains for one epoch on
scikit-learn's 8×8 digits (1437 training images, as the example's 80/20 split), shuffled
batches of 32, softmax cross-entropy, Adam (lr 2e-3), as the example does.

autonet runs what a user writes (``DataLoader``, ``cross_entropy``, ``backward``, Adam's
``step``); PyTorch runs the same model, loaded from autonet's state dict (the keys and shapes
are PyTorch's), on the same batches in the same order (a NumPy permutation from the same
seed). Before timing, a few steps with the dropout switched off (its random masks differ
between the two) must give the same losses and weights on both sides. (Not the biases of the
convolutions: batch norm subtracts them again, so their gradient is zero up to rounding,
which Adam's normalized step turns into steps of ±lr.)

No floor: a hand-written NumPy version of this network (batch norm and Adam included) is not
part of the suite yet; the conv2d and pool2d workloads give floors for its costliest layers.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, Target, assert_close, check_all

NAME = "digits_cnn"
BATCH, LR, SEED, TEST_SIZE = 32, 2e-3, 0, 0.2
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.py"


def example() -> Any:
    """The example's module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("digits_cnn_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load() -> tuple[np.ndarray, np.ndarray]:
    """The example's training images (N, 1, 8, 8) float32 and labels int64."""
    an.manual_seed(SEED)
    X, y = an.data.load_digits()
    X = X.reshape(-1, 1, 8, 8)
    X_train, _, y_train, _ = an.data.train_test_split(X, y, test_size=TEST_SIZE, seed=SEED)
    return X_train.numpy(), y_train.numpy()


def initial_model(make_model: Any, dropout: bool = True) -> an.nn.Module:
    an.manual_seed(SEED)
    model = make_model()
    if not dropout:
        for layer in model.modules():
            if isinstance(layer, an.nn.Dropout2d):
                layer.p = 0.0
    return model


def train_autonet(
    model: an.nn.Module, x: np.ndarray, y: np.ndarray, steps: int = -1
) -> tuple[Any, list[float]]:
    loader = an.data.DataLoader(
        an.data.TensorDataset(an.tensor(x), an.tensor(y)),
        batch_size=BATCH,
        shuffle=True,
        generator=SEED,
    )
    optimizer = an.optim.Adam(model.parameters(), lr=LR)
    model.train()
    losses = []
    for k, (xb, yb) in enumerate(loader):
        if k == steps:
            break
        loss = an.nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return model, [float(v.item()) for v in losses]


def torch_model(torch: Any, model: an.nn.Module, dropout: bool = True) -> Any:
    """The same architecture in PyTorch, holding copies of ``model``'s state."""
    nn = torch.nn
    twin = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout2d(0.1 if dropout else 0.0),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )  # fmt: skip
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin


def train_torch(
    torch: Any, model: Any, x: np.ndarray, y: np.ndarray, steps: int = -1
) -> tuple[Any, list[float]]:
    X, Y = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    model.train()
    order = torch.from_numpy(np.random.default_rng(SEED).permutation(len(y)))
    losses = []
    for k, start in enumerate(range(0, len(y), BATCH)):
        if k == steps:
            break
        rows = order[start : start + BATCH]
        loss = torch.nn.functional.cross_entropy(model(X[rows]), Y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return model, [float(v.item()) for v in losses]


def weights(model: Any) -> list[np.ndarray]:
    """The parameters of more than one axis (the convolutions' and the read-out's weights)."""
    arrays = [np.array(p.data if isinstance(p, an.Tensor) else p.detach().numpy())
              for p in model.parameters()]  # fmt: skip
    return [a for a in arrays if a.ndim > 1]


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    case = f"one epoch, batch {BATCH}, Adam"
    try:
        x, y = load()
    except ImportError as e:  # scikit-learn holds the digits
        return [Row(NAME, case, "s/epoch", {}, note=f"skipped: {e}")]
    make_model = example().make_model
    sides = {"autonet": lambda: train_autonet(initial_model(make_model), x, y)}
    check = "report only: no torch to compare with"
    if torch:
        # check: without dropout, a few steps give the same parameters on both sides
        steps = 5
        ours, our_losses = train_autonet(initial_model(make_model, dropout=False), x, y, steps)
        theirs = torch_model(torch, initial_model(make_model, dropout=False), dropout=False)
        theirs, their_losses = train_torch(torch, theirs, x, y, steps)
        rel = assert_close(f"digits_cnn, {steps} steps: losses", our_losses, their_losses, 1e-4)
        rel = max(rel, check_all(f"digits_cnn, {steps} steps: weights", weights(ours),
                                 weights(theirs), 1e-3, 1e-4))  # fmt: skip
        check = f"ok after {steps} steps without dropout, against torch (max rel. diff {rel:.1g})"
        sides["torch"] = lambda: train_torch(
            torch, torch_model(torch, initial_model(make_model)), x, y
        )
    medians, spreads = bench.time("digits_cnn, one epoch", sides, bench.config.pick(7, 2))
    target = Target(1.2, "torch") if torch else None
    return [Row(NAME, case, "s/epoch", medians, target, check, spreads=spreads)]
