"""Comparisons, logical operators and sign: results without gradient.

``t < 0`` gives a bool tensor (a mask): comparing has no derivative, so these results never
require grad, whatever their inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, wrap

__all__ = [
    "eq",
    "ge",
    "gt",
    "isfinite",
    "isnan",
    "le",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "ne",
    "sign",
]


def _value(v: Any) -> Any:
    return v.data if isinstance(v, Tensor) else v


def _no_grad(ufunc: np.ufunc, *args: Any) -> Tensor:
    return wrap(np.asarray(ufunc(*[_value(a) for a in args])))


@operation(operators=("__lt__",), ufunc=np.less)
def lt(a: Any, b: Any) -> Tensor:
    """``a < b`` elementwise (a bool tensor).

    >>> import autonet as an
    >>> an.tensor([1.0, 3.0]) < 2
    tensor([ True, False])
    """
    return _no_grad(np.less, a, b)


@operation(operators=("__le__",), ufunc=np.less_equal)
def le(a: Any, b: Any) -> Tensor:
    """``a <= b`` elementwise."""
    return _no_grad(np.less_equal, a, b)


@operation(operators=("__gt__",), ufunc=np.greater)
def gt(a: Any, b: Any) -> Tensor:
    """``a > b`` elementwise."""
    return _no_grad(np.greater, a, b)


@operation(operators=("__ge__",), ufunc=np.greater_equal)
def ge(a: Any, b: Any) -> Tensor:
    """``a >= b`` elementwise."""
    return _no_grad(np.greater_equal, a, b)


@operation(operators=("__eq__",), ufunc=np.equal)
def eq(a: Any, b: Any) -> Tensor:
    """``a == b`` elementwise (a bool tensor, not a single truth value).

    >>> import autonet as an
    >>> an.tensor([1, 2]) == an.tensor([1, 3])
    tensor([ True, False])
    """
    return _no_grad(np.equal, a, b)


@operation(operators=("__ne__",), ufunc=np.not_equal)
def ne(a: Any, b: Any) -> Tensor:
    """``a != b`` elementwise."""
    return _no_grad(np.not_equal, a, b)


@operation(False, operators=("__and__",), ufunc=np.bitwise_and)
def logical_and(a: Any, b: Any) -> Tensor:
    """``a & b``: elementwise and of bool (or bitwise and of integer) tensors."""
    return _no_grad(np.bitwise_and, a, b)


@operation(False, operators=("__or__",), ufunc=np.bitwise_or)
def logical_or(a: Any, b: Any) -> Tensor:
    """``a | b``."""
    return _no_grad(np.bitwise_or, a, b)


@operation(False, operators=("__xor__",), ufunc=np.bitwise_xor)
def logical_xor(a: Any, b: Any) -> Tensor:
    """``a ^ b``."""
    return _no_grad(np.bitwise_xor, a, b)


@operation(False, operators=("__invert__",), ufunc=np.invert)
def logical_not(a: Any) -> Tensor:
    """``~a``.

    >>> import autonet as an
    >>> ~(an.tensor([1.0, -1.0]) > 0)
    tensor([False,  True])
    """
    return _no_grad(np.invert, a)


@operation(ufunc=np.sign)
def sign(x: Any) -> Tensor:
    """-1, 0 or 1 by the sign of each element; its derivative is 0 wherever it exists, so the
    result has no gradient.

    >>> import autonet as an
    >>> an.sign(an.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.])
    """
    return _no_grad(np.sign, x)


@operation(ufunc=np.isnan)
def isnan(x: Any) -> Tensor:
    """True where an element is NaN."""
    return _no_grad(np.isnan, x)


@operation(ufunc=np.isfinite)
def isfinite(x: Any) -> Tensor:
    """True where an element is neither infinite nor NaN."""
    return _no_grad(np.isfinite, x)
