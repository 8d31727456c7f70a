"""Datasets: the ``Dataset`` protocol, ``TensorDataset``, ``Subset`` and the two ways of
splitting data, ``random_split`` (into Subsets) and ``train_test_split`` (into Tensors).

A dataset is anything with ``__len__`` and ``__getitem__(i)`` giving item ``i``, as in PyTorch.
A dataset that also answers ``dataset[index_array]`` with a whole batch at once says so with
``batch_indexing = True``; the :class:`~autonet.data.DataLoader` then fetches each batch in one
indexing operation instead of item by item.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from autonet.engine.factories import from_numpy
from autonet.engine.random import default_generator
from autonet.engine.tensor import Tensor, as_tensor


class Dataset:
    """A collection of items read by position: subclass it and define ``__getitem__`` and
    ``__len__``.

    ``__getitem__(i)`` returns item ``i`` for ``0 <= i < len(self)``, usually a tuple such as
    ``(input, target)``; its parts may be Tensors, NumPy arrays, numbers, tuples or dicts, and a
    :class:`~autonet.data.DataLoader` stacks them into batches. Set the class attribute
    ``batch_indexing = True`` only when ``__getitem__`` also takes an integer array of positions
    and returns the whole batch already stacked (as :class:`TensorDataset` does).

    >>> import numpy as np
    >>> from autonet.data import Dataset
    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 5
    ...     def __getitem__(self, i):
    ...         if not 0 <= i < 5:
    ...             raise IndexError(f"Squares: index {i} out of range")
    ...         return np.array([float(i)]), i * i
    >>> len(Squares()), Squares()[3]
    (5, (array([3.]), 9))
    """

    batch_indexing: bool = False

    def __getitem__(self, index: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class TensorDataset(Dataset):
    """Rows of tensors that share their first dimension: item ``i`` is
    ``(tensors[0][i], tensors[1][i], ...)``.

    Array-likes are converted as ``an.as_tensor`` does (float64 NumPy data becomes float32).
    ``ds[i]`` gives one row of each tensor; an integer array, a list, a boolean mask or a slice
    gives a batch of rows, taken in one indexing operation per tensor (a slice shares memory
    with the stored tensors, as NumPy's slices do; the others are copies). The results are
    data: they carry no gradient history, even when the stored tensors require grad.

    >>> import autonet as an
    >>> from autonet.data import TensorDataset
    >>> ds = TensorDataset(an.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), an.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([3., 4.]), tensor(1)))
    >>> x, y = ds[[2, 0]]
    >>> x, y
    (tensor([[5., 6.],
            [1., 2.]]), tensor([0, 0]))
    """

    batch_indexing = True

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        self.tensors = tuple(as_tensor(t) for t in tensors)
        self._arrays = tuple(t.data for t in self.tensors)
        _check_rows("TensorDataset", self._arrays)

    def __len__(self) -> int:
        return self._arrays[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        index = _as_index(index)
        # NOTE: an int index gives NumPy scalars for 1-d arrays; asarray makes them 0-d arrays.
        return tuple(from_numpy(np.asarray(a[index])) for a in self._arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self._arrays)
        return f"TensorDataset({len(self)} items; tensors of shapes {shapes})"


class Subset(Dataset):
    """The items of ``dataset`` at the positions ``indices``, in that order.

    ``subset[i]`` is ``dataset[indices[i]]``; it supports batch indexing when ``dataset`` does.

    >>> import autonet as an
    >>> from autonet.data import Subset, TensorDataset
    >>> sub = Subset(TensorDataset(an.arange(10) * 10), [7, 2, 5])
    >>> len(sub), sub[0], sub[[1, 2]]
    (3, (tensor(70),), (tensor([20, 50]),))
    """

    def __init__(self, dataset: Any, indices: Any) -> None:
        self.dataset = dataset
        indices = np.asarray(indices.data if isinstance(indices, Tensor) else indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise ValueError(
                f"Subset: indices must be a 1-d sequence of ints, got {indices.dtype} "
                f"of shape {indices.shape}"
            )
        self.indices = indices.astype(np.int64, copy=False)
        n = len(dataset)
        outside = (self.indices < -n) | (self.indices >= n)
        if outside.any():
            raise IndexError(
                f"Subset: index {self.indices[outside][0]} is out of range "
                f"for a dataset of {n} items"
            )

    @property
    def batch_indexing(self) -> bool:  # type: ignore[override]
        """Whether ``subset[index_array]`` gives a whole batch: when the dataset's does."""
        return bool(getattr(self.dataset, "batch_indexing", False))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        index = _as_index(index)
        if isinstance(index, int):
            return self.dataset[int(self.indices[index])]
        return self.dataset[self.indices[index]]

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {len(self.dataset)} items)"


def random_split(
    dataset: Any, lengths: Sequence[int | float], generator: Any = None
) -> list[Subset]:
    """Split ``dataset`` at random into disjoint :class:`Subset` s that together cover it.

    ``lengths`` are either ints adding up to ``len(dataset)``, or fractions adding up to 1. As in
    PyTorch, fraction ``f`` gives ``floor(f * len(dataset))`` items and the items left over go
    one each to the first subsets in turn. The permutation is drawn from ``generator`` (a NumPy
    Generator or a seed), else from autonet's generator (``an.manual_seed`` repeats it).

    >>> import autonet as an
    >>> from autonet.data import TensorDataset, random_split
    >>> train, val = random_split(TensorDataset(an.zeros(10, 2)), [0.75, 0.25])
    >>> len(train), len(val)
    (8, 2)
    """
    n = len(dataset)
    sizes = _split_sizes(n, lengths)
    order = generator_from(generator, "random_split").permutation(n)
    stops = np.cumsum(sizes)
    return [Subset(dataset, order[stop - size : stop]) for size, stop in zip(sizes, stops)]


def train_test_split(
    *tensors: Any, test_size: float | int = 0.2, shuffle: bool = True, seed: Any = None
) -> list[Tensor]:
    """Split tensors that share their first dimension into training and test rows, as
    scikit-learn does: returns ``[train_0, test_0, train_1, test_1, ...]``.

    ``test_size`` is a fraction in (0, 1) (the test set gets ``ceil(test_size * n)`` rows) or a
    count. With ``shuffle`` the rows are chosen at random, from ``np.random.default_rng(seed)``
    when a seed is given, else from autonet's generator; without it the test rows are the last
    ones. Row ``i`` of every training tensor comes from the same original row (likewise for
    test); the results carry no gradient history.

    >>> import autonet as an
    >>> from autonet.data import train_test_split
    >>> X, y = an.arange(20).reshape(10, 2), an.arange(10)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, seed=0)
    >>> X_train.shape, X_test.shape, y_test.shape
    ((7, 2), (3, 2), (3,))
    >>> bool((X_test[:, 0] == 2 * y_test).all())
    True
    """
    if not tensors:
        raise ValueError("train_test_split: needs at least one tensor")
    arrays = tuple(as_tensor(t).data for t in tensors)
    _check_rows("train_test_split", arrays)
    n = arrays[0].shape[0]
    n_test = _test_count(n, test_size)
    if shuffle:
        order = generator_from(seed, "train_test_split").permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        train, test = np.arange(n - n_test), np.arange(n - n_test, n)
    return [from_numpy(a[rows]) for a in arrays for rows in (train, test)]


def generator_from(source: Any, where: str) -> np.random.Generator:
    """autonet's generator when ``source`` is None, else ``np.random.default_rng(source)``:
    a new generator seeded with ``source``, or ``source`` itself when it is a Generator."""
    if source is None:
        return default_generator()
    try:
        return np.random.default_rng(source)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{where}: expected a numpy.random.Generator or a non-negative int seed, got {source!r}"
        ) from e


def _as_index(index: Any) -> Any:
    """A dataset index as NumPy takes it: ints stay ints, Tensors and lists become arrays."""
    if isinstance(index, (int, np.integer)):
        return int(index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index, dtype=np.int64) if index else np.zeros(0, np.int64)
    return index


def _check_rows(where: str, arrays: Sequence[np.ndarray]) -> None:
    """Every array has a first dimension, and all of them the same."""
    for k, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(
                f"{where}: tensor {k} is 0-d (a scalar); every tensor needs a first dimension"
            )
    n = arrays[0].shape[0]
    for k, a in enumerate(arrays[1:], start=1):
        if a.shape[0] != n:
            raise ValueError(
                f"{where}: all tensors need the same first dimension, but tensor 0 has {n} "
                f"rows and tensor {k} has {a.shape[0]} (shapes {arrays[0].shape} and {a.shape})"
            )


def is_int(x: Any) -> bool:
    """True for an integer (Python's or NumPy's), not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def _split_sizes(n: int, lengths: Sequence[Any]) -> list[int]:
    """The subset sizes ``random_split`` makes from ``lengths`` (counts or fractions)."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(is_int(k) for k in lengths):
        sizes = [int(k) for k in lengths]
        if any(k < 0 for k in sizes):
            raise ValueError(f"random_split: lengths must not be negative, got {sizes}")
        if sum(sizes) != n:
            raise ValueError(
                f"random_split: the lengths {sizes} add up to {sum(sizes)}, "
                f"but the dataset has {n} items"
            )
        return sizes
    if not all(isinstance(f, numbers.Real) and not isinstance(f, bool) for f in lengths):
        raise TypeError(f"random_split: lengths must be ints or fractions, got {lengths}")
    fractions = [float(f) for f in lengths]
    if any(not 0.0 <= f <= 1.0 for f in fractions):
        raise ValueError(f"random_split: fractions must lie in [0, 1], got {fractions}")
    if not math.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"random_split: the fractions {fractions} add up to {sum(fractions)}, not 1"
        )
    sizes = [math.floor(n * f) for f in fractions]
    for i in range(n - sum(sizes)):  # the remainder, one each, round robin
        sizes[i % len(sizes)] += 1
    empty = [i for i, size in enumerate(sizes) if size == 0]
    if empty:
        warnings.warn(f"random_split: the subsets {empty} are empty", stacklevel=3)
    return sizes


def _test_count(n: int, test_size: Any) -> int:
    """The number of test rows ``train_test_split`` takes out of ``n``."""
    if is_int(test_size):
        n_test = int(test_size)
        if not 0 < n_test < n:
            raise ValueError(
                f"train_test_split: test_size={n_test} must be between 1 and {n - 1} for {n} rows"
            )
        return n_test
    if not isinstance(test_size, numbers.Real) or isinstance(test_size, bool):
        raise TypeError(
            f"train_test_split: test_size must be a fraction or a count, not {test_size!r}"
        )
    if not 0.0 < test_size < 1.0:
        raise ValueError(
            f"train_test_split: a fractional test_size must lie in (0, 1), got {test_size}"
        )
    # NOTE: rounding first keeps 0.28 * 25 = 7.000000000000001 at 7 rows, not 8.
    n_test = math.ceil(round(test_size * n, 9))
    if n_test >= n:
        raise ValueError(
            f"train_test_split: test_size={test_size} of {n} rows leaves no training rows"
        )
    return n_test
