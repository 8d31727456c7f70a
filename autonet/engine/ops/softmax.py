"""softmax and log_softmax along one axis, stable for very large or very small logits."""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import Function, unary
from autonet.engine.ops.reduction import normalize_axis
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
