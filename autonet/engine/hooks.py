"""Hooks: functions the backward pass calls with the gradients it computes, as in PyTorch.

- ``tensor.register_hook(fn)``: ``fn(grad)`` when the gradient with respect to ``tensor`` is
  complete (a leaf's before it is added to ``.grad``); a returned tensor replaces it.
- ``node.register_prehook(fn)``: ``fn(grad_outputs)`` before a node's backward runs;
  ``node.register_hook(fn)``: ``fn(grad_inputs, grad_outputs)`` after it. A returned tuple
  replaces the gradients. (``node`` is a tensor's ``grad_fn``.)

Each ``register_*`` returns a :class:`RemovableHandle`; ``handle.remove()`` takes the hook away.
Hooks run in the order they were registered. On a node, the tensor's hooks run first, then
the gradient is kept for ``retain_grad()``, then the node's pre-hooks.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])
_next_id = itertools.count().__next__


class RemovableHandle:
    """What ``register_*hook`` returns: ``remove()`` unregisters the hook (again is harmless).
    Also a context manager that removes the hook at the end of the block.

    >>> import autonet as an
    >>> x = an.tensor(1.0, requires_grad=True)
    >>> with x.register_hook(lambda g: g * 10):
    ...     (x * 2).backward()
    >>> (x * 2).backward(); x.grad       # 20 from the first pass, 2 from the second
    tensor(22.)
    """

    __slots__ = ("_tables", "id")

    def __init__(self, *tables: dict[int, Any]) -> None:
        self.id = _next_id()  # NOTE: from a counter, not id(): two hooks never share a key
        self._tables = tables

    def add(self, fn: Any) -> RemovableHandle:
        for table in self._tables:
            table[self.id] = fn
        return self

    def remove(self) -> None:
        for table in self._tables:
            table.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class NodeHooks:
    """The hooks of one node (created on a node's first hook; nodes without hooks hold
    ``None``, so the backward pass pays one test per node for the feature)."""

    __slots__ = ("post", "pre", "retained", "tensor")

    def __init__(self) -> None:
        self.tensor: dict[int, Callable[[Any], Any]] = {}  # fn(grad) from tensor.register_hook
        self.retained: weakref.ref | None = None  # the tensor that called retain_grad()
        self.pre: dict[int, Callable[[tuple], Any]] = {}  # fn(grad_outputs)
        self.post: dict[int, Callable[[tuple, tuple], Any]] = {}  # fn(grad_inputs, grad_outputs)


# The hooks of leaf tensors, by id: (a weak reference to the leaf, its hooks). Kept beside the
# tensors rather than in a slot of each, since few leaves ever have hooks; the backward pass
# looks here only when the table is not empty.
leaf_hooks: dict[int, tuple[weakref.ref, dict[int, Callable[[Any], Any]]]] = {}


def hooks_of_leaf(leaf: Any, create: bool = False) -> dict[int, Callable[[Any], Any]] | None:
    """The hooks registered on ``leaf`` (made empty when ``create``), or ``None``."""
    key = id(leaf)
    entry = leaf_hooks.get(key)
    if entry is not None and entry[0]() is leaf:
        return entry[1]
    if not create:
        return None

    def forget(ref: weakref.ref) -> None:
        if leaf_hooks.get(key, (None,))[0] is ref:
            del leaf_hooks[key]

    table: dict[int, Callable[[Any], Any]] = {}
    leaf_hooks[key] = (weakref.ref(leaf, forget), table)
    return table


def run_tensor_hooks(hooks: dict[int, Callable[[Any], Any]], grad: Any) -> Any:
    """Call each ``fn(grad)`` in order; a returned value replaces the gradient for the rest."""
    for fn in list(hooks.values()):
        changed = fn(grad)
        if changed is not None:
            _same_shape(fn, grad, changed)
            grad = changed
    return grad


def run_grad_hooks(hooks: dict[int, Callable[..., Any]], grads: tuple, *more: tuple) -> tuple:
    """Call each ``fn(grads, *more)`` in order; a returned tuple replaces ``grads``."""
    for fn in list(hooks.values()):
        changed = fn(grads, *more)
        if changed is not None:
            changed = tuple(changed)
            if len(changed) != len(grads):
                raise RuntimeError(
                    f"hook {_name(fn)} returned {len(changed)} gradients, expected {len(grads)}"
                )
            for old, new in zip(grads, changed):
                if old is not None and new is not None:
                    _same_shape(fn, old, new)
            grads = changed
    return grads


def _same_shape(fn: Any, old: Any, new: Any) -> None:
    if np.shape(new) != np.shape(old):
        raise RuntimeError(
            f"hook {_name(fn)} changed the shape of a gradient from {np.shape(old)} to "
            f"{np.shape(new)}; a hook may change the values, not the shape"
        )


def _name(fn: Any) -> str:
    return repr(getattr(fn, "__qualname__", fn))


# ---- named composite operations: what a drawing can show as one labelled group ------------

# watcher(name, arguments) -> a function called with the result (or None when it raised)
_composite_watchers: dict[int, Callable[[str, dict[str, Any]], Any]] = {}


def watch_composites(watcher: Callable[[str, dict[str, Any]], Any]) -> RemovableHandle:
    """Call ``watcher(name, arguments)`` when a function marked :func:`composite` is called
    (its arguments by parameter name); what it returns, if not None, is called with the
    function's result when it returns (with ``None`` if it raised). ``autonet.viz.trace``
    uses this to draw a loss computed by ``mse_loss`` as one group, its target labelled."""
    return RemovableHandle(_composite_watchers).add(watcher)


def composite(name: str) -> Callable[[F], F]:
    """Mark a function made of several operations (a loss, say) as one named operation that
    watchers can see (:func:`watch_composites`). Unwatched, a call costs one test.

    >>> import autonet as an
    >>> @composite("double")
    ... def double(x):
    ...     return x + x
    >>> seen = []
    >>> with watch_composites(lambda name, args: seen.append((name, sorted(args)))):
    ...     _ = double(an.ones(2))
    >>> seen
    [('double', ['x'])]
    """

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            if not _composite_watchers:
                return fn(*args, **kwargs)
            arguments = dict(signature.bind(*args, **kwargs).arguments)
            finish = [w(name, arguments) for w in list(_composite_watchers.values())]
            result = None
            try:
                result = fn(*args, **kwargs)
            finally:
                for done in reversed(finish):
                    if done is not None:
                        done(result)
            return result

        return call  # type: ignore[return-value]

    return decorate
