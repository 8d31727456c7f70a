"""Rearranging and repeating elements: ``flip``, ``roll``, ``repeat``, ``tile``.

Each is composed from the shape primitives, so no new derivative is needed: a flip is a slice
with step -1, a roll joins two slices, ``tile`` broadcasts a reshaped tensor and merges axes,
``repeat`` does the same with the new axis after the repeated one (or, with a count per
element, picks each element that many times). Their gradients are those primitives': the
slices put back, the broadcast axes summed.

NOTE: the two libraries disagree on the word "repeat". NumPy's ``repeat`` repeats each element
(``[a, b] -> [a, a, b, b]``, PyTorch's ``repeat_interleave``); PyTorch's ``Tensor.repeat``
repeats the whole tensor (``[a, b] -> [a, b, a, b]``, NumPy's ``tile``). autonet keeps each
word's meaning where it comes from: the function ``an.repeat`` (and ``np.repeat(t)``) is
NumPy's, the method ``t.repeat(*sizes)`` is PyTorch's (it is ``tile``), and
``t.repeat_interleave`` is ``an.repeat``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.ops.reduction import normalize_axis
from autonet.engine.ops.shape import concatenate
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor

__all__ = ["flip", "repeat", "roll", "tile"]


def _axes(op: str, x: Tensor, axis: Any) -> tuple[int, ...]:
    """The axes named by an int or a tuple (all axes for None), as sorted non-negative ints."""
    axes = normalize_axis(op, axis, x.ndim)
    return tuple(range(x.ndim)) if axes is None else axes


@operation(numpy=np.flip)
def flip(x: Any, axis: int | tuple[int, ...] | None = None, *, dims: Any = None) -> Tensor:
    """Reverse the order of elements along ``axis`` (every axis when None; PyTorch's
    ``dims=``): a view, whose gradient is g flipped back.

    >>> import autonet as an
    >>> an.tensor([[1.0, 2.0], [3.0, 4.0]]).flip(dims=1)
    tensor([[2., 1.],
            [4., 3.]])
    """
    x = as_tensor(x)
    if x.ndim == 0:
        return x[...]
    axes = _axes("flip", x, dims if dims is not None else axis)
    return x[tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(x.ndim))]


@operation(numpy=np.roll)
def roll(
    x: Any,
    shift: int | tuple[int, ...] = 0,
    axis: int | tuple[int, ...] | None = None,
    *,
    shifts: Any = None,
    dims: Any = None,
) -> Tensor:
    """Shift elements along ``axis`` by ``shift`` places, those pushed off one end coming back
    at the other (over the flattened tensor when ``axis`` is None). Several axes take one
    shift each. PyTorch's ``shifts=`` and ``dims=`` are accepted.

    >>> import autonet as an
    >>> an.arange(5.0).roll(2)
    tensor([3., 4., 0., 1., 2.])
    """
    x = as_tensor(x)
    shift = shifts if shifts is not None else shift
    axis = dims if dims is not None else axis
    if axis is None:
        return roll(x.reshape(-1), shift, 0).reshape(x.shape)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    moves = (shift,) * len(axes) if isinstance(shift, (int, np.integer)) else tuple(shift)
    if len(moves) != len(axes):
        raise ValueError(f"roll: {len(moves)} shifts for {len(axes)} axes")
    for s, a in zip(moves, axes):
        (a,) = normalize_axis("roll", a, x.ndim)
        n = x.shape[a] if x.ndim else 1
        s = int(s) % n if n else 0
        if s:  # the last s elements come first
            before = (slice(None),) * a
            x = concatenate([x[(*before, slice(n - s, None))], x[(*before, slice(0, n - s))]], a)
    return x


@operation("repeat_interleave", numpy=np.repeat)
def repeat(x: Any, repeats: Any, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times along ``axis`` (over the flattened tensor when
    ``axis`` is None): NumPy's ``repeat``, PyTorch's ``repeat_interleave``. ``repeats`` is a
    count for all, or one count per element along the axis. (The method ``t.repeat(*sizes)``
    is PyTorch's, which is :func:`tile`; see the module's note.)

    >>> import autonet as an
    >>> an.repeat(an.tensor([1.0, 2.0]), 2)
    tensor([1., 1., 2., 2.])
    >>> an.tensor([[1.0, 2.0], [3.0, 4.0]]).repeat_interleave(an.tensor([1, 2]), dim=0)
    tensor([[1., 2.],
            [3., 4.],
            [3., 4.]])
    """
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    if axis is None:
        x, axis = x.reshape(-1), 0
    (a,) = normalize_axis("repeat", axis, x.ndim)
    if x.ndim == 0:
        x = x.reshape(1)
    counts = repeats.data if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.dtype.kind not in "iu" or (counts < 0).any():
        raise ValueError(f"repeat: repeats must be non-negative integers, got {repeats!r}")
    n = x.shape[a]
    if counts.ndim == 0 or counts.size == 1:
        r = int(counts.reshape(()))
        # (..., n, ...) -> (..., n, 1, ...) -> (..., n, r, ...) -> (..., n·r, ...)
        spread = x.reshape(x.shape[: a + 1] + (1,) + x.shape[a + 1 :])
        spread = spread.expand(x.shape[: a + 1] + (r,) + x.shape[a + 1 :])
        return spread.reshape(x.shape[:a] + (n * r,) + x.shape[a + 1 :])
    if counts.shape != (n,):
        raise ValueError(
            f"repeat: {counts.size} counts for axis {a} of size {n} (tensor shape {x.shape})"
        )
    picks = np.repeat(np.arange(n), counts)  # each index as many times as its count
    return x[(slice(None),) * a + (picks,)]


@operation(aliases=("repeat",), numpy=np.tile)
def tile(x: Any, *reps: Any) -> Tensor:
    """The whole tensor repeated ``reps`` times along each axis (NumPy's ``tile``, PyTorch's
    ``tile`` and ``Tensor.repeat``); ``reps`` is one tuple or separate ints. With more reps
    than axes, new leading axes are added; with fewer, the leading axes are not repeated.

    >>> import autonet as an
    >>> an.tensor([1.0, 2.0]).repeat(2)
    tensor([1., 2., 1., 2.])
    >>> an.tensor([[1.0, 2.0]]).tile(2, 2)
    tensor([[1., 2., 1., 2.],
            [1., 2., 1., 2.]])
    """
    x = as_tensor(x)
    if len(reps) == 1 and isinstance(reps[0], (tuple, list)):
        reps = tuple(reps[0])
    reps = tuple(int(r) for r in reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repetitions must be non-negative, got {reps}")
    d = max(len(reps), x.ndim)
    reps = (1,) * (d - len(reps)) + reps
    shape = (1,) * (d - x.ndim) + x.shape
    # (n₀, n₁, ...) -> (1, n₀, 1, n₁, ...) -> (r₀, n₀, r₁, n₁, ...) -> (r₀·n₀, r₁·n₁, ...)
    interleaved = x.reshape(tuple(v for n in shape for v in (1, n)))
    spread = interleaved.expand(tuple(v for r, n in zip(reps, shape) for v in (r, n)))
    return spread.reshape(tuple(r * n for r, n in zip(reps, shape)))
