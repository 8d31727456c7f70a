"""softmax and log_softmax along one axis, stable for very large or very small logits."""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import Function, nary, unary
from autonet.engine.ops.reduction import _divide, normalize_axis
from autonet.engine.tensor import Tensor, as_tensor


class Softmax(Function):
    """yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``axis``;  dL/dxᵢ = yᵢ (gᵢ - Σⱼ gⱼ yⱼ)."""

    __slots__ = ("axis",)
    name = "softmax"
    saves_inputs = False

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        # NOTE: subtracting the maximum leaves the result unchanged and keeps e^x finite.
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, g, y, x):
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """yᵢ = xᵢ - ln Σⱼ e^(xⱼ) along ``axis``;  dL/dxᵢ = gᵢ - e^(yᵢ) Σⱼ gⱼ."""

    __slots__ = ("axis",)
    name = "log_softmax"
    saves_inputs = False

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        z = x - x.max(axis=self.axis, keepdims=True)  # NOTE: the largest logit becomes 0
        return z - np.log(np.exp(z).sum(axis=self.axis, keepdims=True))

    def backward(self, g, y, x):
        return (g - np.exp(y) * g.sum(axis=self.axis, keepdims=True),)


class SoftmaxCrossEntropy(Function):
    """L = -(1/N) Σₙ ln softmax(xₙ)[yₙ] for logits x of shape (N, C) and class indices y of
    shape (N,);  dL/dx = g·(softmax(x) - onehot(y))/N, and the indices get no gradient.

    The commonest loss of a classifier as one primitive rather than four (log_softmax, picking,
    negation, mean): its gradient is the one expression above.
    """

    __slots__ = ("logp",)
    name = "cross_entropy"
    saves_output = False

    def label(self) -> str:
        return self.name

    def forward(self, x, labels):
        z = x - x.max(axis=1, keepdims=True)  # NOTE: the largest logit becomes 0
        # NOTE: ln p stays with the node: the backward pass needs p = e^(ln p)
        self.logp = logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))  # (N, C)
        n = labels.shape[0]
        return _divide((-logp[np.arange(n), labels]).sum(), n)  # no rows: NaN, as a mean

    def backward(self, g, y, x, labels):
        n = labels.shape[0]
        rows = np.arange(n)
        if isinstance(x, Tensor):  # a recorded backward: p from x, by recorded operations
            labels = labels.data if isinstance(labels, Tensor) else labels
            onehot = np.zeros(x.shape, x.dtype)
            onehot[rows, labels] = 1
            return g * (x.softmax(axis=1) - onehot) / max(n, 1), None
        p = np.exp(self.logp)
        p[rows, labels] -= 1
        p *= g / max(n, 1)
        return p, None


def softmax_cross_entropy(x: Any, labels: Any) -> Tensor:
    """The mean over rows of -ln softmax(x)[label] for logits (N, C) and valid class indices
    (N,), as one operation (what ``cross_entropy`` uses in its common case).

    >>> import autonet as an
    >>> logits = an.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> an.engine.ops.softmax_cross_entropy(logits, an.tensor([0, 1]))
    tensor(0.1269)
    """
    return nary(SoftmaxCrossEntropy(), x, labels)


def _axis(op: str, x: Tensor, axis: int, dim: int | None) -> int:
    (a,) = normalize_axis(op, dim if dim is not None else axis, x.ndim)
    return a


def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Exponentials normalized to sum to 1 along ``axis`` (the last by default).

    >>> import autonet as an
    >>> an.softmax(an.tensor([1e4, 0.0, -1e4]))
    tensor([1., 0., 0.])
    """
    x = as_tensor(x)
    return unary(Softmax(_axis("softmax", x, axis, dim)), x)


def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """The logarithm of ``softmax``, computed directly (no ln 0 for tiny probabilities).

    >>> import autonet as an
    >>> an.log_softmax(an.tensor([1e4, 0.0]))
    tensor([     0., -10000.])
    """
    x = as_tensor(x)
    return unary(LogSoftmax(_axis("log_softmax", x, axis, dim)), x)
