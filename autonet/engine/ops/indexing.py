"""Indexing: ``t[...]`` with ints, slices, ``None``, ``...``, integer arrays and boolean masks.

Reading ``y = x[index]`` picks elements; its gradient puts ``g`` back where they came from and
zeros elsewhere. An element picked twice (``x[[0, 0]]``) receives both gradients: that
scatter-add is itself a primitive, :class:`IndexAdd`, whose own gradient is indexing again, so
second derivatives go through indexing too. (In a plain backward pass, ``g`` is added in place
into the gradient the pass gathers for ``x``: see :class:`~autonet.engine.function.Scattered`.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import Function, Scattered, apply
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor

__all__ = ["getitem"]

_BASIC = (int, slice, type(None), type(Ellipsis), np.integer)


def normalize_index(index: Any) -> Any:
    """Tensors in an index become their arrays and lists become arrays, as NumPy expects."""
    if isinstance(index, tuple):
        return tuple(_part(i) for i in index)
    return _part(index)


def _part(i: Any) -> Any:
    if isinstance(i, Tensor):
        i = i.data
    elif isinstance(i, list):
        i = np.asarray([p.data if isinstance(p, Tensor) else p for p in i])
    if isinstance(i, np.ndarray):
        if i.dtype.kind not in "iub":
            raise IndexError(
                f"index: arrays used as indices must be integer or bool, not {i.dtype}"
            )
        if i.ndim == 0 and i.dtype.kind in "iu":
            return int(i)
    return i


def _never_repeats(index: Any) -> bool:
    """True when no element can be picked twice: basic indexing, or a single boolean mask."""
    parts = index if isinstance(index, tuple) else (index,)
    arrays = [p for p in parts if not isinstance(p, _BASIC)]
    return not arrays or (
        len(arrays) == 1 and isinstance(arrays[0], np.ndarray) and arrays[0].dtype == np.bool_
    )


class GetItem(Function):
    """y = x[index];  dL/dx = zeros with g added at the picked positions."""

    __slots__ = ("index",)
    name = "getitem"
    saves_inputs = "shape"

    def __init__(self, index: Any) -> None:
        self.index = index

    def label(self) -> str:
        return f"getitem[{_show(self.index)}]"

    def forward(self, x):
        return x[self.index]

    def backward(self, g, y, x):
        if isinstance(g, Tensor):  # a recorded backward: the primitive, differentiable again
            return (IndexAdd.apply(g, shape=x.shape, index=self.index),)
        # NOTE: not yet an array of x's size: the pass adds it into x's gradient in place
        return (Scattered(g, self.index, x.shape, _never_repeats(self.index)),)


class IndexAdd(Function):
    """y = zeros(shape) with x added at ``index`` (repeated positions add up);
    dL/dx = g[index]."""

    __slots__ = ("index", "shape")
    name = "index_add"
    saves_inputs = "nothing"

    def __init__(self, shape: tuple[int, ...], index: Any) -> None:
        self.shape = shape
        self.index = index

    def label(self) -> str:
        return f"index_add[{_show(self.index)}]"

    def forward(self, x):
        return Scattered(x, self.index, self.shape, _never_repeats(self.index)).dense()

    def backward(self, g, y, x):
        return (g[self.index],)


def _show(index: Any) -> str:
    parts = index if isinstance(index, tuple) else (index,)
    shown = []
    for p in parts:
        if isinstance(p, slice):
            shown.append(
                ":".join("" if v is None else str(v) for v in (p.start, p.stop, p.step)).rstrip(":")
                or ":"
            )
        elif p is Ellipsis:
            shown.append("...")
        elif p is None:
            shown.append("None")
        elif isinstance(p, np.ndarray):
            shown.append(f"<{p.dtype} array {p.shape}>")
        else:
            shown.append(str(p))
    return ", ".join(shown)


@operation(False, operators=("__getitem__",))
def getitem(x: Any, index: Any) -> Tensor:
    """``x[index]``: NumPy's basic and advanced indexing. Repeated indices accumulate their
    gradients.

    >>> import autonet as an
    >>> x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> x[[0, 0, 2]].sum().backward()
    >>> x.grad
    tensor([2., 0., 1.])
    """
    index = normalize_index(index)
    try:
        return apply(GetItem(index), x)
    except IndexError as e:
        raise IndexError(f"getitem: {e} (tensor shape {np.shape(x)})") from e
