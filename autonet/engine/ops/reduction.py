"""Reductions over axes: sum, mean, max, min, prod, logsumexp, var, std; argmax and friends.

``axis`` is an int, a tuple of ints, or ``None`` (all axes); ``keepdims=True`` keeps the reduced
axes with size 1. PyTorch's spellings ``dim=`` and ``keepdim=`` are accepted too.

Every reduction's gradient has the reduced shape; ``Reduction.kept`` puts the size-1 axes
back so that it broadcasts against the input.
"""

from __future__ import annotations

import builtins
import math
from typing import Any, NamedTuple

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.ops.elementwise import Where
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor, wrap

__all__ = [
    "ValuesAndIndices",
    "all",
    "any",
    "argmax",
    "argmin",
    "logsumexp",
    "max",
    "mean",
    "min",
    "prod",
    "std",
    "sum",
    "var",
]

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


def one_axis(op: str, x: Any, axis: Any, dim: Any = None) -> tuple[Any, int]:
    """The tensor an operation along one axis works on, and that axis: as NumPy's scans and
    sorts do, the flattened tensor when ``axis`` is None, and a 0-d tensor as one of a single
    element (where only axis 0 or -1 is valid). ``dim`` is PyTorch's name for ``axis``."""
    axis = dim if dim is not None else axis
    if axis is None or x.ndim == 0:
        if axis is not None:
            normalize_axis(op, axis, 0)  # (only 0 and -1 are valid)
        return x.reshape(-1), 0
    (a,) = normalize_axis(op, axis, x.ndim)
    return x, a


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


def mean_divide(total: Any, n: int) -> Any:
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
    saves_inputs = "shape"

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, y, x):
        return (spread(self.kept(g, x.shape), x.shape),)


class Mean(Reduction):
    """y = (1/n) Σᵢ xᵢ over the axes;  dy/dxᵢ = 1/n."""

    __slots__ = ()
    name = "mean"
    saves_inputs = "shape"

    def forward(self, x):
        # NOTE: what ndarray.mean computes (the sum, then one division), without its
        # Python-level wrapper, which costs more than the sum itself on small arrays.
        total = x.sum(axis=self.axis, keepdims=self.keepdims)
        if total.dtype.kind != "f":
            total = total.astype(np.float64)
        return mean_divide(total, _reduced_count(x.shape, self.axis))

    def backward(self, g, y, x):
        n = builtins.max(_reduced_count(x.shape, self.axis), 1)
        return (spread(self.kept(g, x.shape) / n, x.shape),)


class Max(Reduction):
    """y = max of x over the axes;  dy/dxᵢ = 1 for the maximal elements, else 0.
    NOTE: when several elements tie for the maximum they share the gradient equally. A NaN
    is the maximum of the values it is among (NaN propagates): the gradient goes to it (to
    the NaNs, shared), as in PyTorch, since NaN equals nothing, not even the maximum."""

    __slots__ = ()
    name = "max"
    saves_output = True

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, y, x):
        winners = ((x == self.kept(y, x.shape)) | np.isnan(x)).astype(g.dtype)
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
    underflows (tiny factors) or overflows; :class:`ProductOfOthers` computes it directly.
    """

    __slots__ = ()
    name = "prod"

    def forward(self, x):
        return x.prod(axis=self.axis, keepdims=self.keepdims)

    def backward(self, g, y, x):
        moved, back = _grouped(x, self.axis)  # (..., n): each group along the last axis
        return (self.kept(g, x.shape) * back(ProductOfOthers.apply(moved)),)


class ProductOfOthers(Function):
    """yᵢ = Π_{j≠i} xⱼ along the last axis (the gradient of a product);
    dL/dxₖ = Σ_{i≠k} gᵢ · Π_{j≠i,k} xⱼ.

    The forward multiplies what comes before i by what comes after it (two running products,
    no division), right for zeros and tiny values alike. The backward builds, per group of n,
    the (n, n) table whose row i is x with xᵢ replaced by 1: the products of the others in
    row i are the Π_{j≠i,k} xⱼ above (and this same primitive computes them, so every order of
    derivative is available).
    """

    name = "product_of_others"

    def forward(self, x):
        n = x.shape[-1]
        ones = np.ones(x.shape[:-1] + (1,), x.dtype)
        # before[i] = x₀···xᵢ₋₁, after[i] = xᵢ₊₁···xₙ₋₁ (NOTE: [:n] keeps an empty group empty)
        before = np.cumprod(np.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)[..., :n]
        after = np.cumprod(np.concatenate([ones, x[..., :0:-1]], axis=-1), axis=-1)
        return before * after[..., :n][..., ::-1]

    def backward(self, g, y, x):
        n = x.shape[-1]
        diagonal = np.eye(n, dtype=bool)
        table = Where.apply(diagonal, 1.0, x.reshape(x.shape[:-1] + (1, n)))  # (..., n, n)
        others = ProductOfOthers.apply(table)  # [i, k] = Π_{j≠i,k} xⱼ where k ≠ i
        return (Where.apply(diagonal, 0.0, g.reshape(g.shape + (1,)) * others).sum(axis=-2),)


def _grouped(x: Any, axis: tuple[int, ...] | None) -> tuple[Any, Any]:
    """``x`` (an array or a Tensor) with the kept axes first and each reduced group's
    elements along one last axis, and the function that puts an array of that layout back
    in x's."""
    axes = tuple(range(x.ndim)) if axis is None else axis
    kept = tuple(a for a in range(x.ndim) if a not in axes)
    moved = x.transpose(kept + axes)
    n = _reduced_count(x.shape, axes)
    inverse = tuple(int(i) for i in np.argsort(kept + axes))

    def back(t: Any) -> Any:
        return t.reshape(moved.shape).transpose(inverse)

    return moved.reshape(moved.shape[: len(kept)] + (n,)), back


class LogSumExp(Reduction):
    """y = ln Σᵢ e^(xᵢ) over the axes;  dy/dxᵢ = e^(xᵢ - y) (the softmax of x)."""

    __slots__ = ()
    name = "logsumexp"
    saves_output = True

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
    axes = normalize_axis(op, axis, x.data.ndim)
    # NOTE: a 0-d tensor has one element and no axes; axis 0 (or -1) reduces it as a whole,
    # as NumPy and PyTorch allow.
    return (None if x.data.ndim == 0 else axes), bool(keepdims)


@operation(numpy=np.sum)
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
    return apply(Sum(*_args("sum", x, axis, dim, keepdims, keepdim)), x)


@operation(numpy=np.mean)
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
    return apply(Mean(*_args("mean", x, axis, dim, keepdims, keepdim)), x)


class ValuesAndIndices(NamedTuple):
    """What ``max`` and ``min`` return when given ``dim=`` (PyTorch's habit): the values and
    where they are, ``values, indices = t.max(dim=1)``."""

    values: Tensor
    indices: Tensor


@operation(numpy=np.max)
def max(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: int | None = None,
    keepdim: bool | None = None,
) -> Any:
    """Largest value over ``axis``, tied maxima sharing the gradient equally.

    With NumPy's ``axis=`` (or no axis) the values come back, as ``np.max`` gives them; with
    PyTorch's ``dim=`` a named tuple ``(values, indices)``, as ``torch.max`` gives it.

    >>> import autonet as an
    >>> t = an.tensor([[1.0, 5.0], [3.0, 4.0]])
    >>> t.max(axis=1)
    tensor([5., 4.])
    >>> values, indices = t.max(dim=1)
    >>> indices
    tensor([1, 1])
    """
    return _extreme("max", Max, argmax, x, axis, keepdims, dim, keepdim)


@operation(numpy=np.min)
def min(
    x: Any,
    axis: Axis = None,
    keepdims: bool = False,
    *,
    dim: int | None = None,
    keepdim: bool | None = None,
) -> Any:
    """Smallest value over ``axis``; tied minima share the gradient equally. With ``dim=`` a
    named tuple ``(values, indices)``, as ``torch.min`` gives it (see :func:`max`).

    >>> import autonet as an
    >>> an.tensor([[1.0, 5.0], [3.0, 4.0]]).min()
    tensor(1.)
    >>> an.tensor([[1.0, 5.0], [3.0, 4.0]]).min(dim=0).indices
    tensor([0, 1])
    """
    return _extreme("min", Min, argmin, x, axis, keepdims, dim, keepdim)


def _extreme(op: str, kind: type[Max], arg: Any, x: Any, axis: Any, keepdims: bool, dim: Any,
             keepdim: Any) -> Any:  # fmt: skip
    x = as_tensor(x)
    if dim is None:
        return apply(kind(*_args(op, x, axis, None, keepdims, keepdim)), x)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be one int (for several axes use axis=), got {dim!r}")
    axes, keep = _args(op, x, None, dim, keepdims, keepdim)
    values = apply(kind(axes, keep), x)
    return ValuesAndIndices(values, arg(x, dim, keepdims=keep))


@operation(numpy=np.prod)
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
    return apply(Prod(*_args("prod", x, axis, dim, keepdims, keepdim)), x)


@operation()
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
    return apply(LogSumExp(*_args("logsumexp", x, axis, dim, keepdims, keepdim)), x)


@operation(numpy=np.var)
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


@operation(numpy=np.std)
def std(
    x: Any,
    axis: Axis = None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    dim: Axis = None,
    keepdim: bool | None = None,
) -> Tensor:
    """Standard deviation, the square root of ``var`` (same arguments). Where the values do
    not vary (a variance of 0) the gradient is 0, as in PyTorch.

    >>> import autonet as an
    >>> an.tensor([1.0, 3.0]).std()
    tensor(1.)
    """
    v = var(x, axis, ddof, keepdims, dim=dim, keepdim=keepdim)
    zero = v.data == 0
    if not zero.any():
        return v.sqrt()
    # NOTE: d√v/dv = 1/(2√v) is infinite at v = 0, where the gradient of v is 0 (every
    # x - mean is 0), and 0·∞ is NaN. There the root is taken of 1 instead and the result
    # set to 0: the gradient is 0, and so are the derivatives of any order.
    return Where.apply(zero, 0.0, Where.apply(zero, 1.0, v).sqrt())


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
    return wrap(np.asarray(fn(x.data, axis=axis, keepdims=keepdims)))


@operation(numpy=np.argmax)
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


@operation(numpy=np.argmin)
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


@operation()
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


@operation()
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
