"""Parts of matrices and products of vectors: ``tril``, ``triu``, ``diagonal``, ``trace``,
``outer``.

Each is composed from primitives, so no new derivative is needed: a triangle is ``where``
with a triangular mask (g passes where the mask keeps x, 0 elsewhere); a diagonal is
indexing with two ``arange``s (g goes back onto the diagonal); a trace is the diagonal's sum;
an outer product is a broadcast product of a column and a row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.ops.elementwise import where
from autonet.engine.ops.reduction import normalize_axis
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor

__all__ = ["diagonal", "outer", "trace", "tril", "triu"]


def _triangle(op: str, x: Any, k: int, diagonal: int | None, lower: bool) -> Tensor:
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"{op}: needs a matrix (at least 2 dimensions), got shape {x.shape}")
    k = diagonal if diagonal is not None else k
    n, m = x.shape[-2:]
    mask = np.tri(n, m, k, dtype=bool) if lower else ~np.tri(n, m, k - 1, dtype=bool)
    return where(mask, x, 0)


@operation(numpy=np.tril)
def tril(x: Any, k: int = 0, *, diagonal: int | None = None) -> Tensor:
    """The lower triangle of the last two axes: elements on and below diagonal ``k`` (PyTorch:
    ``diagonal=``), zeros above; its gradient keeps the same triangle of g.

    >>> import autonet as an
    >>> an.ones(3, 3).tril(-1)
    tensor([[0., 0., 0.],
            [1., 0., 0.],
            [1., 1., 0.]])
    """
    return _triangle("tril", x, k, diagonal, lower=True)


@operation(numpy=np.triu)
def triu(x: Any, k: int = 0, *, diagonal: int | None = None) -> Tensor:
    """The upper triangle of the last two axes: elements on and above diagonal ``k``, zeros
    below.

    >>> import autonet as an
    >>> an.ones(2, 3).triu(1)
    tensor([[0., 1., 1.],
            [0., 0., 1.]])
    """
    return _triangle("triu", x, k, diagonal, lower=False)


@operation(numpy=np.diagonal)
def diagonal(
    x: Any,
    offset: int = 0,
    axis1: int = 0,
    axis2: int = 1,
    *,
    dim1: int | None = None,
    dim2: int | None = None,
) -> Tensor:
    """The diagonal ``offset`` of the matrices spanned by ``axis1`` and ``axis2`` (PyTorch:
    ``dim1``, ``dim2``), as NumPy gives it: those two axes removed and the diagonal appended
    as the last axis. Its gradient puts g back on the diagonal.

    >>> import autonet as an
    >>> an.arange(9.0).reshape(3, 3).diagonal(1)
    tensor([1., 5.])
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    a1 = dim1 if dim1 is not None else axis1
    a2 = dim2 if dim2 is not None else axis2
    (a1,), (a2,) = normalize_axis("diagonal", a1, x.ndim), normalize_axis("diagonal", a2, x.ndim)
    if a1 == a2:
        raise ValueError(f"diagonal: axis1 and axis2 must differ, both are {a1}")
    rest = [d for d in range(x.ndim) if d not in (a1, a2)]
    moved = x.transpose(tuple(rest) + (a1, a2))  # (..., n, m)
    n, m = moved.shape[-2:]
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    rows = np.arange(length) - min(offset, 0)
    cols = np.arange(length) + max(offset, 0)
    return moved[..., rows, cols]


@operation(numpy=np.trace)
def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None) -> Tensor:
    """The sum of the diagonal ``offset`` (see :func:`diagonal`); for a batch of matrices,
    pick their axes with ``axis1`` and ``axis2``.

    >>> import autonet as an
    >>> an.tensor([[1.0, 2.0], [3.0, 4.0]]).trace()
    tensor(5.)
    """
    d = diagonal(x, offset, axis1, axis2)
    if dtype is not None:
        d = d.astype(dtype)
    return d.sum(axis=-1)


@operation(numpy=np.outer)
def outer(a: Any, b: Any) -> Tensor:
    """The outer product ``y[i, j] = a[i]·b[j]`` (both flattened first, as NumPy does).

    >>> import autonet as an
    >>> an.outer(an.tensor([1.0, 2.0]), an.tensor([1.0, 10.0, 100.0]))
    tensor([[  1.,  10., 100.],
            [  2.,  20., 200.]])
    """
    a, b = as_tensor(a), as_tensor(b)
    return a.reshape(-1, 1) * b.reshape(1, -1)
