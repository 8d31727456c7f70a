"""Shape operations: reshape, transpose, expand, concatenate, stack, pad, and the ones built
from them (flatten, squeeze, unsqueeze, permute, swapaxes, split, chunk).

None of these changes a value, so each gradient is the incoming gradient moved back: reshaped,
transposed back, summed over broadcast axes, or cut into the pieces that were joined.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.ops.reduction import normalize_axis
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor

__all__ = [
    "broadcast_to",
    "cat",
    "chunk",
    "concatenate",
    "expand",
    "flatten",
    "pad",
    "permute",
    "reshape",
    "split",
    "squeeze",
    "stack",
    "swapaxes",
    "transpose",
    "unsqueeze",
    "view",
]


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Shapes are given as separate ints or as one tuple: ``reshape(2, 3)``, ``reshape((2, 3))``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


class Reshape(Function):
    """y = x with a new shape (same elements, same order);  dL/dx = g reshaped back."""

    __slots__ = ("shape",)
    name = "reshape"
    saves_inputs = "shape"

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, g, y, x):
        return (g.reshape(x.shape),)

    def error(self, x):
        return ValueError(
            f"reshape: cannot reshape {np.shape(x)} ({np.size(x)} elements) into {self.shape}"
        )


class Transpose(Function):
    """y = x with its axes permuted: y.shape[i] = x.shape[axes[i]];  dL/dx = g with the
    inverse permutation."""

    __slots__ = ("axes",)
    name = "transpose"
    saves_inputs = "nothing"

    def __init__(self, axes: tuple[int, ...]) -> None:
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, g, y, x):
        return (g.transpose(tuple(int(i) for i in np.argsort(self.axes))),)


class Expand(Function):
    """y = x broadcast to a larger shape (a view, no copy);  dL/dx = g summed over the
    broadcast axes, which the engine's shared broadcasting rule does."""

    __slots__ = ("shape",)
    name = "expand"
    saves_inputs = "shape"

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, g, y, x):
        return (g,)


class Concatenate(Function):
    """y = the inputs joined along ``axis``;  each input's gradient is its slice of g."""

    __slots__ = ("axis",)
    name = "concatenate"
    saves_inputs = "shape"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def backward(self, g, y, *xs):
        before = (slice(None),) * self.axis
        grads, start = [], 0
        for x, need in zip(xs, self.needs_input_grad):
            stop = start + x.shape[self.axis]
            grads.append(g[before + (slice(start, stop),)] if need else None)
            start = stop
        return tuple(grads)

    def error(self, *xs):
        shapes = ", ".join(str(np.shape(x)) for x in xs)
        return ValueError(f"concatenate: shapes {shapes} must agree except along axis {self.axis}")


class Stack(Function):
    """y = the inputs stacked along a new ``axis``;  input i's gradient is g[..., i, ...]."""

    __slots__ = ("axis",)
    name = "stack"
    saves_inputs = "nothing"

    def __init__(self, axis: int) -> None:
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, g, y, *xs):
        before = (slice(None),) * self.axis
        return tuple(
            g[before + (i,)] if need else None for i, need in enumerate(self.needs_input_grad)
        )

    def error(self, *xs):
        shapes = ", ".join(str(np.shape(x)) for x in xs)
        return ValueError(f"stack: all shapes must be equal, got {shapes}")


class Pad(Function):
    """y = x surrounded by ``value``;  dL/dx = the part of g that covers x."""

    __slots__ = ("pad_width", "value")
    name = "pad"
    saves_inputs = "nothing"

    def __init__(self, pad_width: tuple[tuple[int, int], ...], value: float) -> None:
        self.pad_width = pad_width
        self.value = value

    def forward(self, x):
        return np.pad(x, self.pad_width, mode="constant", constant_values=self.value)

    def backward(self, g, y, x):
        inner = tuple(slice(b, n - a) for (b, a), n in zip(self.pad_width, g.shape))
        return (g[inner],)


# ---- the functions ------------------------------------------------------------------------


@operation(aliases=("view",), numpy=np.reshape)
def reshape(x: Any, *shape: Any) -> Tensor:
    """The same elements in a new shape; one size may be -1 (inferred). ``view`` is the same.

    >>> import autonet as an
    >>> an.arange(6).reshape(2, -1)
    tensor([[0, 1, 2],
            [3, 4, 5]])
    """
    return apply(Reshape(_shape_arg(shape)), x)


view = reshape


@operation()
def flatten(x: Any, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes ``start_dim..end_dim`` into one (all of them by default).

    >>> import autonet as an
    >>> an.zeros(2, 3, 4).flatten(1).shape
    (2, 12)
    """
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = (a % x.ndim for a in (start_dim, end_dim))
    shape = x.shape[:s] + (int(np.prod(x.shape[s : e + 1], dtype=np.int64)),) + x.shape[e + 1 :]
    return reshape(x, shape)


@operation(numpy=np.squeeze)
def squeeze(x: Any, axis: int | tuple[int, ...] | None = None, *, dim: Any = None) -> Tensor:
    """Remove axes of size 1 (all of them, or those in ``axis``; as in PyTorch, a named axis
    whose size is not 1 is left alone).

    >>> import autonet as an
    >>> an.zeros(1, 3, 1).squeeze().shape
    (3,)
    """
    x = as_tensor(x)
    axes = normalize_axis("squeeze", dim if dim is not None else axis, x.ndim)
    shape = tuple(n for i, n in enumerate(x.shape) if not (n == 1 and (axes is None or i in axes)))
    return reshape(x, shape)


@operation(numpy=np.expand_dims)
def unsqueeze(x: Any, axis: int, *, dim: int | None = None) -> Tensor:
    """Insert an axis of size 1 at ``axis`` (NumPy's ``expand_dims``).

    >>> import autonet as an
    >>> an.zeros(3).unsqueeze(0).shape
    (1, 3)
    """
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(
            f"unsqueeze: axis {axis} is out of range for a tensor with {x.ndim} dimensions"
        )
    axis %= x.ndim + 1
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


@operation()
def transpose(x: Any, *axes: Any) -> Tensor:
    """Rearrange axes.

    - ``t.transpose()`` reverses them (``t.T``);
    - ``t.transpose(0, 1)``, two axes, swaps them, as in PyTorch;
    - ``t.transpose((2, 0, 1))``, one tuple (or as many ints as axes), is a permutation, as in
      NumPy.

    >>> import autonet as an
    >>> an.zeros(2, 3, 4).transpose(0, 2).shape
    (4, 3, 2)
    """
    x = as_tensor(x)
    if not axes:
        perm = tuple(range(x.ndim))[::-1]
    elif len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        perm = tuple(axes[0])
    elif len(axes) == 2:
        return swapaxes(x, *axes)
    else:
        perm = axes
    if sorted(a % x.ndim if x.ndim else a for a in perm) != list(range(x.ndim)):
        raise ValueError(f"transpose: {perm} is not a permutation of the axes of shape {x.shape}")
    return apply(Transpose(tuple(int(a) % x.ndim for a in perm)), x)


@operation()
def permute(x: Any, *axes: Any) -> Tensor:
    """Permute the axes (PyTorch's ``permute``): ``t.permute(2, 0, 1)``.

    >>> import autonet as an
    >>> an.zeros(2, 3, 4).permute(2, 0, 1).shape
    (4, 2, 3)
    """
    return transpose(x, _shape_arg(axes))


@operation(numpy=np.swapaxes)
def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes.

    >>> import autonet as an
    >>> an.zeros(2, 3).swapaxes(0, 1).shape
    (3, 2)
    """
    x = as_tensor(x)
    a, b = (
        normalize_axis("swapaxes", axis1, x.ndim)[0],
        normalize_axis("swapaxes", axis2, x.ndim)[0],
    )
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return apply(Transpose(tuple(perm)), x)


@operation(aliases=("broadcast_to",), numpy=np.broadcast_to)
def expand(x: Any, *shape: Any) -> Tensor:
    """Broadcast to a larger ``shape`` without copying; -1 keeps an axis's size.
    ``broadcast_to`` is the same.

    >>> import autonet as an
    >>> an.tensor([[1.0], [2.0]]).expand(2, 3)
    tensor([[1., 1., 1.],
            [2., 2., 2.]])
    """
    x = as_tensor(x)
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {x.shape} to fewer dimensions {shape}")
    target = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
    for i, n in enumerate(x.shape):
        if n != 1 and n != target[i + lead]:
            raise ValueError(
                f"expand: cannot expand shape {x.shape} to {target}: axis {i} has size {n}, not 1"
            )
    if target == x.shape:
        return x
    return apply(Expand(target), x)


broadcast_to = expand


@operation(False, numpy=np.concatenate)
def concatenate(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join tensors along an existing axis (``cat`` is the same).

    >>> import autonet as an
    >>> an.concatenate([an.zeros(2), an.ones(1)])
    tensor([0., 0., 1.])
    """
    tensors = _tensor_list("concatenate", tensors)
    ndim = tensors[0].ndim
    if ndim == 0:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated (use stack)")
    (axis,) = normalize_axis("concatenate", dim if dim is not None else axis, ndim)
    return Concatenate.apply(*tensors, axis=axis)


cat = concatenate


@operation(False, numpy=np.stack)
def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Join equally shaped tensors along a new axis.

    >>> import autonet as an
    >>> an.stack([an.zeros(2), an.ones(2)]).shape
    (2, 2)
    """
    tensors = _tensor_list("stack", tensors)
    (axis,) = normalize_axis("stack", dim if dim is not None else axis, tensors[0].ndim + 1)
    return Stack.apply(*tensors, axis=axis)


def _tensor_list(op: str, tensors: Sequence[Any]) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ValueError(f"{op}: expected a non-empty list of tensors")
    return [as_tensor(t) for t in tensors]


@operation()
def split(
    x: Any, split_size_or_sections: int | Sequence[int], axis: int = 0, *, dim: int | None = None
) -> tuple[Tensor, ...]:
    """Cut along ``axis`` into pieces of ``split_size`` (the last may be smaller) or of the
    listed sizes, as PyTorch's ``split``.

    >>> import autonet as an
    >>> [p.shape for p in an.arange(5).split(2)]
    [(2,), (2,), (1,)]
    >>> [p.shape for p in an.arange(5).split([1, 4])]
    [(1,), (4,)]
    """
    x = as_tensor(x)
    (axis,) = normalize_axis("split", dim if dim is not None else axis, x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(
                f"split: sizes {sizes} add up to {sum(sizes)}, but axis {axis} has size {n}"
            )
    before = (slice(None),) * axis
    pieces, start = [], 0
    for s in sizes:
        pieces.append(x[before + (slice(start, start + s),)])
        start += s
    return tuple(pieces)


@operation()
def chunk(x: Any, chunks: int, axis: int = 0, *, dim: int | None = None) -> tuple[Tensor, ...]:
    """Cut into ``chunks`` nearly equal pieces along ``axis`` (PyTorch's ``chunk``).

    >>> import autonet as an
    >>> [p.shape for p in an.arange(6).chunk(3)]
    [(2,), (2,), (2,)]
    """
    x = as_tensor(x)
    (ax,) = normalize_axis("chunk", dim if dim is not None else axis, x.ndim)
    return split(x, max(-(-x.shape[ax] // chunks), 1), ax)


def pad(x: Any, pad_width: Any, constant_values: float = 0.0) -> Tensor:
    """Surround with a constant, NumPy-style: ``pad_width`` is an int, a ``(before, after)``
    pair, or one pair per axis.

    >>> import autonet as an
    >>> an.pad(an.ones(2), 1)
    tensor([0., 1., 1., 0.])
    """
    x = as_tensor(x)
    if x.ndim == 0:
        return x.clone()  # nothing to pad around a single number
    try:
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    except ValueError as e:
        raise ValueError(
            f"pad: pad_width {pad_width!r} does not fit a tensor of shape {x.shape}"
        ) from e
    if (widths < 0).any():
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    return apply(Pad(tuple((int(b), int(a)) for b, a in widths), constant_values), x)
