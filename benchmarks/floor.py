"""The floor: the same networks written by hand in NumPy, forward and backward.

This is what a careful person writes without an autograd engine: every derivative worked out
on paper, no graph, no bookkeeping. The kernels are the ones autonet's primitives call
(``@`` with a transposed weight, ``np.maximum``, ``np.exp``, ``np.log``), on the same dtype,
so the difference in time is what the engine adds.
"""

from __future__ import annotations

import numpy as np


class MLPFloor:
    """A ReLU multi-layer perceptron: ``Linear → ReLU → ... → Linear``, weights stored as
    PyTorch's ``Linear`` keeps them, ``(out_features, in_features)``.

    ``params`` is the flat list ``[W1, b1, W2, b2, ...]`` (copied), in the order of
    ``model.parameters()``.
    """

    def __init__(self, params: list[np.ndarray]) -> None:
        self.params = [np.array(p, copy=True) for p in params]

    @property
    def layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return list(zip(self.params[0::2], self.params[1::2]))

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The output scores and, for the backward pass, each layer's input."""
        inputs = []
        layers = self.layers
        h = x
        for k, (w, b) in enumerate(layers):
            inputs.append(h)
            z = h @ w.T + b  # (batch, out_features)
            h = np.maximum(z, 0) if k < len(layers) - 1 else z
        return h, inputs

    def backward(self, dz: np.ndarray, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Gradients ``[dW1, db1, ...]`` from the gradient of the output scores.

        For z = h Wᵀ + b: dW = dzᵀ h, db = Σ_rows dz, dh = dz W; through the ReLU before it,
        dz_prev = dh · [h > 0] (h is the ReLU's output, positive exactly where its input was).
        """
        layers = self.layers
        grads: list[np.ndarray] = [None] * len(self.params)  # type: ignore[list-item]
        for k in range(len(layers) - 1, -1, -1):
            w, _ = layers[k]
            h = inputs[k]
            grads[2 * k] = dz.T @ h  # (out_features, in_features)
            grads[2 * k + 1] = dz.sum(axis=0)
            if k > 0:
                dz = (dz @ w) * (h > 0)
        return grads

    def sgd(self, grads: list[np.ndarray], lr: float) -> None:
        """θ ← θ - lr·g, in place. (lr as a 0-d array of the parameters' dtype: on the small
        arrays of the moons demo NumPy multiplies by it faster than by a Python float.)"""
        step = np.array(lr, self.params[0].dtype)
        for p, g in zip(self.params, grads):
            p -= step * g

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[0]


def cross_entropy(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(z) against class indices ``y``, and its gradient in z:
    (softmax(z) - onehot(y)) / N. Computed through log-softmax, as autonet does."""
    n = len(y)
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, C)
    rows = np.arange(n)
    loss = -logp[rows, y].sum() / np.float32(n)
    dz = np.exp(logp)
    dz[rows, y] -= 1
    dz /= np.float32(n)
    return float(loss), dz


def hinge_l2(
    scores: np.ndarray, y: np.ndarray, params: list[np.ndarray], alpha: float
) -> tuple[float, np.ndarray, list[np.ndarray]]:
    """The max-margin loss of micrograd's moons demo, mean(relu(1 - y·s)) + α Σ θ², with its
    gradient in the scores (-y·[margin > 0] / N) and in each parameter (2αθ)."""
    one, twice_alpha = np.array(1, y.dtype), np.array(2 * alpha, y.dtype)  # (see MLPFloor.sgd)
    margins = one - y * scores  # (N, 1)
    active = np.maximum(margins, 0)
    reg = sum(float((p * p).sum()) for p in params)
    loss = float(active.mean()) + alpha * reg
    dscores = -y * (active > 0) / np.float32(len(y))
    dreg = [twice_alpha * p for p in params]
    return loss, dscores, dreg
