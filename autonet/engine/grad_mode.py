"""Gradient mode: whether operations record the graph.

``no_grad`` turns recording off (evaluation, optimizer updates); ``enable_grad`` turns it back
on inside a ``no_grad`` block. Both work as context managers and as decorators.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    # Read on every operation, so kept as a plain class attribute.
    enabled: bool = True
    # The number (from next_seq) of the latest in-place change to a tensor: a node recorded
    # after it (a larger seq) cannot have saved a value that changed since.
    last_change: int = -1


# Numbers the events of the graph in the order they happen: every recorded node (its seq) and
# every in-place change.
next_seq = itertools.count().__next__


def is_grad_enabled() -> bool:
    """True when operations are being recorded.

    >>> import autonet as an
    >>> an.is_grad_enabled()
    True
    """
    return _State.enabled


class set_grad_enabled(contextlib.AbstractContextManager):
    """Turn recording on or off for the duration of a ``with`` block (or a decorated function).

    >>> import autonet as an
    >>> with an.set_grad_enabled(False):
    ...     an.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._saved: list[bool] = []

    def __enter__(self) -> None:
        self._saved.append(_State.enabled)
        _State.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _State.enabled = self._saved.pop()

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(self.mode):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(set_grad_enabled):
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


class enable_grad(set_grad_enabled):
    """Record operations again, even inside ``no_grad``.

    >>> import autonet as an
    >>> with an.no_grad():
    ...     with an.enable_grad():
    ...         an.is_grad_enabled()
    True
    """

    def __init__(self) -> None:
        super().__init__(True)
