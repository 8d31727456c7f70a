"""``DataLoader``: a dataset in batches, in order or shuffled anew every epoch.

Each batch is the list of positions ``order[k * batch_size : (k + 1) * batch_size]``. A dataset
with ``batch_indexing`` (a :class:`~autonet.data.TensorDataset`, or a Subset of one) is asked
for the whole batch at once, one fancy-indexing operation per tensor; any other dataset is read
item by item and the items are stacked by :func:`default_collate`.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from autonet.data.dataset import generator_from, is_int
from autonet.engine.factories import from_numpy
from autonet.engine.tensor import Tensor, as_tensor


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size`` items.

    For a dataset whose items are tuples (such as ``TensorDataset(X, y)``) every batch is a
    tuple of batched Tensors; for items that are single Tensors, a batched Tensor. The last
    batch is smaller when ``batch_size`` does not divide the dataset, unless ``drop_last``
    leaves it out. With ``shuffle`` every epoch (every ``for`` loop over the loader) draws a
    new permutation from ``generator`` (a NumPy Generator or a seed), or else from autonet's
    generator, so ``an.manual_seed`` makes the order repeat. ``len(loader)`` is the number of
    batches. Batches are data: they carry no gradient history.

    >>> import autonet as an
    >>> from autonet.data import DataLoader, TensorDataset
    >>> ds = TensorDataset(an.arange(10).reshape(5, 2), an.arange(5))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader)
    3
    >>> for x, y in loader:
    ...     print(x.shape, y.tolist())
    (2, 2) [0, 1]
    (2, 2) [2, 3]
    (1, 2) [4]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Any = None,
    ) -> None:
        if not (is_int(batch_size) and batch_size > 0):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(
                f"DataLoader: a dataset needs __getitem__ and __len__; "
                f"{type(dataset).__name__} lacks them"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        # NOTE: a seed becomes one Generator here, so that every epoch draws a new order.
        self.generator = None if generator is None else generator_from(generator, "DataLoader")

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[Any]:
        n, b = len(self.dataset), self.batch_size
        if self.shuffle:
            order = generator_from(self.generator, "DataLoader").permutation(n)
        else:
            order = np.arange(n)
        stop = n - n % b if self.drop_last else n
        if getattr(self.dataset, "batch_indexing", False):
            fetch = self.dataset.__getitem__  # the hot path: one indexing per tensor
        else:
            fetch = self._collate_items
        for start in range(0, stop, b):
            yield fetch(order[start : start + b])

    def _collate_items(self, positions: np.ndarray) -> Any:
        return default_collate([self.dataset[int(i)] for i in positions])

    def __repr__(self) -> str:
        return (
            f"DataLoader({len(self.dataset)} items, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last})"
        )


def default_collate(items: Sequence[Any]) -> Any:
    """Stack a list of dataset items into one batch, following the structure of the items.

    Tensors are stacked along a new first axis (keeping their dtype); NumPy arrays and numbers
    become a Tensor the way ``an.tensor`` converts them (floats to float32, ints to int64);
    tuples and lists are collated element by element, dicts key by key; strings stay a list.

    >>> import numpy as np
    >>> from autonet.data import default_collate
    >>> default_collate([(np.array([1.0, 2.0]), 0), (np.array([3.0, 4.0]), 1)])
    (tensor([[1., 2.],
            [3., 4.]]), tensor([0, 1]))
    >>> default_collate([{"x": 1.5, "id": "a"}, {"x": 2.5, "id": "b"}])
    {'x': tensor([1.5, 2.5]), 'id': ['a', 'b']}
    """
    first = items[0]
    if isinstance(first, Tensor):
        return from_numpy(_stack(items))
    if isinstance(first, np.ndarray):
        return as_tensor(_stack(items))
    if isinstance(first, str):
        return list(items)
    if isinstance(first, (numbers.Number, np.generic)):
        return as_tensor(_stack(items))
    if isinstance(first, Mapping):
        for k, item in enumerate(items):
            if not isinstance(item, Mapping) or item.keys() != first.keys():
                raise ValueError(
                    f"DataLoader: item {k} of the batch does not have the keys "
                    f"{list(first)} of item 0"
                )
        return {key: default_collate([item[key] for item in items]) for key in first}
    if isinstance(first, (tuple, list)):
        for k, item in enumerate(items):
            if len(item) != len(first):
                raise ValueError(
                    f"DataLoader: item {k} of the batch has {len(item)} parts, "
                    f"item 0 has {len(first)}"
                )
        columns = [default_collate(list(column)) for column in zip(*items)]
        if hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*columns)
        return tuple(columns) if isinstance(first, tuple) else columns
    raise TypeError(
        f"DataLoader: cannot batch items of type {type(first).__name__}; items may be "
        f"Tensors, arrays, numbers, strings, tuples, lists or dicts"
    )


def _stack(arrays: Sequence[Any]) -> np.ndarray:
    """np.stack of arrays, numbers or Tensors, with an error that says which items differ."""
    arrays = [a.data if isinstance(a, Tensor) else a for a in arrays]
    shapes = [np.shape(a) for a in arrays]
    k = next((k for k, s in enumerate(shapes) if s != shapes[0]), None)
    if k is None:
        return np.stack(arrays)
    raise ValueError(
        f"DataLoader: cannot stack the items of a batch: item 0 has shape {shapes[0]}, "
        f"item {k} has shape {shapes[k]}"
    )
