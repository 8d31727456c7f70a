"""Making tensors: from data, filled with constants, ranges, identity matrices, random draws.

As in PyTorch, a shape is given as separate ints or one tuple (``zeros(3, 4)`` or
``zeros((3, 4))``); every factory takes ``dtype=`` and ``requires_grad=``. Random draws come
from autonet's generator, seeded with ``an.manual_seed``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.dtypes import as_dtype, get_default_dtype
from autonet.engine.random import default_generator
from autonet.engine.tensor import Tensor, wrap


def _leaf(data: np.ndarray, requires_grad: bool) -> Tensor:
    t = wrap(data)
    if requires_grad:
        t.requires_grad = True
    return t


def _shape(op: str, shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in shape):
        raise ValueError(f"{op}: a shape is made of non-negative ints, got {shape}")
    return tuple(int(n) for n in shape)


def _float_dtype(dtype: Any) -> np.dtype:
    dt = as_dtype(dtype)
    return get_default_dtype() if dt is None else dt


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (numbers, nested lists, arrays, tensors).

    Floating data becomes the default dtype (float32) unless ``dtype`` is given; Python ints
    become int64; a tensor keeps its dtype.

    >>> import autonet as an
    >>> an.tensor([[1.0, 2.0]], requires_grad=True)
    tensor([[1., 2.]], requires_grad=True)
    >>> an.tensor([1, 2, 3]).dtype
    dtype('int64')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and keeping its dtype (no conversion to float32).

    >>> import numpy as np, autonet as an
    >>> an.from_numpy(np.zeros(2)).dtype
    dtype('float64')
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    as_dtype(array.dtype)  # float, int or bool only
    return wrap(array)


def full(size: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` filled with ``fill_value``.

    >>> import autonet as an
    >>> an.full((2, 2), 7.0)
    tensor([[7., 7.],
            [7., 7.]])
    """
    if dtype is None and isinstance(fill_value, float):
        dtype = get_default_dtype()
    shape = _shape("full", size if isinstance(size, (tuple, list)) else (size,))
    return _leaf(np.full(shape, fill_value, dtype=as_dtype(dtype)), requires_grad)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` says otherwise).

    >>> import autonet as an
    >>> an.zeros(2, 3).shape
    (2, 3)
    """
    return _leaf(np.zeros(_shape("zeros", shape), _float_dtype(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones.

    >>> import autonet as an
    >>> an.ones((2,))
    tensor([1., 1.])
    """
    return _leaf(np.ones(_shape("ones", shape), _float_dtype(dtype)), requires_grad)


def empty(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are whatever memory held (fill it before use)."""
    return _leaf(np.empty(_shape("empty", shape), _float_dtype(dtype)), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """The ``n`` by ``m`` identity matrix.

    >>> import autonet as an
    >>> an.eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _leaf(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` by ``step``; int64 for whole-number
    arguments, else float32.

    >>> import autonet as an
    >>> an.arange(4)
    tensor([0, 1, 2, 3])
    >>> an.arange(0, 1, 0.25)
    tensor([0.  , 0.25, 0.5 , 0.75])
    """
    if end is None:
        start, end = 0, start
    whole = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    dt = as_dtype(dtype) or (np.dtype(np.int64) if whole else get_default_dtype())
    return _leaf(np.arange(start, end, step, dtype=dt), requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive.

    >>> import autonet as an
    >>> an.linspace(0, 1, 3)
    tensor([0. , 0.5, 1. ])
    """
    return _leaf(np.linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad)


def zeros_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of ``t``."""
    a = np.asarray(t)
    return _leaf(np.zeros(a.shape, as_dtype(dtype) or a.dtype), requires_grad)


def ones_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype, unless given) of ``t``."""
    a = np.asarray(t)
    return _leaf(np.ones(a.shape, as_dtype(dtype) or a.dtype), requires_grad)


def full_like(t: Any, fill_value: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere, with the shape (and dtype, unless given) of ``t``."""
    a = np.asarray(t)
    return _leaf(np.full(a.shape, fill_value, as_dtype(dtype) or a.dtype), requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [0, 1).

    >>> import autonet as an
    >>> _ = an.manual_seed(0)
    >>> bool(((an.rand(100) >= 0) & (an.rand(100) < 1)).all())
    True
    """
    dt = _float_dtype(dtype)
    data = default_generator().random(_shape("rand", shape)).astype(dt, copy=False)
    return _leaf(data, requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Draws from the standard normal distribution.

    >>> import autonet as an
    >>> an.randn(2, 3).shape
    (2, 3)
    """
    dt = _float_dtype(dtype)
    data = default_generator().standard_normal(_shape("randn", shape)).astype(dt, copy=False)
    return _leaf(data, requires_grad)


def randint(low: int, high: Any = None, size: Any = (), dtype: Any = None) -> Tensor:
    """Integers drawn uniformly from ``[low, high)``; ``randint(high, size)`` starts at 0,
    as in PyTorch.

    >>> import autonet as an
    >>> an.randint(0, 10, (3,)).shape
    (3,)
    >>> an.randint(5, (2, 2)).dtype
    dtype('int64')
    """
    if isinstance(high, (tuple, list)):
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    size = _shape("randint", (size,))
    dt = as_dtype(dtype) or np.dtype(np.int64)
    return wrap(default_generator().integers(low, high, size, dtype=dt))


def rand_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform draws from [0, 1) with the shape of ``t``."""
    a = np.asarray(t)
    return rand(
        a.shape,
        dtype=dtype or (a.dtype if a.dtype.kind == "f" else None),
        requires_grad=requires_grad,
    )


def randn_like(t: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal draws with the shape of ``t``."""
    a = np.asarray(t)
    return randn(
        a.shape,
        dtype=dtype or (a.dtype if a.dtype.kind == "f" else None),
        requires_grad=requires_grad,
    )
