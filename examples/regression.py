"""Fit y = sin(x) on [-π, π] with a small tanh network and print the final mean squared error.

python examples/regression.py
"""

from __future__ import annotations

import math
import sys

import autonet as an


def main(epochs: int = 400, seed: int = 0) -> float:
    an.manual_seed(seed)
    x = an.linspace(-math.pi, math.pi, 256).reshape(-1, 1)
    y = an.sin(x)
    net = an.nn.MLP(1, [32, 32], 1, activation="tanh")
    optimizer = an.optim.Adam(net.parameters(), lr=0.01)
    scheduler = an.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    an.train.fit(net, (x, y), loss="mse", optimizer=optimizer, epochs=epochs, batch_size=64,
                 scheduler=scheduler, verbose=False)  # fmt: skip
    mse = an.train.evaluate(net, (x, y), loss="mse")["loss"]
    test_x = an.tensor([[-2.0], [0.0], [1.0], [3.0]])
    for xi, yi in zip(test_x.numpy().ravel(), an.train.predict(net, test_x).numpy().ravel()):
        print(f"sin({xi:5.2f}) = {math.sin(xi):6.3f}   network: {yi:6.3f}")
    print(f"final mean squared error: {mse:.2e}")
    return mse


if __name__ == "__main__":
    sys.exit(0 if main() < 1e-3 else 1)
