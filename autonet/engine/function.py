"""Primitives and the nodes of the graph.

A primitive is a subclass of :class:`Function` with two methods side by side:

``forward(self, *xs)``
    the operation on NumPy arrays; returns the output array.
``backward(self, g, y, *xs)``
    its vector-Jacobian product: given ``g = dL/dy`` it returns ``dL/dx`` for every input
    (``None`` where ``self.needs_input_grad`` says no gradient is wanted).

When a primitive is applied to a tensor that requires grad, the instance becomes the
output's ``grad_fn``: a node that keeps its ``parents`` (the node that produced each input, a
leaf tensor, or ``None`` for a constant), the input arrays, the output array, and the
inputs' version numbers (to catch in-place changes made before ``backward``).

``backward`` is written only with operators, methods and NumPy functions that arrays and
Tensors share (``+``, ``@``, ``.sum(axis, keepdims=True)``, ``.reshape``, ``np.exp``, ...). In
a plain ``backward()`` it runs on arrays at NumPy's speed; with ``create_graph=True`` the
engine hands it Tensors, so the backward pass is itself recorded and can be differentiated.

Broadcasting is handled once, here: the engine sums each gradient back to its input's shape
(:func:`sum_to_shape`), so a ``backward`` may return gradients in the broadcast shape.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from autonet.engine.dtypes import get_default_dtype
from autonet.engine.grad_mode import _State
from autonet.engine.tensor import Tensor, _make, as_tensor

ndarray = np.ndarray
_TRUE = (True,)
_next_seq = itertools.count().__next__  # numbers recorded nodes in the order they ran


class Function:
    """One primitive operation; once applied and recorded, a node of the graph.

    Subclasses set ``name``, declare their parameters (axis, exponent, ...) in ``__slots__``
    and define ``forward`` and ``backward`` (see the module docstring). A parameter-free
    primitive needs no ``__init__``.

    A recorded node holds ``parents`` (per input: the node that produced it, the leaf tensor
    itself, or ``None`` for a constant), ``inputs`` and ``out`` (the arrays), which inputs
    ``needs_input_grad``, and ``versions``: the version counters of its leaf inputs when it
    ran (``None`` without leaf inputs). In-place changes bump a tensor's version, so backward
    can refuse to use an array that changed after it was saved.

    ``seq`` numbers the recorded nodes in the order they ran: every node's inputs come from
    nodes with smaller numbers, so the backward pass visits nodes from the largest number down
    and reaches each one after everything that used its output.

    ``module_calls`` is set only on a node whose output a Module returned: a list of
    ``(module, input edges)``, innermost call first, from which drawings group the operations
    of each module call (see ``Module.__call__``). Other nodes leave it unset.
    """

    __slots__ = (
        "__weakref__", "inputs", "module_calls", "needs_input_grad", "out", "parents", "seq",
        "versions",
    )  # fmt: skip
    name = "function"

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
        fn.seq = _next_seq()
        fn.inputs = (data,)
        fn.out = out
        fn.needs_input_grad = _TRUE
        fn.versions = (x._version,) if parent is x else None  # a leaf's version, see below
        return _make(out, fn)
    return _make(out, None)


def binary(fn: Function, a: Any, b: Any) -> Tensor:
    """Apply a two-input primitive to Tensors or to a Tensor and a constant.

    A Python number keeps the tensor's dtype (NumPy treats it as weak); other constants are
    converted by :func:`constant`.
    """
    ta = type(a) is Tensor or isinstance(a, Tensor)
    tb = type(b) is Tensor or isinstance(b, Tensor)
    if ta and tb:
        xa, xb = a.data, b.data
        if xa.dtype is not xb.dtype:
            xa, xb = _promote(xa, xb)
    elif ta:
        xa, xb = a.data, b
        if not ((type(b) is float and xa.dtype.kind == "f") or type(b) is int):
            xa, xb = constant(xa, b)
    elif tb:
        xa, xb = a, b.data
        if not ((type(a) is float and xb.dtype.kind == "f") or type(a) is int):
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
            fn.seq = _next_seq()
            fn.inputs = (xa, xb)
            fn.out = out
            fn.needs_input_grad = (ra, rb)
            if pa is a or pb is b:  # a leaf input: remember its version
                fn.versions = (a._version if pa is a else 0, b._version if pb is b else 0)
            else:
                fn.versions = None
            return _make(out, fn)
    return _make(out, None)


def nary(fn: Function, *xs: Any) -> Any:
    """Apply a primitive with any number of inputs (Tensors, arrays or Python numbers).

    With no Tensor among the inputs the plain NumPy result comes back (see
    ``Function.apply``).
    """
    tensors = [x for x in xs if isinstance(x, Tensor)]
    if not tensors:
        return fn.forward(*xs)
    floats = [t.data.dtype for t in tensors if t.data.dtype.kind == "f"]
    arrays = tuple(_operand(x, floats[0] if floats else None) for x in xs)
    try:
        out = fn.forward(*arrays)
    except ValueError as e:
        raise fn.error(*arrays) from e
    if type(out) is not ndarray:
        out = np.asarray(out)
    if _State.enabled and any(t._requires_grad for t in tensors):
        fn.parents = tuple((x.grad_fn or x) if isinstance(x, Tensor) else None for x in xs)
        fn.seq = _next_seq()
        fn.inputs = arrays
        fn.out = out
        fn.versions = tuple(x._version if isinstance(x, Tensor) else 0 for x in xs)  # see below
        fn.needs_input_grad = tuple(isinstance(x, Tensor) and x._requires_grad for x in xs)
        return _make(out, fn)
    return _make(out, None)


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
