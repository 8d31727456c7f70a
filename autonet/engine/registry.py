"""Registering an operation: one decorator makes a function a Tensor method, an operator, and
the handler of a NumPy ufunc or function.

>>> import autonet as an
>>> t = an.tensor([1.0, 4.0])
>>> t.sqrt(), np.sqrt(t)          # both are autonet.sqrt, registered with ufunc=np.sqrt
(tensor([1., 2.]), tensor([1., 2.]))

The methods are set on :class:`~autonet.engine.tensor.Tensor` when the module that defines the
operation is imported. So that editors and type checkers see them too, ``tensor_methods.pyi``
lists every registered method with its signature; it is generated from this registry
(``python -m autonet.engine.stubgen``), and a test fails when it is out of date.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from autonet.engine.tensor import Tensor

F = TypeVar("F", bound=Callable[..., Any])

METHODS: dict[str, Callable[..., Any]] = {}  # method name -> the function
OPERATORS: dict[str, Callable[..., Any]] = {}  # "__add__" -> the function
UFUNCS: dict[np.ufunc, Callable[..., Any]] = {}  # np.add -> the function
NUMPY_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {}  # np.sum -> the function


def operation(
    method: bool | str = True,
    *,
    aliases: tuple[str, ...] = (),
    operators: tuple[str, ...] = (),
    ufunc: np.ufunc | None = None,
    numpy: Callable[..., Any] | tuple[Callable[..., Any], ...] = (),
) -> Callable[[F], F]:
    """Register the decorated function (whose first argument is a tensor):

    - ``method``: as a Tensor method of its own name (``True``), of another name (a string),
      or not at all (``False``); ``aliases``: more method names for it;
    - ``operators``: as operators (``"__add__"``);
    - ``ufunc`` / ``numpy``: as what ``np.add(t, u)`` / ``np.sum(t)`` run on tensors.
    """

    def register(fn: F) -> F:
        names = ([fn.__name__] if method is True else [method] if method else []) + list(aliases)
        for name in names:
            METHODS[name] = fn
            setattr(Tensor, name, fn)
        for name in operators:
            OPERATORS[name] = fn
            setattr(Tensor, name, fn)
        if ufunc is not None:
            UFUNCS[ufunc] = fn
        for f in numpy if isinstance(numpy, tuple) else (numpy,):
            NUMPY_FUNCTIONS[f] = fn
        return fn

    return register
