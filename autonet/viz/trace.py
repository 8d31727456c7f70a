"""Tracing a computation for drawings: which module call each recorded operation belongs to.

The engine records operations, not modules. Inside ``with an.viz.trace():`` every module call
is noted (through the module hooks every module offers, :mod:`autonet.nn.hooks`): the module,
the nodes its inputs came from, and the node of its output. ``draw_graph`` then draws the
operations of each call inside a box labelled with the module. Outside a trace nothing is
noted, and a drawing shows the operations alone.

>>> import autonet as an
>>> net = an.nn.Sequential(an.nn.Linear(2, 3), an.nn.Tanh())
>>> with an.viz.trace() as tr:
...     y = net(an.ones(1, 2))
>>> [type(call.module).__name__ for call in tr.calls]
['Linear', 'Tanh', 'Sequential']
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from typing import Any, NamedTuple

from autonet.engine.function import Function
from autonet.engine.tensor import Tensor
from autonet.nn.hooks import register_module_forward_hook, register_module_forward_pre_hook

_active: ContextVar[trace | None] = ContextVar("autonet_viz_trace", default=None)
# output node -> the module calls that returned it, innermost first; kept as long as the node
_calls_by_node: weakref.WeakKeyDictionary[Function, list[ModuleCall]] = weakref.WeakKeyDictionary()


class ModuleCall(NamedTuple):
    """One module call seen by a trace: the module, where its tensor inputs came from (their
    nodes, or the leaf tensors), and the node of its output."""

    module: Any
    inputs: tuple[Any, ...]
    output: Function


def module_calls(node: Function) -> list[ModuleCall]:
    """The traced module calls whose output ``node`` produced, innermost first."""
    return _calls_by_node.get(node, [])


class trace:
    """Within this context (in this thread), note every module call so that drawings can
    group each call's operations (see the module docstring). ``calls`` lists them in the
    order they returned."""

    def __init__(self) -> None:
        self.calls: list[ModuleCall] = []
        self._entered: list[tuple[Any, ...]] = []  # a stack: the inputs of open calls
        self._handles: list[Any] = []
        self._token: Any = None

    def __enter__(self) -> trace:
        self._token = _active.set(self)
        self._handles = [
            register_module_forward_pre_hook(self._before),
            register_module_forward_hook(self._after),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        _active.reset(self._token)

    def _before(self, module: Any, args: tuple[Any, ...]) -> None:
        if _active.get() is self:
            edges = tuple(a.grad_fn or a for a in args if isinstance(a, Tensor))
            self._entered.append(edges)

    def _after(self, module: Any, args: tuple[Any, ...], out: Any) -> None:
        if _active.get() is not self or not self._entered:
            return
        edges = self._entered.pop()
        node = out.grad_fn if isinstance(out, Tensor) else None
        if node is not None:
            call = ModuleCall(module, edges, node)
            self.calls.append(call)
            _calls_by_node.setdefault(node, []).append(call)
