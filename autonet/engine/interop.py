"""NumPy interoperability: NumPy functions and operators applied to Tensors give Tensors.

``ndarray * t``, ``np.float32(2) * t``, ``np.exp(t)``, ``np.sum(t, axis=0)`` and
``np.concatenate([t, u])`` run autonet's own operations, so they are recorded and
differentiable. That is also what lets one ``backward`` serve two speeds: written with
``np.exp``, ``np.where`` or ``np.broadcast_to``, it runs on arrays in a plain backward and on
Tensors when ``create_graph=True``.

A NumPy function autonet has no gradient for still works on Tensors for results that carry no
gradient (``np.isclose``, ``np.argsort``) or when nothing requires grad; it refuses to drop a
gradient silently (``np.diff(w)`` with ``w.requires_grad``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine import factories, ops
from autonet.engine.grad_mode import grad_enabled
from autonet.engine.registry import NUMPY_FUNCTIONS, UFUNCS
from autonet.engine.tensor import Tensor, wrap

# NumPy functions that are not one autonet operation, but are made of them.
UFUNCS[np.positive] = lambda x: x
UFUNCS[np.square] = lambda x: ops.mul(x, x)


def _transpose(a: Any, axes: Any = None) -> Tensor:
    return ops.transpose(a) if axes is None else ops.transpose(a, tuple(axes))


def _dot(a: Any, b: Any) -> Any:
    if np.ndim(a) <= 2 and np.ndim(b) <= 2:
        return ops.mul(a, b) if np.ndim(a) == 0 or np.ndim(b) == 0 else ops.matmul(a, b)
    return NotImplemented


def _where(condition: Any, *xy: Any) -> Any:
    return ops.where(condition, *xy) if len(xy) == 2 else NotImplemented


def _like(factory: Any) -> Any:
    def like(a: Any, dtype: Any = None, **kwargs: Any) -> Tensor:
        return factory(a, dtype=dtype)

    return like


NUMPY_FUNCTIONS.update({
    np.transpose: _transpose,
    np.dot: _dot,
    np.where: _where,
    np.zeros_like: _like(factories.zeros_like),
    np.ones_like: _like(factories.ones_like),
})  # fmt: skip


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: Any) -> Any:
    """``Tensor.__array_ufunc__``: a NumPy ufunc called on tensors."""
    fn = UFUNCS.get(ufunc)
    if fn is not None and method == "__call__" and not kwargs:
        return fn(*inputs)
    name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
    return _without_gradient(name, getattr(ufunc, method), inputs, kwargs)


def array_function(func: Any, args: Any, kwargs: Any) -> Any:
    """``Tensor.__array_function__``: a NumPy function called on tensors."""
    fn = NUMPY_FUNCTIONS.get(func)
    if fn is not None:
        result = fn(*args, **kwargs)
        if result is not NotImplemented:
            return result
    return _without_gradient(f"np.{func.__name__}", func, args, kwargs)


def _without_gradient(name: str, func: Any, args: Any, kwargs: Any) -> Any:
    """Run a NumPy function autonet cannot differentiate on the tensors' arrays. Refused when
    the result is floating and an input requires grad: that gradient would be lost."""
    needs_grad = [False]
    plain_args = _unwrap(args, needs_grad)
    plain_kwargs = _unwrap(kwargs, needs_grad)
    result = func(*plain_args, **plain_kwargs)
    if needs_grad[0] and grad_enabled() and _floating(result):
        raise TypeError(
            f"{name} is not differentiable in autonet, and an input requires grad; use an "
            "autonet operation, or apply it to t.detach() if no gradient should flow"
        )
    if "out" in kwargs:
        return result
    return _wrap(result)


def _unwrap(v: Any, needs_grad: list[bool]) -> Any:
    if isinstance(v, Tensor):
        needs_grad[0] = needs_grad[0] or v._requires_grad
        return v.data
    if isinstance(v, (list, tuple)):
        return type(v)(_unwrap(x, needs_grad) for x in v)
    if isinstance(v, dict):
        return {k: _unwrap(x, needs_grad) for k, x in v.items()}
    return v


def _floating(v: Any) -> bool:
    if isinstance(v, (list, tuple)):
        return any(_floating(x) for x in v)
    return np.asarray(v).dtype.kind in "fc" if isinstance(v, (np.ndarray, np.generic)) else False


def _wrap(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return wrap(v)
    if isinstance(v, tuple):
        return tuple(_wrap(x) for x in v)
    if isinstance(v, list):
        return [_wrap(x) for x in v]
    return v
