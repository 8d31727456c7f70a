"""Sorting: ``sort``, ``argsort`` and ``topk``.

The order itself has no derivative (it is an integer tensor); the sorted values are the input
picked in that order, ``take_along_axis(x, argsort(x))``, so each value's gradient goes back
to the element it came from. NOTE: between tied elements the order is a choice: autonet
always sorts stably (ties keep their original order, also with ``descending=True``), so the
gradient of tied values is deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.ops.gather import take_along_axis
from autonet.engine.ops.reduction import ValuesAndIndices, one_axis
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor, wrap

__all__ = ["argsort", "sort", "topk"]


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """The stable sorting order of ``a`` along ``axis``, ascending or descending."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    # NOTE: sorting the reversed array stably and reversing the result gives the descending
    # order with ties still in their original order (argsort(-a) would not work for bools).
    n = a.shape[axis]
    reversed_order = np.argsort(np.flip(a, axis), axis=axis, kind="stable")
    return np.ascontiguousarray(np.flip(n - 1 - reversed_order, axis))


def _no_order(op: str, order: Any) -> None:
    if order is not None:
        raise ValueError(f"{op}: order= is for structured arrays, which tensors are not")


@operation(numpy=np.argsort)
def argsort(
    x: Any,
    axis: int | None = -1,
    kind: str | None = None,
    order: Any = None,
    *,
    stable: bool | None = None,
    dim: int | None = None,
    descending: bool = False,
) -> Tensor:
    """The indices that sort ``x`` along ``axis`` (flattened when ``axis`` is None); an int64
    tensor without gradient. Always stable (``kind`` and ``stable`` are accepted for NumPy's
    and PyTorch's sake).

    >>> import autonet as an
    >>> an.tensor([3.0, 1.0, 2.0, 1.0]).argsort(descending=True)
    tensor([0, 2, 1, 3])
    """
    _no_order("argsort", order)
    x = as_tensor(x)
    flat, a = one_axis("argsort", x, axis, dim)
    result = _order(flat.data, a, descending)
    if x.ndim == 0 and (axis is not None or dim is not None):
        result = result.reshape(())
    return wrap(result)


@operation(numpy=np.sort)
def sort(
    x: Any,
    axis: int | None = -1,
    kind: str | None = None,
    order: Any = None,
    *,
    stable: bool | None = None,
    dim: int | None = None,
    descending: bool = False,
) -> Any:
    """``x`` sorted along ``axis`` (flattened when ``axis`` is None), stably.

    With NumPy's ``axis=`` (or no axis) the sorted values come back, as ``np.sort`` gives them;
    with PyTorch's ``dim=`` a named tuple ``(values, indices)``, as ``torch.sort`` gives it.
    Each sorted value's gradient goes to the element it came from.

    >>> import autonet as an
    >>> x = an.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    >>> x.sort()
    tensor([[1., 2., 3.]], grad_fn=<take_along_axis(axis=1)>)
    >>> values, indices = x.sort(dim=1, descending=True)
    >>> indices
    tensor([[0, 2, 1]])
    """
    _no_order("sort", order)
    x = as_tensor(x)
    flat, a = one_axis("sort", x, axis, dim)
    indices = _order(flat.data, a, descending)
    values = take_along_axis(flat, indices, a)
    if x.ndim == 0 and (axis is not None or dim is not None):
        values, indices = values.reshape(()), indices.reshape(())
    if dim is None:
        return values
    return ValuesAndIndices(values, wrap(indices))


@operation()
def topk(
    x: Any, k: int, dim: int = -1, largest: bool = True, sorted: bool = True
) -> ValuesAndIndices:
    """The ``k`` largest elements along ``dim`` (the smallest with ``largest=False``), as a
    named tuple ``(values, indices)``, as PyTorch's ``topk``. They come in sorted order
    whatever ``sorted`` says; ties go to the earlier element.

    >>> import autonet as an
    >>> values, indices = an.tensor([1.0, 5.0, 3.0, 5.0]).topk(2)
    >>> values, indices
    (tensor([5., 5.]), tensor([1, 3]))
    """
    x = as_tensor(x)
    flat, a = one_axis("topk", x, dim, None)
    n = flat.shape[a]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} is out of range for dim {dim} of size {n}")
    indices = _order(flat.data, a, largest)
    indices = np.ascontiguousarray(np.take(indices, np.arange(k), axis=a))
    values = take_along_axis(flat, indices, a)
    if x.ndim == 0 and k == 1:
        values, indices = values.reshape(()), indices.reshape(())
    return ValuesAndIndices(values, wrap(indices))
