"""Learn the identity mapping of one-hot vectors: 4 inputs, a ReLU hidden layer, a softmax
output and cross-entropy.

    python examples/identity.py

The network outputs four scores (logits); softmax turns them into probabilities. Training
minimizes the cross-entropy of those probabilities, computed from the logits (``log_softmax``
inside ``cross_entropy``), which is the same quantity without the loss of precision of taking the
logarithm of a probability near 0.
"""

from __future__ import annotations

import sys

import autonet as an


def main(epochs: int = 300, seed: int = 0) -> float:
    an.manual_seed(seed)
    X, labels = an.data.identity(4)
    net = an.nn.MLP(4, [8], 4, activation="relu")
    optimizer = an.optim.Adam(net.parameters(), lr=0.05)
    history = an.train.fit(
        net, (X, labels), loss=an.nn.CrossEntropyLoss(), optimizer=optimizer, epochs=epochs,
        batch_size=4, metrics=["accuracy"], verbose=False,
    )  # fmt: skip
    probabilities = an.train.predict(net, X).softmax(axis=1)
    print("input          probabilities of each output")
    for row, p in zip(X.numpy(), probabilities.numpy()):
        print(f"{row.astype(int)}   {' '.join(f'{v:.3f}' for v in p)}")
    correct = (probabilities.argmax(axis=1) == labels).all().item()
    lowest = probabilities.max(axis=1).min().item()
    print(f"final loss {history['loss'][-1]:.4f}; all right: {correct}; "
          f"lowest winning probability {lowest:.3f}")  # fmt: skip
    return lowest


if __name__ == "__main__":
    sys.exit(0 if main() > 0.9 else 1)
