"""Tracing a computation: every value and gradient of its graph, the backward pass step by step,
and the module call each operation belongs to.

Inside ``with an.viz.trace() as tr:`` every operation that is recorded keeps, in the trace, the
value it produced and, once ``backward`` has run, the gradient that reached it and the
gradients it sent to its inputs. Nothing about the model changes and nothing needs
``retain_grad``. ``tr.steps`` is the backward pass in order, one step per operation, with the
local rule that operation applies (the ``dy/dx = ...`` of its primitive's docstring).
``draw_graph(loss)`` after a traced backward shows data and grad on every node, and
``draw_graph(tr)`` draws the trace itself.

It is built from public mechanisms only: the engine's :func:`~autonet.engine.function.
watch_recording` sees each node as it is recorded, node hooks see the gradients, and module
hooks (:mod:`autonet.nn.hooks`) see the module calls. Outside a trace none of them is in place,
so nothing costs anything.

>>> import autonet as an
>>> x = an.tensor([1.0, -2.0], requires_grad=True)
>>> with an.viz.trace() as tr:
...     y = (x * 3).tanh().sum()
...     y.backward()
>>> [step.label for step in tr.steps]
['sum', 'tanh', 'mul']
>>> tr.steps[1].rule
'dy/dx = 1 - tanh²x = 1 - y²'
>>> tr.record_of(y.grad_fn).value.array
array(-0.00493..., dtype=float32)
"""

from __future__ import annotations

import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autonet.engine.function import Function, watch_recording
from autonet.engine.grad_mode import grad_enabled
from autonet.engine.hooks import watch_composites
from autonet.engine.tensor import Tensor, tensors_in
from autonet.engine.versions import owner
from autonet.nn.hooks import register_module_forward_hook, register_module_forward_pre_hook

_active: ContextVar[trace | None] = ContextVar("autonet_viz_trace", default=None)
# What traces noted of nodes, kept as long as the node: its record, and the module calls that
# returned its output (innermost first).
_records: weakref.WeakKeyDictionary[Function, NodeRecord] = weakref.WeakKeyDictionary()
_calls_by_node: weakref.WeakKeyDictionary[Function, list[ModuleCall]] = weakref.WeakKeyDictionary()


@dataclass
class Summary:
    """What a trace keeps of one array: the array itself (a copy) when it has at most
    ``max_elements`` elements, else its shape, dtype and statistics."""

    shape: tuple[int, ...]
    dtype: str
    array: np.ndarray | None
    min: float
    mean: float
    max: float
    norm: float
    nans: int
    infs: int

    @classmethod
    def of(cls, a: Any, max_elements: int) -> Summary:
        a = np.asarray(a.data if isinstance(a, Tensor) else a)
        finite = a[np.isfinite(a)] if a.dtype.kind in "fc" else a
        stats = [float(f(finite)) if finite.size else float("nan")
                 for f in (np.min, np.mean, np.max)]  # fmt: skip
        return cls(
            shape=tuple(a.shape),
            dtype=str(a.dtype),
            array=np.array(a) if a.size <= max_elements else None,
            min=stats[0],
            mean=stats[1],
            max=stats[2],
            norm=float(np.sqrt(np.sum(np.square(finite, dtype=np.float64)))),
            nans=int(np.isnan(a).sum()) if a.dtype.kind == "f" else 0,
            infs=int(np.isinf(a).sum()) if a.dtype.kind == "f" else 0,
        )

    def stats_text(self) -> str:
        """``min -1.2 mean 0.03 max 2.4 norm 5.1`` (and NaN/inf counts when there are any)."""
        text = f"min {self.min:.4g} mean {self.mean:.4g} max {self.max:.4g} norm {self.norm:.4g}"
        if self.nans:
            text += f" NaN×{self.nans}"
        if self.infs:
            text += f" inf×{self.infs}"
        return text


@dataclass
class NodeRecord:
    """What a trace keeps of one recorded operation."""

    node: Function
    label: str  # "sum(axis=1)"
    rule: str  # "dy/dx = 1"
    module: str | None  # the innermost module call it ran in: "layers.2 (Linear)"
    value: Summary  # the value it produced
    input_shapes: list[tuple[int, ...] | None]
    names: dict[int, str]  # the trace's names of tensors (parameters, buffers, "input")
    grad: Summary | None = None  # the gradient that reached its output in backward
    input_grads: list[Summary | None] = field(default_factory=list)  # what it sent back
    step: int | None = None  # its place in tr.steps


@dataclass
class Step:
    """One step of the backward pass: an operation applies its local rule to the gradient
    that reached its output and sends a gradient to each input."""

    index: int
    record: NodeRecord

    @property
    def label(self) -> str:
        return self.record.label

    @property
    def rule(self) -> str:
        return self.record.rule

    @property
    def grad_output(self) -> Summary | None:
        return self.record.grad

    @property
    def grad_inputs(self) -> list[Summary | None]:
        return self.record.input_grads


class ModuleCall:
    """One call seen by a trace: of a module, or of a named composite operation such as
    ``mse_loss`` (``module`` is then ``None``). ``name`` is the module's name in the model
    (``layers.2``, or ``""`` for the model itself) or the operation's name; ``inputs`` are
    where its tensor inputs came from (their nodes, or the leaf tensors); ``output`` is the
    node of its output."""

    def __init__(self, module: Any, name: str, inputs: tuple[Any, ...], output: Function) -> None:
        self.module = module
        self.name = name
        self.inputs = inputs
        self.output = output

    def __iter__(self) -> Any:  # (module, inputs, output), as a tuple would give
        return iter((self.module, self.inputs, self.output))

    @property
    def path(self) -> str:
        """``layers.2 (Linear)``, the class name for the model itself, or the operation's
        name (``mse_loss``)."""
        if self.module is None:
            return self.name
        kind = type(self.module).__name__
        return f"{self.name} ({kind})" if self.name else kind


def module_calls(node: Function) -> list[ModuleCall]:
    """The traced module calls whose output ``node`` produced, innermost first."""
    return _calls_by_node.get(node, [])


def record_of(node: Function) -> NodeRecord | None:
    """What a trace noted of ``node``, or ``None`` when it was not recorded in a trace."""
    return _records.get(node)


def rule_of(node: Function) -> str:
    """The local rule of a node's primitive, from its docstring: the part after ``;`` of the
    first line that states it (``y = tanh x;  dy/dx = 1 - y²`` gives ``dy/dx = 1 - y²``)."""
    doc = type(node).__doc__ or ""
    text = " ".join(line.strip() for line in doc.strip().split("\n\n")[0].splitlines())
    if ";" in text:
        text = text.split(";", 1)[1]
    return text.strip().rstrip(".")


class trace:
    """Within this context (in this thread), keep every recorded operation's value and, in
    backward, its gradients; note every module call (see the module docstring).

    ``max_elements``: arrays up to this many elements are kept whole, larger ones as shape,
    dtype and statistics. ``records`` lists what was kept of each operation in the order they
    ran, ``steps`` the backward pass, ``calls`` the module calls (and calls of named composite
    operations such as ``mse_loss``) in the order they returned.

    ``record_inputs``: operations on a model's input are recorded only if it requires grad;
    so that the drawing starts from the input itself (not, say, the unfolded image of a
    convolution), the outermost module call gets, in place of an input that needs no
    gradient, a leaf on the same memory that does (its gradient is computed and dropped).
    """

    def __init__(self, max_elements: int = 10_000, record_inputs: bool = True) -> None:
        self.max_elements = max_elements
        self.record_inputs = record_inputs
        self.records: list[NodeRecord] = []
        self.steps: list[Step] = []
        self.calls: list[ModuleCall] = []
        # id(tensor) -> name: parameters, buffers, "input", "target"; also, for a buffer, the
        # id of its memory (see name_of), so that a view of it (a reshaped running mean) is
        # named too
        self.names: dict[int, str] = {}
        self._open: list[tuple[Any, str, tuple[Any, ...]]] = []  # calls not yet returned
        self._module_names: dict[int, str] = {}  # id(module) -> its name in the model called
        self._handles: list[Any] = []
        self._token: Any = None

    # ---- the context ----------------------------------------------------------------------
    def __enter__(self) -> trace:
        self._token = _active.set(self)
        self._handles = [
            watch_recording(self._recorded),
            register_module_forward_pre_hook(self._before),
            register_module_forward_hook(self._after),
            watch_composites(self._composite),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        _active.reset(self._token)

    # ---- what it notes ---------------------------------------------------------------------
    def _recorded(self, node: Function, out: Tensor) -> None:
        if _active.get() is not self:
            return
        inputs = node.inputs or ()
        record = NodeRecord(
            node=node,
            label=node.label(),
            rule=rule_of(node),
            module=self._current_module(),
            value=Summary.of(out.data, self.max_elements),
            input_shapes=[_shape(p, x) for p, x in zip(node.parents, inputs)],
            names=self.names,
        )
        self.records.append(record)
        _records[node] = record
        node.register_prehook(lambda grads, r=record: self._arrived(r, grads))
        node.register_hook(lambda grads_in, grads_out, r=record: self._sent(r, grads_in))

    def _arrived(self, record: NodeRecord, grads: tuple[Any, ...]) -> None:
        record.grad = Summary.of(grads[0], self.max_elements)
        record.step = len(self.steps)
        self.steps.append(Step(len(self.steps), record))

    def _sent(self, record: NodeRecord, grads: tuple[Any, ...]) -> None:
        record.input_grads = [
            None if g is None else Summary.of(g, self.max_elements) for g in grads
        ]

    def _current_module(self) -> str | None:
        """The path of the innermost module call open now (``layers.2 (Linear)``)."""
        for module, name, _ in reversed(self._open):
            if module is not None:
                kind = type(module).__name__
                return f"{name} ({kind})" if name else kind
        return None

    def _before(self, module: Any, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if _active.get() is not self:
            return None
        changed = None
        if not any(m is not None for m, _, _ in self._open):  # the outermost module call
            self._module_names = {id(m): n for n, m in module.named_modules()}
            self.names.update({id(p): n for n, p in module.named_parameters()})
            for n, b in module.named_buffers():  # a buffer, and what is made of its memory
                self.names[id(b)] = n
                self.names[_block(b)] = n
            if self.record_inputs and grad_enabled():
                args = changed = tuple(_recordable(a) for a in args)
            for a in args:
                if isinstance(a, Tensor) and a.grad_fn is None and id(a) not in self.names:
                    self.names[id(a)] = "input"
        edges = tuple(a.grad_fn or a for a in tensors_in(args))
        self._open.append((module, self._module_names.get(id(module), ""), edges))
        return changed

    def _after(self, module: Any, args: tuple[Any, ...], out: Any) -> None:
        if _active.get() is not self or not self._open:
            return
        self._close(out)

    def _close(self, out: Any) -> None:
        module, name, edges = self._open.pop()
        # a call that returns several tensors (an LSTM cell's (h, c)) is noted by its first
        first = next(iter(tensors_in(out)), None)
        node = first.grad_fn if first is not None else None
        # NOTE: a call that returns an input unchanged (Dropout in evaluation, Identity) did
        # nothing to draw: it is not noted, so no box claims the operation before it
        if node is not None and not any(node is e for e in edges):
            call = ModuleCall(module, name, edges, node)
            self.calls.append(call)
            _calls_by_node.setdefault(node, []).append(call)

    def _composite(self, name: str, arguments: dict[str, Any]) -> Any:
        """A named composite operation (``mse_loss``) begins: its operations form a group,
        and its ``target`` is labelled as such."""
        if _active.get() is not self:
            return None
        target = arguments.get("target")
        if isinstance(target, Tensor) and target.grad_fn is None and id(target) not in self.names:
            self.names[id(target)] = "target"
        tensors = [a for a in arguments.values() if isinstance(a, Tensor)]
        self._open.append((None, name, tuple(t.grad_fn or t for t in tensors)))
        depth = len(self._open)

        def done(result: Any) -> None:
            if len(self._open) == depth:  # (not already closed by an error inside)
                self._close(result)

        return done

    # ---- reading it ------------------------------------------------------------------------
    def record_of(self, node: Function) -> NodeRecord | None:
        """What this trace noted of ``node`` (``None`` if it did not see it)."""
        found = _records.get(node)
        return found if found is not None and any(r is found for r in self.records) else None

    @property
    def outputs(self) -> list[Function]:
        """The traced operations whose value no other traced operation used (the losses)."""
        used = {id(p) for r in self.records for p in r.node.parents}
        return [r.node for r in self.records if id(r.node) not in used]

    def __repr__(self) -> str:
        return f"<trace: {len(self.records)} operations, {len(self.steps)} backward steps>"

    def _repr_html_(self) -> str:
        """In Jupyter: the page of :func:`autonet.viz.to_html`, to step through the backward
        pass (``to_html(tr, "page.html")`` writes it to a file)."""
        from autonet.viz.html import html_fragment  # NOTE: html imports this module

        return html_fragment(self)


def _block(t: Tensor) -> int:
    """The id of the memory a tensor's array lives in (shared with its views)."""
    return id(owner(t.data))


def name_of(t: Tensor, names: dict[int, str]) -> str | None:
    """The name a trace gave ``t``, or to the memory it is a view of (a buffer's)."""
    found = names.get(id(t))
    return found if found is not None else names.get(_block(t))


def _recordable(a: Any) -> Any:
    """A float tensor that needs no gradient as a leaf that does, on the same memory (so that
    the operations on it are recorded); anything else as it is."""
    if isinstance(a, Tensor) and not a.requires_grad and a.dtype.kind == "f":
        return a.detach().requires_grad_()
    return a


def _shape(parent: Any, x: Any) -> tuple[int, ...] | None:
    """The shape of a node's input: of what it kept, of the leaf, or of the traced value."""
    if isinstance(parent, Tensor):
        return tuple(parent.shape)
    if x is not None and hasattr(x, "shape"):
        return tuple(x.shape)
    record = _records.get(parent) if parent is not None else None
    return record.value.shape if record is not None else None
