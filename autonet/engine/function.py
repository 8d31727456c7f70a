"""Primitives and the nodes of the graph.

A primitive is a subclass of :class:`Function` with two methods side by side:

``forward(self, *xs)``
    the operation on NumPy arrays; returns the output array.
``backward(self, g, y, *xs)``
    its vector-Jacobian product: given ``g = dL/dy`` it returns ``dL/dx`` for every input
    (``None`` where ``self.needs_input_grad`` says no gradient is wanted).

When a primitive is applied to a tensor that requires grad, the instance becomes the
output's ``grad_fn``: a node that keeps its ``parents`` (the node that produced each input, a
leaf tensor, or ``None`` for a constant), and of the arrays only what its ``backward`` reads:
the output if ``saves_output``, the inputs' values as ``saves_inputs`` says. An input whose
values are not needed is kept as a *stand-in* (an array of its shape and dtype that holds no
memory) or, where nothing of it is needed at all, as ``None``; so the forward pass holds no
array that the backward pass will not use.

``backward`` is written only with operators, methods and NumPy functions that arrays and
Tensors share (``+``, ``@``, ``.sum(axis, keepdims=True)``, ``.reshape``, ``np.exp``, ...). In
a plain ``backward()`` it runs on arrays at NumPy's speed; with ``create_graph=True`` the
engine hands it Tensors, so the backward pass is itself recorded and can be differentiated.

Broadcasting is handled once, here: the engine sums each gradient back to its input's shape
(:func:`sum_to_shape`), so a ``backward`` may return gradients in the broadcast shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.dtypes import get_default_dtype
from autonet.engine.grad_mode import _State, next_seq
from autonet.engine.tensor import Tensor, _make, as_tensor

ndarray = np.ndarray
_TRUE = (True,)


class Function:
    """One primitive operation; once applied and recorded, a node of the graph.

    Subclasses set ``name``, declare their parameters (axis, exponent, ...) in ``__slots__``
    and define ``forward`` and ``backward`` (see the module docstring). A parameter-free
    primitive needs no ``__init__``.

    A recorded node holds ``parents`` (per input: the node that produced it, the leaf tensor
    itself, or ``None`` for a constant), ``inputs`` and ``out`` (what it keeps of the arrays,
    see below), and which inputs ``needs_input_grad``.

    ``seq`` numbers the recorded nodes in the order they ran: every node's inputs come from
    nodes with smaller numbers, so the backward pass visits nodes from the largest number down
    and reaches each one after everything that used its output. In-place changes to tensors
    take numbers from the same count (``Tensor._changed_at``), so backward can tell a saved
    leaf that changed after the node was recorded, and refuse to use it.

    What ``backward`` reads is declared by two class attributes, so that a node keeps nothing
    more (PyTorch's ``save_for_backward``):

    ``saves_output``
        ``True`` when ``backward`` reads ``y`` (tanh: 1 - y²); otherwise it gets ``None``.
    ``saves_inputs``
        ``True`` when it reads the inputs' values (log: g / x); ``"shape"`` when it reads
        only their shapes and dtypes (sum: spread g back over x.shape); ``False`` when it
        reads nothing of them and returns each gradient in its input's shape and dtype, or in
        the broadcast shape of an elementwise operation (add, tanh, transpose); ``"others"``
        when input i's values are read only for the gradient of another input, and nothing of
        it otherwise (the product rule: for a·b, dL/da = g·b needs b); or one flag per input
        (values, or nothing: a / b reads b only). What is not read arrives as a stand-in, or
        as ``None`` where the gradient has its input's shape anyway.

    ``module_calls`` is set only on a node whose output a Module returned: a list of
    ``(module, input edges)``, innermost call first, from which drawings group the operations
    of each module call (see ``Module.__call__``). Other nodes read the class's ``None``.
    """

    # NOTE: "__dict__" lets a node take ``module_calls`` only when a module sets it (CPython
    # makes the dict on first use), while every other node reads the class default for free.
    __slots__ = (
        "__dict__", "__weakref__", "inputs", "needs_input_grad", "out", "parents", "seq",
    )  # fmt: skip
    name = "function"
    saves_output: bool = True
    saves_inputs: bool | str = True
    module_calls: list[tuple[Any, tuple[Any, ...]]] | None = None

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run this primitive on ``inputs``: Tensors give a Tensor (recorded when one requires
        grad); plain arrays give a plain array, so a ``backward`` may call primitives too.

        >>> import autonet as an
        >>> class Cube(an.Function):
        ...     \"\"\"y = x³;  dy/dx = 3x².\"\"\"
        ...     name = "cube"
        ...     def forward(self, x):
        ...         return x ** 3
        ...     def backward(self, g, y, x):
        ...         return (g * 3 * x * x,)
        >>> x = an.tensor(2.0, requires_grad=True)
        >>> y = Cube.apply(x); y.backward(); x.grad
        tensor(12.)
        """
        return nary(cls(**params), *inputs)

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError

    def backward(self, g: Any, y: Any, *xs: Any) -> tuple[Any, ...]:
        raise NotImplementedError(f"{self.name} has no gradient")

    # ---- description: drawings and error messages use these -----------------------------
    def params(self) -> dict[str, Any]:
        """The operation's parameters, from the subclass's ``__slots__``."""
        mro = type(self).__mro__[:-2]  # the subclasses, without Function and object
        return {k: getattr(self, k) for cls in mro for k in cls.__dict__.get("__slots__", ())}

    def label(self) -> str:
        """``name(param=value, ...)``, e.g. ``sum(axis=1)``."""
        shown = [f"{k}={v!r}" for k, v in self.params().items() if not _is_default(k, v)]
        return f"{self.name}({', '.join(shown)})" if shown else self.name

    def __repr__(self) -> str:
        return f"<{self.label()}>"

    @property
    def released(self) -> bool:
        """True once a backward pass has freed what this node saved."""
        return self.inputs is None

    def error(self, *xs: Any) -> Exception:
        """The error to raise when ``forward`` fails on these inputs (default: broadcasting)."""
        return broadcast_error(self.name, *[np.shape(x) for x in xs])


def _is_default(key: str, value: Any) -> bool:
    return value is None or (key == "keepdims" and value is False)


# ---- applying a primitive ---------------------------------------------------------------
# These are the engine's hot path: every operation on a Tensor passes through one of them.


def unary(fn: Function, x: Any) -> Any:
    """Apply a one-input primitive. A Tensor gives a Tensor (recorded when it requires grad);
    a plain array gives a plain array, which lets a ``backward`` call primitives too."""
    if type(x) is not Tensor and not isinstance(x, Tensor):  # (the first test is the fast one)
        if type(x) is ndarray:
            return fn.forward(x)
        x = as_tensor(x)
    data = x.data
    try:
        out = fn.forward(data)
    except ValueError as e:
        raise fn.error(data) from e
    if type(out) is not ndarray:
        out = np.asarray(out)
    if out.dtype is not data.dtype and data.dtype.kind != "f" and out.dtype.kind == "f":
        out = out.astype(get_default_dtype())  # exp of an integer tensor is float32, not float64
    if x._requires_grad and _State.enabled:
        parent = x.grad_fn or x
        fn.parents = (parent,)
        fn.seq = next_seq()
        saves = fn.saves_inputs
        if saves is True:
            fn.inputs = (data,)
        else:
            fn.inputs = (stand_in(data),) if saves == "shape" else _NOTHING
        fn.out = out if fn.saves_output else None
        fn.needs_input_grad = _TRUE
        return _make(out, fn)
    return _make(out, None)


def binary(fn: Function, a: Any, b: Any) -> Tensor:
    """Apply a two-input primitive to Tensors or to a Tensor and a constant.

    A Python number keeps the tensor's dtype (NumPy treats it as weak); other constants are
    converted by :func:`constant`.
    """
    kind = type(b)
    ta = type(a) is Tensor or isinstance(a, Tensor)
    if (kind is float or kind is int) and ta:  # x * 2, x + 1: tested first, the commonest
        xa = a.data
        if kind is int or xa.dtype.kind == "f":
            return _with_number(fn, a, xa, b, 0)
    tb = kind is Tensor or isinstance(b, Tensor)
    if ta and tb:
        xa, xb = a.data, b.data
        if xa.dtype is not xb.dtype:
            xa, xb = _promote(xa, xb)
    elif ta:
        xa, xb = constant(a.data, b)
    elif tb:
        xa, xb = a, b.data
        if (type(a) is float and xb.dtype.kind == "f") or type(a) is int:
            return _with_number(fn, b, xb, a, 1)
        xb, xa = constant(xb, a)
    else:
        return binary(fn, as_tensor(a), b)
    try:
        out = fn.forward(xa, xb)
    except ValueError as e:
        raise fn.error(xa, xb) from e
    if type(out) is not ndarray:
        out = np.asarray(out)
    if _State.enabled:
        ra = ta and a._requires_grad
        rb = tb and b._requires_grad
        if ra or rb:
            pa = (a.grad_fn or a) if ta else None
            pb = (b.grad_fn or b) if tb else None
            fn.parents = (pa, pb)
            fn.seq = next_seq()
            saves = fn.saves_inputs
            if saves is True:
                fn.inputs = (xa, xb)
            else:
                # what is kept of each: its values if read, else a stand-in or nothing
                if type(saves) is tuple:
                    keep_a, keep_b = saves
                else:
                    keep_a, keep_b = (rb, ra) if saves == "others" else (False, False)
                if (keep_a or pa is None) and (keep_b or pb is None):
                    fn.inputs = (xa, xb)
                else:
                    fn.inputs = (
                        xa if keep_a or pa is None else _dropped(xa, xb, saves),
                        xb if keep_b or pb is None else _dropped(xb, xa, saves),
                    )
            fn.out = out if fn.saves_output else None
            fn.needs_input_grad = _NEEDS[ra][rb]
            return _make(out, fn)
    return _make(out, None)


def _with_number(fn: Function, t: Tensor, x: ndarray, number: Any, at: int) -> Tensor:
    """:func:`binary` for a tensor (input ``at``, 0 or 1) and a Python number: ``x * 2``,
    ``1 - x``. The number keeps the tensor's dtype and needs no gradient, and the tensor's
    gradient comes back in its own shape, so a value its backward does not read need not be
    kept even as a stand-in."""
    try:
        out = fn.forward(x, number) if at == 0 else fn.forward(number, x)
    except ValueError as e:
        raise (fn.error(x, number) if at == 0 else fn.error(number, x)) from e
    if type(out) is not ndarray:
        out = np.asarray(out)
    if t._requires_grad and _State.enabled:
        parent = t.grad_fn or t
        fn.seq = next_seq()
        saves = fn.saves_inputs
        # ("others": the number needs no gradient, so nothing reads the tensor's values)
        keep = saves is True or (type(saves) is tuple and saves[at])
        kept = x if keep else (stand_in(x) if saves == "shape" else None)
        if at == 0:
            fn.parents = (parent, None)
            fn.inputs = (kept, number)
            fn.needs_input_grad = _FIRST
        else:
            fn.parents = (None, parent)
            fn.inputs = (number, kept)
            fn.needs_input_grad = _SECOND
        fn.out = out if fn.saves_output else None
        return _make(out, fn)
    return _make(out, None)


def nary(fn: Function, *xs: Any) -> Any:
    """Apply a primitive with any number of inputs (Tensors, arrays or Python numbers).
    Floating constants adopt the tensors' float dtype. With no Tensor among the inputs the
    plain NumPy result comes back (see ``Function.apply``).
    """
    for x in xs:
        if type(x) is not Tensor and not isinstance(x, Tensor):  # constants among the inputs
            tensors = [x for x in xs if isinstance(x, Tensor)]
            if not tensors:
                return fn.forward(*xs)
            floats = [t.data.dtype for t in tensors if t.data.dtype.kind == "f"]
            arrays = tuple(_operand(x, floats[0] if floats else None) for x in xs)
            break
    else:
        arrays = tuple([x.data for x in xs])  # only tensors: the common case
    try:
        out = fn.forward(*arrays)
    except ValueError as e:
        raise fn.error(*arrays) from e
    if type(out) is not ndarray:
        out = np.asarray(out)
    if _State.enabled:
        needs = tuple([isinstance(x, Tensor) and x._requires_grad for x in xs])
        if True in needs:
            return _record(fn, xs, arrays, out, needs)
    return _make(out, None)


def _record(fn: Function, xs: tuple[Any, ...], arrays: tuple[Any, ...], out: ndarray,
            needs: tuple[bool, ...]) -> Tensor:  # fmt: skip
    """Make ``fn`` the node of ``out`` for :func:`nary` (unary and binary do the same inline):
    its parents, and what its backward reads (see ``Function.saves_inputs``)."""
    fn.parents = parents = tuple([(x.grad_fn or x) if isinstance(x, Tensor) else None for x in xs])
    fn.seq = next_seq()
    saves = fn.saves_inputs
    others = needs.count(True)
    if saves is True or (saves == "others" and others > 1):
        fn.inputs = arrays  # every input's values are read
    else:
        kept = list(arrays)
        for i, p in enumerate(parents):
            if p is not None and not (  # (a constant is kept as it is)
                saves[i] if type(saves) is tuple else saves == "others" and others - needs[i]
            ):
                kept[i] = stand_in(arrays[i])
        fn.inputs = tuple(kept)
    fn.out = out if fn.saves_output else None
    fn.needs_input_grad = needs
    return _make(out, fn)


_NOTHING = (None,)
_FIRST, _SECOND = (True, False), (False, True)
_NEEDS = {False: {True: _SECOND}, True: {False: _FIRST, True: (True, True)}}
_stand_ins: dict[tuple[tuple[int, ...], np.dtype], ndarray] = {}


def stand_in(x: ndarray) -> ndarray:
    """An array with ``x``'s shape and dtype that holds no memory: one value, broadcast (a
    read-only view). A node keeps it in place of an input whose values its backward does not
    read, so that the input can be freed while its shape and dtype stay known.

    NOTE: the value is NaN (0 for integers), so a ``backward`` that reads a stand-in by mistake
    gives NaN gradients, which the gradient checks catch at once.

    >>> s = stand_in(np.ones((2, 3), np.float32))
    >>> s.shape, s.dtype, s.strides, bool(np.isnan(s).all())
    ((2, 3), dtype('float32'), (0, 0), True)
    """
    key = (x.shape, x.dtype)
    s = _stand_ins.get(key)
    if s is None:
        if len(_stand_ins) >= 4096:  # many shapes seen: start again rather than grow
            _stand_ins.clear()
        fill = np.nan if x.dtype.kind in "fc" else 0
        s = _stand_ins[key] = np.broadcast_to(np.array(fill, x.dtype), x.shape)
    return s


def _dropped(x: ndarray, other: Any, saves: Any) -> ndarray | None:
    """What a two-input node keeps of input ``x`` whose values its backward does not read:
    nothing when the gradient will come back in x's own shape and dtype (the other operand is
    a Python number, or an array of x's shape and dtype), else a stand-in for the engine's
    broadcasting rule (and for a backward that reads shapes)."""
    if saves != "shape" and (
        type(other) is not ndarray or (other.shape == x.shape and other.dtype is x.dtype)
    ):
        return None
    return stand_in(x)


def _operand(x: Any, float_dtype: np.dtype | None) -> Any:
    """An input of :func:`nary` as an array: a floating constant adopts the tensors' float dtype."""
    if isinstance(x, Tensor):
        return x.data
    if type(x) in (float, int, bool):
        return x
    v = np.asarray(x)
    if v.dtype.kind == "f" and float_dtype is not None and v.dtype != float_dtype:
        return v.astype(float_dtype)
    return v


def constant(x: np.ndarray, value: Any) -> tuple[np.ndarray, Any]:
    """Make ``value`` (not a Tensor) an operand beside the array ``x``.

    A floating constant adopts the tensor's float dtype: ``float32 tensor * float64 array`` stays
    float32, so nothing upcasts silently. An integer or bool tensor meeting a float constant
    is converted to the default float dtype, as PyTorch does. Returns ``(x, value)``.
    """
    if type(value) is float and x.dtype.kind != "f":
        return x.astype(get_default_dtype()), value
    if type(value) in (int, bool, float):
        return x, value
    v = np.asarray(value)
    if v.dtype.kind == "O":
        raise TypeError(f"cannot combine a tensor with {type(value).__name__}")
    if v.dtype.kind == "f":
        if x.dtype.kind == "f":
            return x, v.astype(x.dtype, copy=False)
        dt = get_default_dtype()
        return x.astype(dt), v.astype(dt, copy=False)
    if v.dtype.kind == "c":
        raise TypeError("autonet tensors do not hold complex numbers")
    return _promote(x, v)


def _promote(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two tensors of different dtypes: an integer or bool one takes the float one's dtype
    (PyTorch's rule; NumPy would make ``int64 + float32`` float64). Float with float, and int
    with int, follow NumPy."""
    ka, kb = a.dtype.kind, b.dtype.kind
    if ka == "f" and kb != "f":
        return a, b.astype(a.dtype)
    if kb == "f" and ka != "f":
        return a.astype(b.dtype), b
    return a, b


# ---- broadcasting, in one place ---------------------------------------------------------


def sum_to_shape(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum a gradient in a broadcast shape back to the input's ``shape``.

    If ``x`` of shape ``(3, 1)`` was broadcast to ``(2, 3, 4)``, every element of ``x`` was
    used 2*4 times, so its gradient is the sum of ``g`` over the leading axis and over the
    axis where ``x`` had size 1. Works on arrays and on Tensors.

    >>> sum_to_shape(np.ones((2, 3, 4)), (3, 1))
    array([[8.],
           [8.],
           [8.]])
    """
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and gshape[i + lead] != 1
    )
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def broadcast_error(name: str, *shapes: tuple[int, ...]) -> ValueError:
    """The error for shapes that do not broadcast, e.g.
    ``add: shapes (2, 3) and (4,) cannot be broadcast: sizes 3 and 4 differ in the last axis``."""
    listed = " and ".join(str(tuple(s)) for s in shapes)
    ndim = max((len(s) for s in shapes), default=0)
    for back in range(1, ndim + 1):
        sizes = {s[-back] for s in shapes if len(s) >= back} - {1}
        if len(sizes) > 1:
            where = "the last axis" if back == 1 else f"axis {-back}"
            a, b = sorted(sizes)[:2]
            return ValueError(
                f"{name}: shapes {listed} cannot be broadcast: sizes {a} and {b} differ in {where}"
            )
    return ValueError(f"{name}: invalid operands with shapes {listed}")
