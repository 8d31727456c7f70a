"""Reductions over axes: sum, mean, max, min, prod, logsumexp, var, std; argmax and friends.

``axis`` is an int, a tuple of ints, or ``None`` (all axes); ``keepdims=True`` keeps the reduced
axes with size 1. PyTorch's spellings ``dim=`` and ``keepdim=`` are accepted too.

Every reduction's gradient has the reduced shape; ``Reduction.kept`` puts the size-1 axes
back so that it broadcasts against the input.
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from autonet.engine.function import Function, unary
from autonet.engine.ops.elementwise import where
from autonet.engine.tensor import Tensor, _make, as_tensor

Axis = int | tuple[int, ...] | None


def normalize_axis(op: str, axis: Any, ndim: int) -> tuple[int, ...] | None:
    """``None`` or the axes as sorted non-negative ints, with a clear error when one is out of
    range (``sum: axis 2 is out of range for a tensor with 2 dimensions``)."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim and not (ndim == 0 and a in (0, -1)):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(out))


def keepdims_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """``shape`` with the reduced axes set to 1."""
    if axes is None:
        return (1,) * len(shape)
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_shape(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> tuple[int, ...]:
    """``shape`` without the reduced axes."""
    if axes is None:
        return ()
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _reduced_count(shape: tuple[int, ...], axes: tuple[int, ...] | None) -> int:
    return math.prod([shape[a] for a in axes] if axes is not None else shape)


def _divide(total: Any, n: int) -> Any:
    """``total / n``, where n = 0 (a mean over nothing) gives NaN without a warning."""
    if n == 0:  # NOTE: errstate is a context manager that costs more than the division
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / n
    return total / n


def spread(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` broadcast to ``shape``: for an array, a new one (cheaper than ``np.broadcast_to``
    on small arrays, and a buffer the backward pass may then add into); for a Tensor, the
    recorded ``expand``."""
    if type(g) is np.ndarray:
        out = np.empty(shape, g.dtype)
        out[...] = g
        return out
    return np.broadcast_to(g, shape)


class Reduction(Function):
    """A primitive that reduces over ``axis`` (normalized: ``None`` or a tuple of ints)."""

    __slots__ = ("axis", "keepdims")

    def __init__(self, axis: tuple[int, ...] | None, keepdims: bool) -> None:
        self.axis = axis
        self.keepdims = keepdims

    def label(self) -> str:
        axis = self.axis[0] if self.axis is not None and len(self.axis) == 1 else self.axis
        shown = [] if axis is None else [f"axis={axis}"]
        if self.keepdims:
            shown.append("keepdims=True")
        return f"{self.name}({', '.join(shown)})" if shown else self.name

    def kept(self, t: Any, shape: tuple[int, ...]) -> Any:
        """A reduced result (or its gradient) reshaped with size-1 reduced axes, so that it
        broadcasts against the input of ``shape``."""
        if self.keepdims:
            return t
        return t.reshape(keepdims_shape(shape, self.axis))


class Sum(Reduction):
    """y = Σᵢ xᵢ over the axes;  dy/dxᵢ = 1: every element receives the gradient of its sum."""

    __slots__ = ()
    name = "sum"
    saves_output = False
    saves_inputs = "shape"

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, y, x):
        return (spread(self.kept(g, x.shape), x.shape),)


class Mean(Reduction):
    """y = (1/n) Σᵢ xᵢ over the axes;  dy/dxᵢ = 1/n."""

    __slots__ = ()
    name = "mean"
    saves_output = False
    saves_inputs = "shape"

    def forward(self, x):
        # NOTE: what ndarray.mean computes (the sum, then one division), without its
        # Python-level wrapper, which costs more than the sum itself on small arrays.
        total = x.sum(axis=self.axis, keepdims=self.keepdims)
        if total.dtype.kind != "f":
            total = total.astype(np.float64)
        return _divide(total, _reduced_count(x.shape, self.axis))

    def backward(self, g, y, x):
        n = builtins.max(_reduced_count(x.shape, self.axis), 1)
        return (spread(self.kept(g, x.shape) / n, x.shape),)


class Max(Reduction):
    """y = max of x over the axes;  dy/dxᵢ = 1 for the maximal elements, else 0.
    NOTE: when several elements tie for the maximum they share the gradient equally."""

    __slots__ = ()
    name = "max"

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, y, x):
        winners = (x == self.kept(y, x.shape)).astype(g.dtype)
        share = winners / winners.sum(axis=self.axis, keepdims=True)
        return (self.kept(g, x.shape) * share,)

    def error(self, x):
        return ValueError(f"{self.name}: cannot reduce an empty axis (shape {np.shape(x)})")


class Min(Max):
    """y = min of x over the axes;  dy/dxᵢ = 1 for the minimal elements, else 0.
    NOTE: when several elements tie for the minimum they share the gradient equally."""

    __slots__ = ()
    name = "min"

    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)


class Prod(Reduction):
    """y = Πᵢ xᵢ over the axes;  dy/dxᵢ = Π_{j≠i} xⱼ (the product of the others).

    NOTE: y/xᵢ would give the product of the others only where xᵢ ≠ 0, and loses it where y
    underflows (tiny factors) or overflows. The product of the others is instead the product
    of what comes before i times the product of what comes after it (two running products,
    no division), right for zeros and tiny values alike.
    """

    __slots__ = ()
    name = "prod"
    saves_output = False

    def forward(self, x):
        return x.prod(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, y, x):
        if isinstance(x, Tensor):
            return (self.kept(g, x.shape) * self._others_as_products(x),)
        moved, back = self._grouped(x)  # (..., n): each group along the last axis
        n = moved.shape[-1]
        ones = np.ones(moved.shape[:-1] + (1,), x.dtype)
        # before[i] = x₀···xᵢ₋₁, after[i] = xᵢ₊₁···xₙ₋₁ (NOTE: [:n] keeps an empty group empty)
        before = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)[..., :n]
        after = np.cumprod(np.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)
        return (self.kept(g, x.shape) * back(before * after[..., :n][..., ::-1]),)

    def _grouped(self, x: Any) -> tuple[Any, Any]:
        """``x`` with the kept axes first and each group's elements along one last axis, and
        the function that puts an array of that layout back in x's."""
        axes = tuple(range(x.ndim)) if self.axis is None else self.axis
        kept = tuple(a for a in range(x.ndim) if a not in axes)
        moved = x.transpose(kept + axes)
        n = _reduced_count(x.shape, axes)
        inverse = tuple(int(i) for i in np.argsort(kept + axes))

        def back(t: Any) -> Any:
            return t.reshape(moved.shape).transpose(inverse)

        return moved.reshape(moved.shape[: len(kept)] + (n,)), back

    def _others_as_products(self, x: Tensor) -> Tensor:
        """Π_{j≠i} xⱼ as real products, for a recorded backward.

        NOTE: running products (cumprod) are no primitive, so for second derivatives each
        element's "others" is built as the product of its group with that element replaced by
        1, an (n, n) table per group of n.
        """
        moved, back = self._grouped(x)  # (..., n)
        n = moved.shape[-1]
        rows = moved.reshape(moved.shape[:-1] + (1, n))  # (..., 1, n)
        table = where(np.eye(n, dtype=bool), 1.0, rows)  # (..., n, n): row i has xᵢ = 1
        return back(table.prod(axis=-1))


class LogSumExp(Reduction):
    """y = ln Σᵢ e^(xᵢ) over the axes;  dy/dxᵢ = e^(xᵢ - y) (the softmax of x)."""

    __slots__ = ()
    name = "logsumexp"

    def forward(self, x):
        # NOTE: shifting by the maximum keeps e^x from overflowing (logits of ±1e4 are fine);
        # an all -inf group shifts by 0 instead so that it gives -inf, not NaN.
        m = x.max(axis=self.axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        s = np.log(np.exp(x - m).sum(axis=self.axis, keepdims=True)) + m
        return s if self.keepdims else s.reshape(reduced_shape(x.shape, self.axis))

    def backward(self, g, y, x):
        return (self.kept(g, x.shape) * np.exp(x - self.kept(y, x.shape)),)

    def error(self, x):
        return ValueError(f"logsumexp: cannot reduce an empty axis (shape {np.shape(x)})")


# ---- the functions (each is also a Tensor method) ----------------------------------------


def _args(op: str, x: Tensor, axis: Any, dim: Any, keepdims: bool, keepdim: Any):
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return normalize_axis(op, axis, x.data.ndim), bool(keepdims)


def sum(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Sum over ``axis`` (all axes by default).

    >>> import autonet as an
    >>> an.tensor([[1.0, 2.0], [3.0, 4.0]]).sum(axis=1)
    tensor([3., 7.])
    """
    x = as_tensor(x)
    return unary(Sum(*_args("sum", x, axis, dim, keepdims, keepdim)), x)


def mean(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Arithmetic mean over ``axis``.

    >>> import autonet as an
    >>> an.tensor([[1.0, 2.0], [3.0, 4.0]]).mean(axis=0)
    tensor([2., 3.])
    """
    x = as_tensor(x)
    return unary(Mean(*_args("mean", x, axis, dim, keepdims, keepdim)), x)


def max(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Largest value over ``axis`` (values only, as NumPy's ``max``; see ``argmax``). Tied
    maxima share the gradient equally.

    >>> import autonet as an
    >>> an.tensor([[1.0, 5.0], [3.0, 4.0]]).max(axis=1)
    tensor([5., 4.])
    """
    x = as_tensor(x)
    return unary(Max(*_args("max", x, axis, dim, keepdims, keepdim)), x)


def min(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Smallest value over ``axis``; tied minima share the gradient equally.

    >>> import autonet as an
    >>> an.tensor([[1.0, 5.0], [3.0, 4.0]]).min()
    tensor(1.)
    """
    x = as_tensor(x)
    return unary(Min(*_args("min", x, axis, dim, keepdims, keepdim)), x)


def prod(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Product over ``axis``; the gradient is right also where elements are zero.

    >>> import autonet as an
    >>> an.tensor([2.0, 3.0, 4.0]).prod()
    tensor(24.)
    """
    x = as_tensor(x)
    return unary(Prod(*_args("prod", x, axis, dim, keepdims, keepdim)), x)


def logsumexp(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """ln Σ eˣ over ``axis``, computed without overflow.

    >>> import autonet as an
    >>> an.logsumexp(an.tensor([1e4, 1e4]))
    tensor(10000.693)
    """
    x = as_tensor(x)
    return unary(LogSumExp(*_args("logsumexp", x, axis, dim, keepdims, keepdim)), x)


def var(
    x: Any,
    axis: Axis = None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Variance Σ(x - mean)²/(n - ddof) over ``axis``; ``ddof=0`` by default, as NumPy
    (PyTorch's default is ``ddof=1``). Composed from mean, sub, mul and sum.

    >>> import autonet as an
    >>> an.tensor([1.0, 2.0, 3.0, 4.0]).var()
    tensor(1.25)
    """
    x = as_tensor(x)
    axes, keep = _args("var", x, axis, dim, keepdims, keepdim)
    n = _reduced_count(x.shape, axes)
    d = x - mean(x, axes, keepdims=True)
    return sum(d * d, axes, keepdims=keep) / (n - ddof)


def std(
    x: Any,
    axis: Axis = None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Standard deviation, the square root of ``var`` (same arguments).

    >>> import autonet as an
    >>> an.tensor([1.0, 3.0]).std()
    tensor(1.)
    """
    return var(x, axis, ddof, keepdims, dim=dim, keepdim=keepdim).sqrt()


def _no_grad_reduction(
    op: str, fn: Any, x: Any, axis: Any, keepdims: bool, dim: Any, keepdim: Any
) -> Tensor:
    x = as_tensor(x)
    if dim is not None:
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if axis is not None:
        normalize_axis(op, axis, x.data.ndim)
    return _make(np.asarray(fn(x.data, axis=axis, keepdims=keepdims)), None)


def argmax(
    x: Any,
    axis: int | None = None,
    keepdims: bool = False,
    *,
    dim: int | None = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Index of the largest value (over the flattened tensor when ``axis`` is None); an int64
    tensor without gradient.

    >>> import autonet as an
    >>> an.tensor([[1.0, 5.0], [3.0, 4.0]]).argmax(axis=1)
    tensor([1, 1])
    """
    return _no_grad_reduction("argmax", np.argmax, x, axis, keepdims, dim, keepdim)


def argmin(
    x: Any,
    axis: int | None = None,
    keepdims: bool = False,
    *,
    dim: int | None = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Index of the smallest value; an int64 tensor without gradient.

    >>> import autonet as an
    >>> an.tensor([3.0, 1.0, 2.0]).argmin()
    tensor(1)
    """
    return _no_grad_reduction("argmin", np.argmin, x, axis, keepdims, dim, keepdim)


def any(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """True where any element over ``axis`` is non-zero (a bool tensor).

    >>> import autonet as an
    >>> (an.tensor([1.0, -2.0]) > 0).any()
    tensor(True)
    """
    return _no_grad_reduction("any", np.any, x, axis, keepdims, dim, keepdim)


def all(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """True where every element over ``axis`` is non-zero (a bool tensor).

    >>> import autonet as an
    >>> (an.tensor([1.0, -2.0]) > 0).all()
    tensor(False)
    """
    return _no_grad_reduction("all", np.all, x, axis, keepdims, dim, keepdim)
