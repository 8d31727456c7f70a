"""Handwritten digits with a small convolutional network: two 3x3 convolution layers with batch
norm, max pooling, and a linear read-out, trained with a progress bar.

    python examples/digits_cnn.py                 # 20 epochs, about 99% on the test images
    python examples/digits_cnn.py --fast          # 2 epochs: only shows that it runs
    python examples/digits_cnn.py --epochs 2 --graph cnn.svg

The 8x8 images are read as (N, 1, 8, 8) tensors; 80/20 train/test split with a fixed seed.
``--graph`` draws the forward graph of one batch, one box per layer (needs the
``viz`` extra and Graphviz's ``dot`` program; without them the drawing is skipped with a note).
"""

from __future__ import annotations

import argparse
import sys
import time

import autonet as an
from autonet import nn


def make_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),   # (N, 16, 8, 8)
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),  # (N, 32, 8, 8)
        nn.MaxPool2d(2), nn.Dropout2d(0.1),                               # (N, 32, 4, 4)
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )  # fmt: skip


def main(epochs: int = 20, seed: int = 0, graph: str | None = None) -> float:
    """Train and evaluate; return the test accuracy."""
    an.manual_seed(seed)
    X, y = an.data.load_digits()
    X = X.reshape(-1, 1, 8, 8)
    X_train, X_test, y_train, y_test = an.data.train_test_split(X, y, test_size=0.2, seed=seed)
    model = make_model()
    print(model.summary((1, 1, 8, 8)))
    optimizer = an.optim.Adam(model.parameters(), lr=2e-3)
    start = time.perf_counter()
    an.train.fit(
        model, (X_train, y_train), loss="cross_entropy", optimizer=optimizer, epochs=epochs,
        batch_size=32, validation_data=(X_test, y_test), metrics=["accuracy"],
    )  # fmt: skip
    seconds = time.perf_counter() - start
    accuracy = an.train.evaluate(model, (X_test, y_test), metrics=["accuracy"])["accuracy"]
    print(f"trained {epochs} epochs in {seconds:.1f} s; test accuracy {accuracy:.2%}")
    if graph:
        draw(model, X_test[:4], graph)
    return accuracy


def draw(model: nn.Module, images: an.Tensor, path: str) -> None:
    """Draw the forward graph of ``images`` through ``model`` to ``path``, if autonet.viz and
    Graphviz are there; otherwise say why not."""
    try:
        from autonet.viz import draw_graph, render, trace

        model.eval()
        with trace():  # notes each module call (and keeps every value) for the drawing
            out = model(images)
        # one box per layer (depth=1: the layers inside the model), read top to bottom
        path = render(draw_graph(out, model=model, depth=1, rankdir="TB"), path)
    except (ImportError, RuntimeError) as e:  # no viz extra, or no `dot` program
        print(f"no drawing: {e}", file=sys.stderr)
        return
    print(f"graph of the forward pass drawn to {path}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--fast", action="store_true", help="2 epochs, to check that it runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--graph", help="draw the model's forward graph to this file (.svg, .png)")
    args = parser.parse_args()
    epochs = 2 if args.fast else args.epochs
    accuracy = main(epochs, args.seed, args.graph)
    sys.exit(0 if accuracy >= 0.98 or epochs < 20 else 1)
