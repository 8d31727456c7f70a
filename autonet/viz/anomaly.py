"""Finding where a NaN or an inf is born: ``with an.detect_anomaly():``.

Inside the block (in this thread), every operation that is recorded has its output checked
for NaN and inf as it runs, and, in a backward pass, every gradient it sends to its inputs.
The first non-finite value raises an :class:`AnomalyError` (a ``RuntimeError``) that names the
operation, the module call it ran in (``layers.2 (Linear)``) and the shapes of its inputs; for
a gradient, also where the forward pass recorded the operation (the user's line, as PyTorch's
anomaly mode shows it).

The error names the *birthplace* of the value, not every place it flows through:

- forward: an operation whose inputs were all finite and whose output is not (``sqrt`` of a
  negative, ``log`` of 0, ``exp`` that overflows), or else the first recorded operation that
  takes a value that was not finite already (a weight set to NaN, a constant, a tensor
  computed before the block);
- backward: an operation that received a finite gradient and sends a non-finite one to an
  input (``sqrt`` at 0: ``0 / (2·0)``).

Only recorded operations are seen: one that runs under ``no_grad``, or on tensors that do not
require grad, leaves no node to check. A deliberate ``-inf`` (a mask before a softmax) is
reported like any other.

It is built from public mechanisms only: the engine's
:func:`~autonet.engine.function.watch_recording` sees each node as it is recorded, a hook on
each node (``register_hook``) sees its gradients, and module hooks
(:mod:`autonet.nn.hooks`) tell which module call each operation belongs to. Outside the block
none of them is in place, so a program that does not ask pays nothing.

>>> import autonet as an
>>> x = an.tensor([4.0, -1.0, 9.0], requires_grad=True)
>>> try:
...     with an.detect_anomaly():
...         y = an.sqrt(x)
... except an.viz.anomaly.AnomalyError as e:
...     print(e)
detect_anomaly: sqrt produced NaN in the forward pass (1 of 3 elements); its input had shape (3,)
"""

from __future__ import annotations

import functools
import os
import sys
import traceback
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from autonet.engine.function import Function, stand_in, watch_recording
from autonet.engine.tensor import Tensor
from autonet.nn.hooks import register_module_forward_hook, register_module_forward_pre_hook

__all__ = ["AnomalyError", "detect_anomaly"]

F = TypeVar("F", bound=Callable[..., Any])

# the detect_anomaly block this thread (or asyncio task) is in, if any
_active: ContextVar[detect_anomaly | None] = ContextVar("autonet_detect_anomaly", default=None)
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep  # .../autonet/
_FRAMES_KEPT = 3  # how many of the user's frames each operation remembers


class AnomalyError(RuntimeError):
    """A NaN or inf was born inside ``detect_anomaly``. Besides the message it carries:

    - ``op``: the operation's label (``sqrt``, ``sum(axis=1)``) and ``node``, the node itself;
    - ``phase``: ``"forward"`` or ``"backward"``;
    - ``module``: the module call it ran in (``layers.0 (Linear)``), or ``None``;
    - ``input_shapes``: its inputs' shapes (``None`` where unknown, or for a number);
    - ``forward_stack``: where the forward pass recorded it, the user's frames, innermost last.
    """

    def __init__(self, message: str, node: Function, phase: str, module: str | None,
                 input_shapes: list[tuple[int, ...] | None],
                 forward_stack: list[traceback.FrameSummary]) -> None:  # fmt: skip
        super().__init__(message)
        self.node = node
        self.op = node.label()
        self.phase = phase
        self.module = module
        self.input_shapes = input_shapes
        self.forward_stack = forward_stack


@dataclass(slots=True)
class _Noted:
    """What a ``detect_anomaly`` block notes of one recorded operation."""

    module: str | None  # the innermost module call it ran in
    shape: tuple[int, ...]  # of its output
    frames: list[tuple[str, int, str]]  # the user's frames that recorded it, innermost first


class detect_anomaly:
    """Within this block (in this thread), raise :class:`AnomalyError` where a NaN or inf is
    born, in the forward pass or in a backward pass (see the module docstring). As a
    decorator, every call of the function runs in a block of its own.

    >>> import autonet as an
    >>> x = an.tensor([0.0, 1.0], requires_grad=True)
    >>> try:
    ...     with an.detect_anomaly():
    ...         loss = (an.sqrt(x) * 0).sum()  # forward: sqrt(0) = 0, all finite
    ...         loss.backward()  # backward: 0 / (2·0) = NaN
    ... except an.viz.anomaly.AnomalyError as e:
    ...     print(e)
    detect_anomaly: the gradient that sqrt sends to its input 0 (a leaf tensor) in the backward ...
    Forward traceback of sqrt (most recent call last):
    ...

    NOTE: one object is one block at a time; to check a function each time it is called,
    decorate it (``@an.detect_anomaly()``).
    """

    def __init__(self) -> None:
        self._noted: weakref.WeakKeyDictionary[Function, _Noted] = weakref.WeakKeyDictionary()
        self._open: list[tuple[Any, str]] = []  # module calls not yet returned: (module, path)
        self._module_names: dict[int, str] = {}  # id(module) -> its name in the model called
        self._leaf_names: dict[int, tuple[Tensor, str]] = {}  # id -> (parameter, its name)
        self._handles: list[Any] = []
        self._token: Any = None

    # ---- the block -------------------------------------------------------------------------
    def __enter__(self) -> detect_anomaly:
        if self._handles:
            raise RuntimeError("detect_anomaly: this block is already open; make a new one")
        self._token = _active.set(self)
        self._handles = [
            watch_recording(self._recorded),
            register_module_forward_pre_hook(self._before),
            register_module_forward_hook(self._after),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._open.clear()
        _active.reset(self._token)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            with detect_anomaly():
                return fn(*args, **kwargs)

        return checked  # type: ignore[return-value]

    # ---- the module calls ------------------------------------------------------------------
    def _before(self, module: Any, args: tuple[Any, ...]) -> None:
        if _active.get() is not self:
            return
        if not self._open:  # the outermost call: name every module and parameter inside it
            self._module_names = {id(m): name for name, m in module.named_modules()}
            self._leaf_names.update({id(p): (p, n) for n, p in module.named_parameters()})
        name = self._module_names.get(id(module), "")
        kind = type(module).__name__
        self._open.append((module, f"{name} ({kind})" if name else kind))

    def _after(self, module: Any, args: tuple[Any, ...], out: Any) -> None:
        if _active.get() is not self:
            return
        while self._open:  # (calls left open by an exception that was caught end here too)
            if self._open.pop()[0] is module:
                break

    # ---- the forward pass ------------------------------------------------------------------
    def _recorded(self, node: Function, out: Tensor) -> None:
        """Note a node as it is recorded, hook its backward, and check its output."""
        if _active.get() is not self:
            return
        a = out.data
        finite = a.dtype.kind not in "fc" or bool(np.isfinite(a).all())
        noted = _Noted(self._open[-1][1] if self._open else None, a.shape, _user_frames())
        self._noted[node] = noted
        node.register_hook(functools.partial(self._check_gradients, weakref.ref(node), noted))
        if not finite:
            self._check_inputs(node, noted, a)

    def _check_inputs(self, node: Function, noted: _Noted, out: np.ndarray) -> None:
        """``node``'s output is not finite: raise. If an input was not finite already (a leaf
        or parameter, a constant, a value recorded before the block), name it as where the
        value came in; else the operation itself produced it.

        NOTE: an input recorded inside the block was finite when recorded (else the error was
        raised there, and its tensor never reached the caller); its values are looked at again
        where the node kept them, in case they were changed in place since."""
        entering = None
        for i, (parent, x) in enumerate(zip(node.parents, node.inputs)):
            values = _values_of(parent, x)
            if values is not None and _nonfinite(values):
                entering = i, values
                break
        label, where = node.label(), _inside(noted.module)
        shapes, inputs = self._inputs(node)
        if entering is None:
            kinds, counts = _nonfinite(out)
            message = (f"detect_anomaly: {label} produced {kinds} in the forward pass ({counts})"
                       f"{where}; {inputs}")  # fmt: skip
        else:
            i, values = entering
            kinds, counts = _nonfinite(values)
            name = self._input_name(node, i)
            message = (f"detect_anomaly: {label} received {kinds} ({counts}) in the forward "
                       f"pass from its input {i} ({name}){where}; {inputs}")  # fmt: skip
        self._open.clear()  # the module calls end with the error
        raise AnomalyError(message, node, "forward", noted.module, shapes, _frames(noted))

    # ---- the backward pass -----------------------------------------------------------------
    def _check_gradients(self, ref: weakref.ref, noted: _Noted, grad_inputs: tuple[Any, ...],
                         grad_outputs: tuple[Any, ...]) -> None:  # fmt: skip
        """A node's hook after its backward: raise if the gradient that reached its output is
        finite and one it sends to an input is not. Checks only while the thread that runs the
        backward pass is inside a ``detect_anomaly`` block."""
        node = ref()
        if node is None or _active.get() is None:
            return
        g = _array(grad_outputs[0])
        if g is None or not np.isfinite(g).all():
            return  # born further down the backward pass, and reported there
        for i, gi in enumerate(grad_inputs):
            gi = _array(gi)
            if gi is None or gi.dtype.kind not in "fc" or np.isfinite(gi).all():
                continue
            label, frames = node.label(), _frames(noted)
            shapes, inputs = self._inputs(node)
            kinds, counts = _nonfinite(gi)
            at = f" at {_frame_text(frames[-1])}" if frames else ""
            message = (
                f"detect_anomaly: the gradient that {label} sends to its input {i} "
                f"({self._input_name(node, i)}) in the backward pass has {kinds} ({counts})"
                f"{_inside(noted.module)}; {label} was recorded by the forward pass{at}; "
                f"{inputs}; the gradient that reached its output was finite ({_stats(g)})"
            )
            if frames:
                message += f"\nForward traceback of {label} (most recent call last):\n"
                message += "".join(traceback.format_list(frames)).rstrip("\n")
            raise AnomalyError(message, node, "backward", noted.module, shapes, frames)

    # ---- describing a node's inputs --------------------------------------------------------
    def _inputs(self, node: Function) -> tuple[list[tuple[int, ...] | None], str]:
        """The shape of each input (of the leaf, of what the node kept, of the value noted;
        ``None`` for a number or where nothing tells), and a text: ``its inputs had shapes
        (4, 2), (3, 2) and (3,)``, a number shown as ``the number 0``."""
        shapes: list[tuple[int, ...] | None] = []
        texts: list[str] = []
        kept = node.inputs if node.inputs is not None else (None,) * len(node.parents)
        for parent, x in zip(node.parents, kept):
            seen = self._noted.get(parent) if isinstance(parent, Function) else None
            # (a Python number reaches the node as a 0-d array of the tensor's dtype)
            is_number = parent is None and (isinstance(x, (int, float)) or np.ndim(x) == 0)
            if isinstance(parent, Tensor):
                shape = tuple(parent.shape)
            elif isinstance(x, np.ndarray) and not is_number:
                shape = tuple(x.shape)
            else:
                shape = seen.shape if seen is not None else None
            shapes.append(shape)
            texts.append(f"the number {x}" if is_number else "?" if shape is None else str(shape))
        if len(texts) == 1:
            return shapes, f"its input had shape {texts[0]}"
        listed = ", ".join(texts[:-1]) + " and " + texts[-1] if texts else "none"
        return shapes, f"its inputs had shapes {listed}"

    def _input_name(self, node: Function, i: int) -> str:
        """What input ``i`` of ``node`` is: ``layers.0.weight``, ``a leaf tensor``, ``the output
        of mul``, ``a constant``."""
        parent = node.parents[i]
        if parent is None:
            return "a constant"
        if isinstance(parent, Tensor):
            entry = self._leaf_names.get(id(parent))
            return entry[1] if entry is not None and entry[0] is parent else "a leaf tensor"
        recorded = "" if parent in self._noted else ", recorded before detect_anomaly began"
        return f"the output of {parent.label()}{recorded}"


# ---- small helpers --------------------------------------------------------------------------


def _user_frames() -> list[tuple[str, int, str]]:
    """The innermost frames of the stack outside the autonet package (file, line, function),
    innermost first: where the user's code recorded an operation. (Walked by hand, with the
    source lines looked up only when an error shows them: this runs for every operation.)"""
    frames = []
    frame: Any = sys._getframe(1)
    while frame is not None and len(frames) < _FRAMES_KEPT:
        code = frame.f_code
        if not code.co_filename.startswith(_PACKAGE):
            frames.append((code.co_filename, frame.f_lineno, code.co_name))
        frame = frame.f_back
    return frames


def _frames(noted: _Noted) -> list[traceback.FrameSummary]:
    """A node's user frames as a traceback shows them, outermost first."""
    return [traceback.FrameSummary(f, n, name) for f, n, name in reversed(noted.frames)]


def _frame_text(frame: traceback.FrameSummary) -> str:
    """``test_model.py:12 in train (y = an.sqrt(x))``."""
    line = f" ({frame.line})" if frame.line else ""
    return f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}{line}"


def _inside(module: str | None) -> str:
    return f", inside {module}" if module else ""


def _values_of(parent: Any, x: Any) -> Any:
    """The values of a node's input, when known: a leaf's data, a constant, what the node
    kept (not a stand-in: its NaNs only mark values that were not kept), or the output that
    the input's node saved."""
    if isinstance(parent, Tensor):
        return parent.data
    if parent is None:
        return x if isinstance(x, (np.ndarray, np.generic, float)) else None
    if isinstance(x, np.ndarray) and x is not stand_in(x):
        return x
    return parent.out  # (None unless that node saved its output)


def _array(g: Any) -> np.ndarray | None:
    return None if g is None else g.data if isinstance(g, Tensor) else np.asarray(g)


def _nonfinite(a: Any) -> tuple[str, str] | None:
    """What is not finite in ``a`` and how much: ``("NaN", "1 of 3 elements")``, ``("inf",
    ...)``, ``("NaN and inf", ...)``; ``None`` when all is finite."""
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        return None
    nans, infs = int(np.isnan(a).sum()), int(np.isinf(a).sum())
    if not nans and not infs:
        return None
    kinds = " and ".join(k for k, n in (("NaN", nans), ("inf", infs)) if n)
    return kinds, f"{nans + infs} of {a.size} element{'s' if a.size != 1 else ''}"


def _stats(g: np.ndarray) -> str:
    """``shape (3,), min 0, max 0``."""
    if g.size == 0:
        return f"shape {g.shape}, empty"
    return f"shape {g.shape}, min {float(g.min()):.4g}, max {float(g.max()):.4g}"
