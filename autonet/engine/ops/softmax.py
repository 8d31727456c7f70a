"""softmax and log_softmax along one axis, stable for very large or very small logits."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.ops.reduction import mean_divide, normalize_axis
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor

__all__ = ["log_softmax", "softmax", "softmax_cross_entropy"]


class Softmax(Function):
    """yᵢ = e^(xᵢ) / Σⱼ e^(xⱼ) along ``axis``;  dL/dxᵢ = yᵢ (gᵢ - Σⱼ gⱼ yⱼ)."""

    __slots__ = ("axis",)
    name = "softmax"
    saves_output = True
    saves_inputs = "nothing"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        if x.size == 0:  # NOTE: an empty axis has no maximum; its softmax is empty too
            return np.exp(x)
        # NOTE: subtracting the maximum leaves the result unchanged and keeps e^x finite.
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, g, y, x):
        return (y * (g - (g * y).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """yᵢ = xᵢ - ln Σⱼ e^(xⱼ) along ``axis``;  dL/dxᵢ = gᵢ - e^(yᵢ) Σⱼ gⱼ."""

    __slots__ = ("axis",)
    name = "log_softmax"
    saves_output = True
    saves_inputs = "nothing"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        if x.size == 0:  # NOTE: an empty axis has no maximum; its log-softmax is empty too
            return np.exp(x)
        z = x - x.max(axis=self.axis, keepdims=True)  # NOTE: the largest logit becomes 0
        return z - np.log(np.exp(z).sum(axis=self.axis, keepdims=True))

    def backward(self, g, y, x):
        return (g - np.exp(y) * g.sum(axis=self.axis, keepdims=True),)


class SoftmaxCrossEntropy(Function):
    """L = -(1/N) Σₙ ln softmax(xₙ)[yₙ] for logits x of shape (N, C) and class indices y of
    shape (N,);  dL/dx = g·(softmax(x) - onehot(y))/N.

    The commonest loss of a classifier as one primitive rather than four (log_softmax, picking,
    negation, mean): its gradient is the one expression above, whose softmax(x) - onehot(y)
    the forward pass has at hand. The class indices are a parameter of the operation, as an
    index is (they have no gradient).
    """

    __slots__ = ("labels", "softmax_minus_onehot")
    name = "cross_entropy"
    computes = ("softmax_minus_onehot",)

    def __init__(self, labels: np.ndarray) -> None:
        self.labels = labels

    def label(self) -> str:
        return self.name  # (the labels are data, not a setting worth drawing)

    def forward(self, x):
        n = self.labels.shape[0]
        rows = np.arange(n)
        z = x - x.max(axis=1, keepdims=True)  # NOTE: the largest logit becomes 0
        e = np.exp(z)
        total = e.sum(axis=1, keepdims=True)
        picked = z[rows, self.labels] - np.log(total[:, 0])  # ln softmax(x)[n, yₙ]
        p = e / total  # softmax(x)
        p[rows, self.labels] -= 1  # (a fresh array: changed in place)
        self.softmax_minus_onehot = p
        return mean_divide(-picked.sum(), n)  # no rows: NaN, as a mean

    def recompute(self, x):
        onehot = np.zeros(x.shape, x.dtype)
        onehot[np.arange(self.labels.shape[0]), self.labels] = 1
        self.softmax_minus_onehot = Softmax.apply(x, axis=1) - onehot

    def backward(self, g, y, x):
        return (self.softmax_minus_onehot * (g / builtins.max(self.labels.shape[0], 1)),)


def softmax_cross_entropy(x: Any, labels: Any) -> Tensor:
    """The mean over rows of -ln softmax(x)[label] for logits (N, C) and valid class indices
    (N,), as one operation (what ``cross_entropy`` uses in its common case).

    >>> import autonet as an
    >>> logits = an.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> an.engine.ops.softmax_cross_entropy(logits, an.tensor([0, 1]))
    tensor(0.1269)
    """
    labels = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    return apply(SoftmaxCrossEntropy(labels), x)


def _axis(op: str, x: Tensor, axis: int, dim: int | None) -> int:
    (a,) = normalize_axis(op, dim if dim is not None else axis, x.ndim)
    return a


@operation()
def softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Exponentials normalized to sum to 1 along ``axis`` (the last by default).

    >>> import autonet as an
    >>> an.softmax(an.tensor([1e4, 0.0, -1e4]))
    tensor([1., 0., 0.])
    """
    x = as_tensor(x)
    return apply(Softmax(_axis("softmax", x, axis, dim)), x)


@operation()
def log_softmax(x: Any, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """The logarithm of ``softmax``, computed directly (no ln 0 for tiny probabilities).

    >>> import autonet as an
    >>> an.log_softmax(an.tensor([1e4, 0.0]))
    tensor([     0., -10000.])
    """
    x = as_tensor(x)
    return apply(LogSoftmax(_axis("log_softmax", x, axis, dim)), x)
