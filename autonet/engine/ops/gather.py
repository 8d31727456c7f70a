"""Picking along an axis by index (``take_along_axis``, ``gather``), adding back by index
(``scatter_add``), and filling where a mask says (``masked_fill``).

All of them are indexing in disguise: ``take_along_axis(x, index, axis)`` is ``x[i₀, ..., index,
..., iₙ]`` with ``arange`` indices on the other axes: a ``getitem`` (its node is labelled
``take_along_axis``), whose gradient adds g back where each element came from (the
``index_add`` primitive, whose own gradient is indexing again). ``scatter_add`` is that
adding-back itself, and ``masked_fill`` is ``where``. No new derivative is needed, and every
order is available.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import apply
from autonet.engine.ops.elementwise import where
from autonet.engine.ops.indexing import GetItem, IndexAdd
from autonet.engine.ops.reduction import normalize_axis
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor

__all__ = ["gather", "masked_fill", "scatter_add", "take_along_axis"]


class TakeAlongAxis(GetItem):
    """y = x[i₀, ..., index, ..., iₙ]: x picked at ``index`` along ``axis``, with ``arange``
    indices iₖ on the other axes;  dL/dx = zeros with g added back where each element came
    from (``index_add``, as for any ``getitem``)."""

    __slots__ = ("axis",)
    name = "take_along_axis"

    def __init__(self, index: tuple[np.ndarray, ...], axis: int) -> None:
        super().__init__(index)
        self.axis = axis

    def label(self) -> str:
        return f"take_along_axis(axis={self.axis})"


def along_axis(op: str, index: Any, axis: int, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """The advanced index that picks ``index`` along ``axis``: ``index`` itself there, and on
    every other axis d an ``arange(shape[d])`` shaped to broadcast against it.

    >>> along_axis("take", np.array([[1], [0]]), 1, (2, 3))
    (array([[0],
           [1]]), array([[1],
           [0]]))
    """
    index = index_array(op, index)
    if index.ndim != len(shape):
        raise ValueError(
            f"{op}: the index has {index.ndim} dimensions but the tensor has {len(shape)} "
            f"(index shape {index.shape}, tensor shape {shape})"
        )
    picks = []
    for d, n in enumerate(shape):
        if d == axis:
            picks.append(index)
        else:
            picks.append(np.arange(n).reshape([n if i == d else 1 for i in range(len(shape))]))
    return tuple(picks)


def index_array(op: str, index: Any) -> np.ndarray:
    """An index (a tensor, an array or nested lists) as an array of integers, or an error."""
    index = index.data if isinstance(index, Tensor) else np.asarray(index)
    if index.dtype.kind not in "iu":
        raise IndexError(f"{op}: the index must hold integers, not {index.dtype}")
    return index


@operation("take_along_dim", numpy=np.take_along_axis)
def take_along_axis(x: Any, indices: Any, axis: int | None = -1, *, dim: Any = None) -> Tensor:
    """``x`` picked at ``indices`` along ``axis`` (NumPy's ``take_along_axis``; PyTorch's
    ``take_along_dim``): ``y[i, j] = x[i, indices[i, j]]`` for ``axis=1``. ``indices`` has as
    many dimensions as ``x`` and broadcasts against it on the other axes; with ``axis=None``
    both are flattened. Repeated indices add up their gradients.

    >>> import autonet as an
    >>> x = an.tensor([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> an.take_along_axis(x, x.argsort(axis=1), axis=1)      # each row sorted
    tensor([[10., 20., 30.],
            [40., 50., 60.]])
    """
    x = as_tensor(x)
    axis = dim if dim is not None else axis
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    (axis,) = normalize_axis("take_along_axis", axis, x.ndim)
    return _pick("take_along_axis", x, along_axis("take_along_axis", indices, axis, x.shape), axis)


@operation()
def gather(x: Any, dim: int, index: Any) -> Tensor:
    """PyTorch's ``gather``: ``y[i][j] = x[index[i][j]][j]`` for ``dim=0`` (``x[i][index[i][j]]``
    for ``dim=1``). ``y`` has ``index``'s shape, which may be smaller than ``x``'s on the other
    axes (the leading part of those axes is used).

    >>> import autonet as an
    >>> x = an.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> x.gather(1, an.tensor([[0, 0], [1, 0]]))
    tensor([[1., 1.],
            [4., 3.]])
    """
    x = as_tensor(x)
    (axis,) = normalize_axis("gather", dim, x.ndim)
    index = index_array("gather", index)
    _fits("gather", index, axis, x.shape, "the tensor")
    return _pick("gather", x, along_axis("gather", index, axis, index.shape), axis)


@operation()
def scatter_add(x: Any, dim: int, index: Any, src: Any) -> Tensor:
    """PyTorch's ``scatter_add``: a copy of ``x`` with each ``src[i][j]`` added at
    ``[index[i][j]][j]`` (for ``dim=0``); repeated positions add up. The gradient with respect
    to ``x`` is g; with respect to ``src``, g gathered at ``index``.

    >>> import autonet as an
    >>> an.zeros(3).scatter_add(0, an.tensor([0, 2, 0]), an.tensor([1.0, 2.0, 3.0]))
    tensor([4., 0., 2.])
    """
    x, src = as_tensor(x), as_tensor(src)
    (axis,) = normalize_axis("scatter_add", dim, x.ndim)
    index = index_array("scatter_add", index)
    _fits("scatter_add", index, axis, x.shape, "the tensor")
    _fits("scatter_add", index, None, src.shape, "src")
    if src.shape != index.shape:  # only the part of src that index covers is added
        src = src[tuple(slice(0, n) for n in index.shape)]
    picks = along_axis("scatter_add", index, axis, index.shape)
    if index.size and (index.min() < -x.shape[axis] or index.max() >= x.shape[axis]):
        raise IndexError(
            f"scatter_add: index out of range for axis {axis} of size {x.shape[axis]} "
            f"(indices from {index.min()} to {index.max()})"
        )
    return x + IndexAdd.apply(src, shape=x.shape, index=picks)


def _fits(op: str, index: np.ndarray, axis: int | None, shape: tuple[int, ...], what: str) -> None:
    """PyTorch's rule: ``index`` is no larger than ``shape`` on every axis but ``axis``."""
    if index.ndim != len(shape) or any(
        i != axis and k > n for i, (k, n) in enumerate(zip(index.shape, shape))
    ):
        raise ValueError(
            f"{op}: index of shape {index.shape} does not fit {what} of shape {shape} "
            f"(same number of dimensions, and no larger on any axis but dim)"
        )


def _pick(op: str, x: Tensor, picks: tuple[np.ndarray, ...], axis: int) -> Tensor:
    try:
        return apply(TakeAlongAxis(picks, axis), x)
    except IndexError as e:
        raise IndexError(f"{op}: {e} (tensor shape {x.shape})") from e


@operation()
def masked_fill(x: Any, mask: Any, value: Any) -> Tensor:
    """``x`` with ``value`` where ``mask`` is true (``mask`` broadcasts against ``x``): the
    gradient reaches ``x`` only where the mask is false, and ``value`` (if a tensor that
    requires grad) where it is true.

    >>> import autonet as an
    >>> x = an.tensor([[1.0, -2.0], [-3.0, 4.0]])
    >>> x.masked_fill(x < 0, 0.0)
    tensor([[1., 0.],
            [0., 4.]])
    """
    x = as_tensor(x)
    if isinstance(value, Tensor) and value.ndim != 0:
        raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, not {value.shape}")
    if not isinstance(value, Tensor):
        value = x.dtype.type(value)  # (x's dtype: an integer tensor stays integer)
    return where(mask, value, x)
