"""Module hooks: functions called around a module's forward, and with its gradients.

- ``register_forward_pre_hook(fn)``: ``fn(module, args)`` before ``forward``; a returned value
  replaces the positional arguments (a tuple, or one value).
- ``register_forward_hook(fn)``: ``fn(module, args, output)`` after it; a returned value
  replaces the output.
- ``register_full_backward_pre_hook(fn)``: ``fn(module, grad_output)`` when the gradients with
  respect to the module's outputs are known; a returned tuple replaces them.
- ``register_full_backward_hook(fn)``: ``fn(module, grad_input, grad_output)`` when the
  gradients with respect to the module's tensor inputs are known; a returned tuple replaces
  ``grad_input``. An input that is not a tensor requiring grad has ``None`` there.
- ``register_module_forward_pre_hook`` / ``register_module_forward_hook``: the same as the
  first two, for every module (what drawings use to see module calls).

All return a :class:`~autonet.engine.hooks.RemovableHandle`. The semantics are PyTorch's.

How backward hooks see the gradients of a whole call: the call's tensor inputs pass through
one node (:class:`Gather`) whose output is cut back into them, and so do its outputs. The
engine reaches that node once all gradients meant for its inputs have arrived, so one node
hook sees them together. Modules without backward hooks pay nothing for this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autonet.engine.function import Function
from autonet.engine.grad_mode import no_grad
from autonet.engine.hooks import RemovableHandle, run_grad_hooks
from autonet.engine.ops import concatenate
from autonet.engine.tensor import Tensor, tensors_in

# Hooks called for every module (register_module_forward_pre_hook and friends).
global_forward_pre_hooks: dict[int, Callable[..., Any]] = {}
global_forward_hooks: dict[int, Callable[..., Any]] = {}


def register_module_forward_pre_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Call ``hook(module, args)`` before every module's forward (see this module's docstring).

    >>> import autonet as an
    >>> seen = []
    >>> handle = an.nn.register_module_forward_pre_hook(lambda m, a: seen.append(type(m).__name__))
    >>> _ = an.nn.Sequential(an.nn.Linear(2, 2), an.nn.Tanh())(an.ones(1, 2))
    >>> handle.remove(); seen
    ['Sequential', 'Linear', 'Tanh']
    """
    return RemovableHandle(global_forward_pre_hooks).add(hook)


def register_module_forward_hook(hook: Callable[..., Any]) -> RemovableHandle:
    """Call ``hook(module, args, output)`` after every module's forward."""
    return RemovableHandle(global_forward_hooks).add(hook)


class Gather(Function):
    """y = the inputs flattened and joined into one vector;  dL/dxᵢ = gᵢ, the part of g that
    came from xᵢ, in xᵢ's shape. A single input is only flattened (a view, no copy)."""

    name = "gather"
    saves_inputs = "shape"

    def forward(self, *xs):
        if len(xs) == 1:
            return xs[0].reshape(-1)
        return np.concatenate([x.reshape(-1) for x in xs])

    def backward(self, g, y, *xs):
        parts, start = [], 0
        for x in xs:
            parts.append(g[start : start + x.size].reshape(x.shape))
            start += x.size
        return tuple(parts)


def _gathered(tensors: list[Tensor]) -> tuple[Tensor, list[Tensor]]:
    """One Gather node over ``tensors``, and each tensor cut back out of it."""
    joined = Gather.apply(*tensors)
    parts, start = [], 0
    for t in tensors:
        part = joined[start : start + t.data.size].reshape(t.shape)
        parts.append(part if part.dtype == t.dtype else part.astype(t.dtype))
        start += t.data.size
    return joined, parts


def _replaced(value: Any, new: dict[int, Tensor]) -> Any:
    """``value`` with each tensor ``t`` replaced by ``new[id(t)]`` (structure kept)."""
    if isinstance(value, Tensor):
        return new.get(id(value), value)
    if isinstance(value, (tuple, list)):
        return type(value)(_replaced(v, new) for v in value)
    return value


class BackwardHookCall:
    """One module call with backward hooks: gathers its inputs and outputs (see the module
    docstring) and calls the hooks with ``grad_input`` and ``grad_output``."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.grad_output: tuple[Any, ...] | None = None
        self.n_inputs = 0
        self.input_slots: list[int] = []  # positions of the inputs that were gathered

    def inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_inputs = len(args)
        chosen = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        self.input_slots = chosen
        if not chosen:
            return args
        joined, parts = _gathered([args[i] for i in chosen])
        joined.grad_fn.register_hook(self._inputs_done)
        new = list(args)
        for i, part in zip(chosen, parts):
            new[i] = part
        return tuple(new)

    def outputs(self, out: Any) -> Any:
        tensors = tensors_in(out)
        self.output_slots = [i for i, t in enumerate(tensors) if t.requires_grad]
        self.n_outputs = len(tensors)
        chosen = [tensors[i] for i in self.output_slots]
        if not chosen:
            return out
        self.output_shapes = [t.shape for t in chosen]
        joined, parts = _gathered(chosen)
        joined.grad_fn.register_prehook(self._outputs_done)
        return _replaced(out, {id(t): p for t, p in zip(chosen, parts)})

    def _split(self, g: Tensor) -> list[Tensor]:
        """The gradients of the gathered outputs, cut back out of the gathered gradient."""
        parts, start = [], 0
        with no_grad():
            for shape in self.output_shapes:
                size = int(np.prod(shape, dtype=np.int64))
                parts.append(g[start : start + size].reshape(shape))
                start += size
        return parts

    def _outputs_done(self, grads: tuple[Tensor]) -> tuple[Tensor] | None:
        full: list[Any] = [None] * self.n_outputs  # None for an output that needs no grad
        for i, g in zip(self.output_slots, self._split(grads[0])):
            full[i] = g
        grad_output = tuple(full)
        module = self.module
        changed = False
        for hook in list(module._backward_pre_hooks.values()):
            result = hook(module, grad_output)
            if result is not None:
                grad_output, changed = tuple(result), True
        self.grad_output = grad_output
        if not self.input_slots:  # no input needs a gradient: the hooks are called now
            self._call_hooks((None,) * self.n_inputs)
        if changed:
            gathered = [grad_output[i].reshape(-1) for i in self.output_slots]
            return (concatenate(gathered).astype(grads[0].dtype),)
        return None

    def _inputs_done(self, grad_inputs: tuple[Any, ...], grad_outputs: tuple) -> Any:
        full: list[Any] = [None] * self.n_inputs
        for i, g in zip(self.input_slots, grad_inputs):
            full[i] = g
        new = self._call_hooks(tuple(full))
        return tuple(new[i] for i in self.input_slots)

    def _call_hooks(self, grad_input: tuple[Any, ...]) -> tuple[Any, ...]:
        module = self.module
        grad_output = self.grad_output if self.grad_output is not None else ()
        return run_grad_hooks(
            {k: (lambda gi, go, fn=fn: fn(module, gi, go))
             for k, fn in module._backward_hooks.items()},
            grad_input, grad_output,
        )  # fmt: skip
