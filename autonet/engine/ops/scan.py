"""Scans: running sums and running products along an axis (``cumsum``, ``cumprod``).

A running sum is linear, and xᵢ appears in every yⱼ with j ≥ i, so its VJP is the running sum
of g taken from the other end. The forward scan and the reversed scan are each other's VJP,
so one primitive with a direction serves both (as ``unfold`` and ``fold`` do), and every order
of derivative goes through it. The running product's VJP is a reversed running sum too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.ops.arithmetic import astype
from autonet.engine.ops.elementwise import Where
from autonet.engine.ops.reduction import one_axis
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor, wrap

__all__ = ["cumprod", "cumsum"]


class CumSum(Function):
    """yⱼ = Σ_{i≤j} xᵢ along ``axis`` (with ``reverse``: Σ_{i≥j} xᵢ);  dL/dxᵢ = Σ_{j≥i} gⱼ,
    the running sum of g in the other direction."""

    __slots__ = ("axis", "reverse")
    name = "cumsum"
    saves_inputs = "nothing"

    def __init__(self, axis: int, reverse: bool = False) -> None:
        self.axis = axis
        self.reverse = reverse

    def label(self) -> str:
        return f"cumsum(axis={self.axis}{', reverse=True' if self.reverse else ''})"

    def forward(self, x):
        if self.reverse:  # (a fresh array, not a view of a flipped one)
            flipped = np.cumsum(np.flip(x, self.axis), axis=self.axis)
            return np.ascontiguousarray(np.flip(flipped, self.axis))
        return np.cumsum(x, axis=self.axis)

    def backward(self, g, y, x):
        return (CumSum.apply(g, axis=self.axis, reverse=not self.reverse),)


class CumProd(Function):
    """yⱼ = Π_{i≤j} xᵢ along ``axis``;  dL/dxₖ = Σ_{j≥k} gⱼ · Π_{i≤j, i≠k} xᵢ.

    Where no xᵢ is 0, Π_{i≤j, i≠k} xᵢ = yⱼ/xₖ, so dL/dxₖ = (Σ_{j≥k} gⱼyⱼ)/xₖ: the reversed
    running sum of g·y, divided by x (PyTorch's formula too; like it, it loses digits where
    g·y underflows, for factors near the smallest floats).

    NOTE: a zero makes that division 0/0. Then the products of the others are computed
    directly: row k of an (n, n) table is x with xₖ replaced by 1, and its running product
    at j is Π_{i≤j, i≠k} xᵢ (this same primitive computes it, so every order of derivative
    is available). That costs n² values per group, so only inputs with a zero pay it.
    """

    __slots__ = ("axis",)
    name = "cumprod"
    saves_output = True

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, x):
        return np.cumprod(x, axis=self.axis)

    def backward(self, g, y, x):
        if not (x == 0).any():
            return (CumSum.apply(g * y, axis=self.axis, reverse=True) / x,)
        last = x.ndim - 1
        x, g = x.swapaxes(self.axis, last), g.swapaxes(self.axis, last)  # (..., n)
        n = x.shape[-1]
        table = Where.apply(np.eye(n, dtype=bool), 1, x[..., None, :])  # (..., n k, n i)
        others = CumProd.apply(table, axis=last + 1)  # [k, j] = Π_{i≤j, i≠k} xᵢ
        later = np.triu(np.ones((n, n), dtype=bool))  # [k, j]: j ≥ k
        gx = Where.apply(later, g[..., None, :] * others, 0).sum(axis=-1)  # (..., n)
        return (gx.swapaxes(self.axis, last),)


def _scan(op: str, kind: type[Function], x: Any, axis: Any, dtype: Any, dim: Any) -> Tensor:
    x = as_tensor(x)
    if dtype is not None:  # (an integer tensor has no gradient to keep: its values converted)
        x = astype(x, dtype) if x.dtype.kind == "f" else wrap(x.data.astype(dtype))
    flat, a = one_axis(op, x, axis, dim)
    y = apply(kind(a), flat)
    return y.reshape(()) if x.ndim == 0 and (axis is not None or dim is not None) else y


@operation(numpy=np.cumsum)
def cumsum(x: Any, axis: int | None = None, dtype: Any = None, *, dim: int | None = None) -> Tensor:
    """Running sum along ``axis`` (over the flattened tensor when ``axis`` is None, as NumPy).

    >>> import autonet as an
    >>> an.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).cumsum(dim=1)
    tensor([[ 1.,  3.,  6.],
            [ 4.,  9., 15.]])
    """
    return _scan("cumsum", CumSum, x, axis, dtype, dim)


@operation(numpy=np.cumprod)
def cumprod(
    x: Any, axis: int | None = None, dtype: Any = None, *, dim: int | None = None
) -> Tensor:
    """Running product along ``axis`` (flattened when ``axis`` is None); the gradient is right
    also where elements are zero.

    >>> import autonet as an
    >>> x = an.tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> y = x.cumprod(0); y
    tensor([2., 0., 0.], grad_fn=<cumprod(axis=0)>)
    >>> y.sum().backward(); x.grad        # d/dx₁ (2 + 2x₁ + 2x₁·3) = 2 + 6
    tensor([1., 8., 0.])
    """
    return _scan("cumprod", CumProd, x, axis, dtype, dim)
