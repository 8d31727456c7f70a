"""Gradient mode: whether operations record the graph, for this thread (and async task) only.

``no_grad`` turns recording off (evaluation, optimizer updates); ``enable_grad`` turns it back
on inside a ``no_grad`` block; ``set_grad_enabled(mode)`` sets it either way. All three work as
context managers and as decorators, generator functions included.

The mode lives in a :class:`contextvars.ContextVar`: every thread, and every asyncio task,
sees its own. A ``no_grad`` block in one thread leaves recording on in the others, and a
backward pass (which records only with ``create_graph=True``) changes the mode of its own
thread alone.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# True while operations are recorded. Read on every operation: ``grad_enabled()`` is the
# ContextVar's own ``get``, as cheap as reading a global.
_grad_enabled: ContextVar[bool] = ContextVar("autonet_grad_enabled", default=True)
grad_enabled = _grad_enabled.get
set_grad_mode = _grad_enabled.set
reset_grad_mode = _grad_enabled.reset
# the modes that the enclosing with-blocks restore on exit, innermost last (see _GradMode)
_restore: ContextVar[tuple[bool, ...]] = ContextVar("autonet_grad_restore", default=())


def is_grad_enabled() -> bool:
    """True when operations are being recorded (in this thread).

    >>> import autonet as an
    >>> an.is_grad_enabled()
    True
    """
    return _grad_enabled.get()


class _GradMode:
    """Sets the grad mode on entry to a ``with`` block and restores it on exit. As a decorator
    it does the same around every call of the function, and around every step of a generator
    function, so that the mode holds inside the generator however the caller's mode changes
    between steps.

    NOTE: the mode to restore is kept on a stack that belongs to the context (thread or
    asyncio task), not to this object, so that one ``no_grad()`` object can be entered by
    several threads or tasks at once.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)

    def __enter__(self) -> None:
        _restore.set((*_restore.get(), _grad_enabled.get()))
        _grad_enabled.set(self.mode)

    def __exit__(self, *exc: object) -> None:
        *rest, previous = _restore.get()
        _restore.set(tuple(rest))
        _grad_enabled.set(previous)

    def __call__(self, fn: F) -> F:
        mode = self.mode
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(mode, fn)  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _GradMode(mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def _wrap_generator(mode: bool, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A generator function whose body always runs with grad mode ``mode``: the mode is set
    each time the generator resumes and restored each time it yields, so the caller's code
    between two ``next()`` calls keeps its own mode."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        gen = fn(*args, **kwargs)
        resume = gen.send
        value: Any = None
        while True:
            try:
                with _GradMode(mode):
                    item = resume(value)
            except StopIteration as stop:
                return stop.value
            try:
                value = yield item
                resume = gen.send
            except GeneratorExit:
                with _GradMode(mode):  # its clean-up runs in its mode too
                    gen.close()
                raise
            except BaseException as e:  # thrown in by the caller: pass it on, inside the mode
                value, resume = e, gen.throw

    return wrapper


class set_grad_enabled(_GradMode):
    """Turn recording on or off. As in PyTorch, a plain call sets the mode at once (until
    changed again); in a ``with`` statement the previous mode comes back at the end; as a
    decorator the mode holds inside the function only.

    >>> import autonet as an
    >>> with an.set_grad_enabled(False):
    ...     an.is_grad_enabled()
    False
    >>> an.is_grad_enabled()
    True
    >>> _ = an.set_grad_enabled(False); an.is_grad_enabled()
    False
    >>> _ = an.set_grad_enabled(True)
    """

    def __init__(self, mode: bool) -> None:
        super().__init__(mode)
        self._previous = _grad_enabled.get()
        _grad_enabled.set(self.mode)  # a plain call takes effect now

    def __enter__(self) -> None:
        _grad_enabled.set(self.mode)  # (set when the object was made; again if re-entered)

    def __exit__(self, *exc: object) -> None:
        _grad_enabled.set(self._previous)

    def __call__(self, fn: F) -> F:
        _grad_enabled.set(self._previous)  # decorating is not a call: leave the mode as it was
        return super().__call__(fn)


class no_grad(_GradMode):
    """Do not record operations: nothing is kept for a backward pass.

    >>> import autonet as an
    >>> w = an.ones(2, requires_grad=True)
    >>> with an.no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_GradMode):
    """Record operations again, even inside ``no_grad``.

    >>> import autonet as an
    >>> with an.no_grad():
    ...     with an.enable_grad():
    ...         an.is_grad_enabled()
    True
    """

    def __init__(self) -> None:
        super().__init__(True)
