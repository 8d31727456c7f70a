"""Handwritten digits (scikit-learn's 8x8 images): an MLP trained with a progress bar, saved,
reloaded, and scored again.

    python examples/digits.py                   # 60 epochs, about a second
    python examples/digits.py --epochs 5 --out model.safetensors

80/20 train/test split with a fixed seed; the test accuracy is printed before and after saving
and reloading the model (they are the same). The model file is safetensors: it also loads into
the equivalent PyTorch model (see the README).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import autonet as an


def main(epochs: int = 60, seed: int = 0, path: str | None = None) -> float:
    """Train, evaluate, save, reload and evaluate again; return the test accuracy."""
    an.manual_seed(seed)
    X, y = an.data.load_digits()
    X_train, X_test, y_train, y_test = an.data.train_test_split(X, y, test_size=0.2, seed=seed)
    print(f"digits: {len(X_train)} training and {len(X_test)} test images of {X.shape[1]} pixels")

    model = an.nn.MLP(64, [256], 10, activation="relu", dropout=0.2)
    print(model.summary((1, 64)))
    optimizer = an.optim.Adam(model.parameters(), lr=2e-3)
    start = time.perf_counter()
    history = an.train.fit(
        model, (X_train, y_train), loss=an.nn.CrossEntropyLoss(), optimizer=optimizer,
        epochs=epochs, batch_size=32, validation_data=(X_test, y_test), metrics=["accuracy"],
    )  # fmt: skip
    seconds = time.perf_counter() - start
    accuracy = an.train.evaluate(model, (X_test, y_test), metrics=["accuracy"])["accuracy"]
    print(f"trained {history.epochs} epochs in {seconds:.1f} s; test accuracy {accuracy:.2%}")

    target = Path(path) if path else Path(tempfile.mkdtemp()) / "digits_mlp.safetensors"
    model.save(target)
    reloaded = an.nn.MLP.load(target)
    again = an.train.evaluate(reloaded, (X_test, y_test), metrics=["accuracy"])["accuracy"]
    print(f"saved to {target} ({target.stat().st_size} bytes); reloaded test accuracy {again:.2%}")
    if again != accuracy:
        raise SystemExit("the reloaded model scores differently")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="where to save the model (default: a temporary directory)")
    args = parser.parse_args()
    accuracy = main(args.epochs, args.seed, args.out)
    sys.exit(0 if accuracy >= 0.97 or args.epochs < 60 else 1)
