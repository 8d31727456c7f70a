"""Primitives, and the one place where the engine records them as nodes of the graph.

A primitive is a subclass of :class:`Function` with two methods side by side:

``forward(self, *xs)``
    the operation on NumPy arrays; returns the output array ``y``.
``backward(self, g, y, *xs)``
    its vector-Jacobian product: given ``g = dL/dy`` it returns one gradient ``dL/dx`` per
    input (``None`` where ``self.needs_input_grad`` says no gradient is wanted).

and a declaration of what ``backward`` reads, so that a node keeps nothing more
(what PyTorch's ``save_for_backward`` says, settled once per class):

``saves_output``
    ``True`` when ``backward`` reads ``y`` (tanh: 1 - y²); otherwise it gets ``None``.
``saves_inputs``
    for each input, one of

    - ``"value"``: its values (log: g / x);
    - ``"shape"``: only its shape and dtype (sum spreads g over ``x.shape``);
    - ``"nothing"``: nothing at all (add: g passes through);
    - ``"for others"``: its values, but only for the *other* inputs' gradients, as in the
      product rule: for y = a·b, dL/da = g·b reads b, so b is kept only when a needs a
      gradient.

    One word stands for every input; a tuple gives one per input (``where``: the mask's
    value, nothing of the two branches).
``broadcasts``
    ``True`` for an elementwise primitive whose inputs broadcast against each other (add,
    mul, where): its ``backward`` may return gradients in the broadcast shape, and the engine
    sums each back to its input's shape.
``computes``
    the names of arrays that ``forward`` computes on the way and ``backward`` reads (JAX's
    residuals), kept in the primitive's slots and released with the rest. For a recorded
    backward (``create_graph=True``) they must be Tensors on the graph, so ``recompute`` sets
    them again from the input tensors. Most primitives need none; the fused cross-entropy
    keeps softmax(x) - onehot(y), which its forward has at hand.

An input whose values are not kept reaches ``backward`` as a *stand-in* (:func:`stand_in`: an
array of its shape and dtype that holds no memory) where its shape is needed, else as
``None`` (:func:`keep_code` says which). Constants (arrays that are not tensors, Python
numbers) are kept as the primitive computed with them: a number beside a floating tensor as a
0-d array of its dtype (:func:`constant`).

``backward`` is written only with operators, methods and NumPy functions that arrays and
Tensors share (``+``, ``@``, ``.sum(axis, keepdims=True)``, ``.reshape``, ``np.exp``,
``Other.apply(...)``). In a plain ``backward()`` it runs on arrays at NumPy's speed; with
``create_graph=True`` the engine hands it Tensors, so the backward pass is itself recorded and
can be differentiated again.

Recording happens in :func:`apply` and nowhere else: it runs ``forward`` on the inputs'
arrays and, when grad mode is on and an input requires grad, calls :meth:`Function.record`,
which makes the primitive a node: its parents, what it keeps, its place in time. Broadcasting
is handled once, in the backward pass: each gradient is summed back to its input's shape
(:func:`sum_to_shape`), so a ``backward`` may return gradients in the broadcast shape.

A gradient that is zero but for a part of its input (indexing's: ``g`` where the elements
were picked) may be returned as a :class:`Scattered`: the pass adds that part into the
input's gradient where it gathers it, instead of making an array of zeros of the input's
size for each part.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from autonet.engine.dtypes import get_default_dtype
from autonet.engine.grad_mode import grad_enabled
from autonet.engine.hooks import NodeHooks, RemovableHandle
from autonet.engine.tensor import Tensor, wrap
from autonet.engine.versions import next_seq, note_view_made_without_grad

ndarray = np.ndarray
_new = object.__new__
NO_INPUT: Any = type("NoInput", (), {"__repr__": lambda self: "<no input>"})()  # apply's default
SAVES = ("value", "shape", "nothing", "for others")


class Function:
    """One primitive operation; once applied and recorded, a node of the graph.

    Subclasses set ``name``, declare what they save (see the module docstring), list their
    parameters (axis, exponent, ...) in ``__slots__`` and set them in ``__init__``, and define
    ``forward`` and ``backward``. A parameter-free primitive needs no ``__init__``.

    A recorded node holds:

    - ``parents``: per input, the node that produced it, the leaf tensor itself, or ``None``
      for a constant;
    - ``needs_input_grad``: per input, whether it requires grad;
    - ``inputs`` and ``out``: what it keeps of the arrays (``None`` once backward released
      them);
    - ``seq``: when it was recorded, on the clock of :mod:`autonet.engine.versions`. Every
      node's inputs come from nodes with smaller numbers, so the backward pass visits nodes
      from the largest number down and reaches each one after everything that used its
      output.
    - ``hooks``: ``None``, or the hooks registered on it (:mod:`autonet.engine.hooks`).

    >>> import autonet as an
    >>> class Cube(an.Function):
    ...     \"\"\"y = x³;  dy/dx = 3x².\"\"\"
    ...     name = "cube"
    ...     saves_inputs = "value"
    ...     def forward(self, x):
    ...         return x ** 3
    ...     def backward(self, g, y, x):
    ...         return (g * 3 * x * x,)
    >>> x = an.tensor(2.0, requires_grad=True)
    >>> y = Cube.apply(x); y.backward(); x.grad
    tensor(12.)
    """

    __slots__ = ("__weakref__", "hooks", "inputs", "needs_input_grad", "out", "parents", "seq")
    name = "function"
    saves_output: ClassVar[bool] = False
    saves_inputs: ClassVar[str | tuple[str, ...]] = "value"
    broadcasts: ClassVar[bool] = False
    computes: ClassVar[tuple[str, ...]] = ()
    # Settled once per class from the declarations (see __init_subclass__ and keep_codes):
    _saves: ClassVar[tuple[str, ...]] = ("value",)  # one word per input (the last repeats)
    _codes: ClassVar[dict[tuple[bool, ...], tuple[int, ...]]]  # keep_codes, by needs
    _alone: ClassVar[int]  # keep_codes((True,))[0]: of a tensor alone (the commonest case)
    _pair: ClassVar[tuple[Any, ...]]  # keep_codes of two tensors, by need_a + 2·need_b
    _param_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        saves = cls.saves_inputs
        words = (saves,) if isinstance(saves, str) else tuple(saves)
        for word in words:
            if word not in SAVES:
                raise TypeError(
                    f"{cls.__name__}.saves_inputs: {word!r} is not one of {', '.join(SAVES)}"
                )
        cls._saves = words
        cls._codes = {}
        cls._alone = cls.keep_codes((True,))[0]
        cls._pair = tuple(cls.keep_codes(needs) if needs else None for needs in _NEEDS)
        # a primitive's parameters are the names in the __slots__ of its own classes
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            if issubclass(klass, Function) and klass is not Function:
                names += [n for n in klass.__dict__.get("__slots__", ()) if n not in names]
        cls._param_names = tuple(n for n in names if n not in cls.computes)

    @classmethod
    def keep_codes(cls, needs: tuple[bool, ...]) -> tuple[int, ...]:
        """What a node of this class keeps of each input (a :func:`keep_code`), when
        ``needs`` says which inputs need a gradient: worked out once per pattern of needs,
        then looked up."""
        codes = cls._codes.get(needs)
        if codes is None:
            words, last = cls._saves, len(cls._saves) - 1
            codes = tuple(
                keep_code(words[min(i, last)], True in needs[:i] + needs[i + 1 :], cls.broadcasts)
                for i in range(len(needs))
            )
            if len(needs) <= 4:  # (variadic primitives: do not keep every long pattern)
                cls._codes[needs] = codes
        return codes

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Any:
        """Run this primitive (made with ``params``) on ``inputs``: Tensors give a Tensor,
        recorded when one requires grad; plain arrays give a plain array, so that a
        ``backward`` may call primitives too. See :func:`apply`."""
        return apply(cls(**params), *inputs)

    def forward(self, *xs: Any) -> Any:
        raise NotImplementedError(f"{self.name} has no forward")

    def recompute(self, *xs: Any) -> None:
        """Set the arrays named in ``computes`` again from the input Tensors ``xs``, with
        operations that are recorded (for a backward pass with ``create_graph=True``)."""
        raise NotImplementedError(f"{self.name} computes {self.computes} but cannot recompute")

    def backward(self, g: Any, y: Any, *xs: Any) -> tuple[Any, ...]:
        raise NotImplementedError(f"{self.name} has no gradient")

    # ---- becoming a node: the one place a node is made -----------------------------------
    def record(self, parents: tuple[Any, ...], inputs: tuple[Any, ...], needs: tuple[bool, ...],
               out: ndarray) -> Tensor:  # fmt: skip
        """Make this primitive the node that produced ``out``: its ``parents``, what it keeps
        of its ``inputs`` (chosen by :func:`kept`, as its declarations say), which inputs
        ``needs`` a gradient, and when it was recorded. Returns the output tensor."""
        self.parents = parents
        self.inputs = inputs
        self.needs_input_grad = needs
        self.out = out if self.saves_output else None
        self.hooks = None
        self.seq = next_seq()
        # the output tensor, as wrap(out, self) makes it (written out: this runs per operation)
        t = _new(Tensor)
        t.data = out
        t._grad = None
        t.grad_fn = self
        t._requires_grad = True
        return t

    def _record_watched(self, parents: tuple[Any, ...], inputs: tuple[Any, ...],
                        needs: tuple[bool, ...], out: ndarray) -> Tensor:  # fmt: skip
        """``record`` while someone watches the recording (see :func:`watch_recording`)."""
        t = Function._record(self, parents, inputs, needs, out)
        if _watchers:
            for watcher in list(_watchers.values()):
                watcher(self, t)
        else:
            Function.record = Function._record  # nobody watches any more
        return t

    _record = record

    # ---- hooks on the node (see autonet.engine.hooks) ------------------------------------
    def _hooks(self) -> NodeHooks:
        if self.hooks is None:
            self.hooks = NodeHooks()
        return self.hooks

    def register_prehook(self, fn: Any) -> RemovableHandle:
        """Call ``fn(grad_outputs)`` before this node's backward runs; a returned tuple
        replaces the gradients.

        >>> import autonet as an
        >>> x = an.tensor(3.0, requires_grad=True)
        >>> y = x * x
        >>> _ = y.grad_fn.register_prehook(lambda gs: (gs[0] * 0.5,))
        >>> y.backward(); x.grad
        tensor(3.)
        """
        return RemovableHandle(self._hooks().pre).add(fn)

    def register_hook(self, fn: Any) -> RemovableHandle:
        """Call ``fn(grad_inputs, grad_outputs)`` after this node's backward; a returned tuple
        replaces the gradients sent to the inputs.

        >>> import autonet as an
        >>> x = an.tensor(3.0, requires_grad=True)
        >>> y = x * 2
        >>> seen = []
        >>> _ = y.grad_fn.register_hook(lambda gi, go: seen.append((gi[0].item(), go[0].item())))
        >>> y.backward(); seen
        [(2.0, 1.0)]
        """
        return RemovableHandle(self._hooks().post).add(fn)

    # ---- description: drawings and error messages use these -----------------------------
    def params(self) -> dict[str, Any]:
        """The operation's parameters (the names in its ``__slots__`` but not in ``computes``)
        and their values."""
        return {k: getattr(self, k) for k in self._param_names}

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

    def saved_arrays(self) -> dict[str, ndarray]:
        """Every array whose values this node reads in backward, by what it is: the inputs
        and output it kept (``"input 0"``, ``"output"``), and arrays among its parameters
        (``"index"``)."""
        arrays = {f"input {i}": x for i, x in enumerate(self.inputs or ()) if type(x) is ndarray}
        if self.out is not None:
            arrays["output"] = self.out
        for name, value in self.params().items():
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, ndarray):
                    arrays[name] = v
        return arrays

    def error(self, *xs: Any) -> Exception:
        """The error to raise when ``forward`` fails on these inputs (default: broadcasting)."""
        return broadcast_error(self.name, *[np.shape(x) for x in xs])


def _is_default(key: str, value: Any) -> bool:
    return value is None or (key == "keepdims" and value is False)


# ---- watching the recording: what autonet.viz's trace and anomaly detection build on -----

_watchers: dict[int, Any] = {}


def watch_recording(watcher: Any) -> RemovableHandle:
    """Call ``watcher(node, output)`` for every node recorded from now on, in every thread
    (a watcher that cares about one thread checks which), until the handle is removed.

    NOTE: while nobody watches, recording does not even test for watchers: ``Function.record``
    is the plain routine, and it is swapped for one that calls the watchers only while there
    are some, so a program that never watches pays nothing.

    >>> import autonet as an
    >>> from autonet.engine.function import watch_recording
    >>> seen = []
    >>> with watch_recording(lambda node, out: seen.append((node.name, out.shape))):
    ...     y = (an.ones(2, requires_grad=True) * 3).sum()
    >>> seen
    [('mul', (2,)), ('sum', ())]
    """
    handle = RemovableHandle(_watchers).add(watcher)
    Function.record = Function._record_watched
    return handle


# ---- what a node keeps of its inputs ------------------------------------------------------

VALUES, NOTHING, SHAPE, SHAPE_IF_BROADCAST = 0, 1, 2, 3


def keep_code(word: str, others_need: bool, broadcasts: bool) -> int:
    """What a node keeps of an input declared ``word`` (see the module docstring):

    - ``VALUES``: its values, if ``backward`` reads them (``"value"``, or ``"for others"``
      when another input needs a gradient);
    - ``SHAPE``: a stand-in, if it reads the input's shape (``"shape"``);
    - ``SHAPE_IF_BROADCAST``: a stand-in if broadcasting gave the output another shape or
      dtype than this input's, for the backward pass to sum the gradient back, else nothing
      (an input of a primitive that ``broadcasts``);
    - ``NOTHING``: nothing (``None``).
    """
    if word == "value" or (word == "for others" and others_need):
        return VALUES
    if word == "shape":
        return SHAPE
    return SHAPE_IF_BROADCAST if broadcasts else NOTHING


def kept(codes: tuple[int, ...], parents: tuple[Any, ...], arrays: tuple[Any, ...],
         out: ndarray) -> tuple:  # fmt: skip
    """What a node keeps of its inputs' ``arrays``, as their ``codes`` say (a constant, an
    input without parent, is kept as it is)."""
    result = []
    for code, p, x in zip(codes, parents, arrays):
        if code == SHAPE_IF_BROADCAST and p is not None:
            code = SHAPE if _broadcast_changed(x, arrays, out) else NOTHING
        if code == VALUES or p is None:
            result.append(x)
        else:
            result.append(None if code == NOTHING else stand_in(x))
    return tuple(result)


def _broadcast_changed(x: ndarray, arrays: tuple[Any, ...], out: ndarray) -> bool:
    """True when broadcasting against another array gave ``out`` another shape or dtype than
    ``x``'s (a Python number changes neither)."""
    if x.shape == out.shape and x.dtype is out.dtype:
        return False
    return sum(type(a) is ndarray for a in arrays) > 1


# ---- applying a primitive: the engine's hot path ------------------------------------------


def apply(fn: Function, x: Any, y: Any = NO_INPUT, *more: Any) -> Any:
    """Run ``fn`` on ``inputs`` (Tensors, arrays or Python numbers) and return the output.

    1. The inputs become arrays: tensors give their data; constants are converted so that
       nothing upcasts silently (:func:`operands`).
    2. ``fn.forward`` computes the output array.
    3. When grad mode is on and an input requires grad, ``fn.record`` makes ``fn`` the
       output's node, keeping what :func:`kept` chooses; otherwise the output is a tensor
       without history.

    With no Tensor among the inputs, the plain NumPy result comes back (what lets a
    ``backward`` call primitives on arrays).

    NOTE: this is the engine's hot path. The two commonest forms of input take a short way
    through the same three steps: one tensor, alone or with a Python number (``x.tanh()``,
    ``x * 2``), and two tensors of one dtype (``a * b``). Their arrays need no conversion,
    and what their node keeps is looked up (``Function.keep_codes``); every other form goes
    through :func:`operands` and :func:`kept`.
    """
    if y is NO_INPUT:
        if type(x) is not Tensor and not isinstance(x, Tensor):  # (the first test is fast)
            return _apply_general(fn, (x,))
        # -- one tensor
        a = x.data
        try:
            out = fn.forward(a)
        except ValueError as e:
            raise fn.error(a) from e
        if type(out) is not ndarray or (out.dtype is not a.dtype and a.dtype.kind != "f"):
            out = _as_output(out, (a,))
        if x._requires_grad:
            if grad_enabled():
                code = fn._alone
                keep = (a,) if code == VALUES else _NOTHING if code == NOTHING else (stand_in(a),)
                return fn.record((x.grad_fn or x,), keep, _TRUE, out)
            if out.base is not None:  # a view (a slice, a transpose) made under no_grad
                view = wrap(out)
                note_view_made_without_grad(view, x)
                return view
        return wrap(out)
    # -- two inputs: two tensors of one dtype, or a float tensor and a Python number (which
    # keeps the tensor's dtype: it becomes a 0-d array of that dtype, see constant), in either
    # order
    kx, ky = type(x), type(y)
    if more:
        return _apply_general(fn, (x, y, *more))
    if kx is Tensor or isinstance(x, Tensor):
        a = x.data
        if ky is float or ky is int:
            b, form = _constants.get((y, a.dtype)), _FIRST  # (found: a's dtype is floating)
            if b is None:
                if a.dtype.kind != "f":
                    return _apply_general(fn, (x, y))
                b = constant(y, a.dtype)
        elif (ky is Tensor or isinstance(y, Tensor)) and y.data.dtype is a.dtype:
            b, form = y.data, _BOTH
        else:
            return _apply_general(fn, (x, y))
    elif (kx is float or kx is int) and isinstance(y, Tensor) and y.data.dtype.kind == "f":
        a, b, form = _constants.get((x, y.data.dtype)), y.data, _SECOND
        if a is None:
            a = constant(x, b.dtype)
    else:
        return _apply_general(fn, (x, y))
    try:
        out = fn.forward(a, b)
    except ValueError as e:
        raise fn.error(a, b) from e
    if type(out) is not ndarray:
        out = np.asarray(out)
    if form is _FIRST:
        if x._requires_grad and grad_enabled():
            code = fn._alone  # (the number broadcasts nothing and needs no gradient)
            k = a if code == VALUES else stand_in(a) if code == SHAPE else None
            return fn.record((x.grad_fn or x, None), (k, b), _TRUE_FALSE, out)
    elif form is _SECOND:
        if y._requires_grad and grad_enabled():
            code = fn.keep_codes(_FALSE_TRUE)[1]
            k = b if code == VALUES else stand_in(b) if code == SHAPE else None
            return fn.record((None, y.grad_fn or y), (a, k), _FALSE_TRUE, out)
    else:
        need_a, need_b = x._requires_grad, y._requires_grad
        if (need_a or need_b) and grad_enabled():
            needs = _NEEDS[need_a + 2 * need_b]
            code_a, code_b = fn._pair[need_a + 2 * need_b]
            if code_a != VALUES:
                a = _kept_as(code_a, a, out)
            if code_b != VALUES:
                b = _kept_as(code_b, b, out)
            return fn.record((x.grad_fn or x, y.grad_fn or y), (a, b), needs, out)
    return wrap(out)


_FIRST, _SECOND, _BOTH = "a tensor and a number", "a number and a tensor", "two tensors"
_constants: dict[tuple[Any, np.dtype], Any] = {}


def constant(value: float, dtype: np.dtype) -> Any:
    """A Python number as the operand of a floating tensor of ``dtype``: a 0-d array of that
    dtype, made once per value and dtype and then looked up.

    NOTE: NumPy converts a Python number on every call, which costs as much as the
    arithmetic on a small array (``x * 1.01`` on a (1,) float32 array: 0.6 µs, against 0.3 µs
    with the 0-d array; the result is the same, as NumPy casts the number to the array's
    dtype either way). Zero stays a number (0.0 and -0.0 are equal keys but differ in sign),
    and so do NaN (never equal to itself) and numbers the dtype cannot hold (1e6 in float16),
    which NumPy handles as it does today.

    >>> constant(1.5, np.dtype(np.float32))
    array(1.5, dtype=float32)
    >>> constant(-0.0, np.dtype(np.float32))
    -0.0
    """
    if not value or value != value:
        return value
    try:
        with np.errstate(over="raise"):
            c = np.array(value, dtype)
    except (OverflowError, FloatingPointError):
        return value
    if len(_constants) >= 1024:  # many values seen (a schedule's learning rates): start again
        _constants.clear()
    c.flags.writeable = False  # (shared by every node that keeps it)
    _constants[(value, dtype)] = c
    return c


def _kept_as(code: int, x: ndarray, out: ndarray) -> Any:
    """:func:`kept` for one of two tensors of one dtype whose values are not kept."""
    if code == NOTHING or (code == SHAPE_IF_BROADCAST and x.shape == out.shape):
        return None
    return stand_in(x)


_TRUE, _TRUE_FALSE, _FALSE_TRUE = (True,), (True, False), (False, True)
_NOTHING = (None,)
_NEEDS = (None, (True, False), (False, True), (True, True))  # by need_a + 2·need_b


def _apply_general(fn: Function, inputs: tuple[Any, ...]) -> Any:
    """:func:`apply` for every other form of input (several tensors, arrays, no tensor)."""
    dtype = getattr(inputs[0], "data", None)
    dtype = getattr(dtype, "dtype", None)
    for t in inputs:  # tensors of one dtype (linear, concatenate): no conversion
        if not isinstance(t, Tensor) or t.data.dtype is not dtype:
            arrays = operands(inputs)
            if arrays is None:
                return fn.forward(*inputs)
            break
    else:
        arrays = tuple([t.data for t in inputs])
    try:
        out = fn.forward(*arrays)
    except ValueError as e:
        raise fn.error(*arrays) from e
    if type(out) is not ndarray or out.dtype is FLOAT64:
        out = _as_output(out, arrays)
    if grad_enabled():
        needs = tuple([isinstance(t, Tensor) and t._requires_grad for t in inputs])
        if True in needs:
            parents = tuple([t.grad_fn or t if isinstance(t, Tensor) else None for t in inputs])
            codes = fn._codes.get(needs) or fn.keep_codes(needs)
            # (VALUES is 0: with every input kept whole, the arrays are what is kept)
            keep = kept(codes, parents, arrays, out) if any(codes) else arrays
            return fn.record(parents, keep, needs, out)
    return wrap(out)


def _as_output(out: Any, arrays: tuple[Any, ...]) -> ndarray:
    """A forward's result as an array. A floating result from inputs that are not floating
    (exp of an integer tensor) gets the default float dtype, not NumPy's float64."""
    out = np.asarray(out)
    if out.dtype is FLOAT64 and not any(_is_floating(a) for a in arrays):
        out = out.astype(get_default_dtype())
    return out


_NUMBERS = (float, int)
FLOAT64 = np.dtype(np.float64)


def _is_floating(a: Any) -> bool:
    return type(a) is float or (isinstance(a, ndarray) and a.dtype.kind == "f")


def operands(inputs: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The arrays a primitive computes with, or ``None`` when no input is a Tensor.

    Tensors give their data; when tensors of different kinds meet, an integer or bool one
    takes the floating one's dtype (PyTorch's rule). A Python number stays a number (NumPy
    keeps the tensor's dtype); a numeric array adopts the tensors' floating dtype
    (``float32 tensor * float64 array`` stays float32), a bool array (a mask) stays bool, and
    with only integer tensors, a floating constant makes everything the default float dtype.
    """
    float_dtype = None
    has_tensor = has_float_constant = False
    for x in inputs:
        if isinstance(x, Tensor):
            has_tensor = True
            if float_dtype is None and x.data.dtype.kind == "f":
                float_dtype = x.data.dtype
        elif type(x) is float or (type(x) is not int and _is_float_array(x)):
            has_float_constant = True
    if not has_tensor:
        return None
    if float_dtype is None and has_float_constant:
        float_dtype = get_default_dtype()
    return tuple([_operand(x, float_dtype) for x in inputs])


def _is_float_array(x: Any) -> bool:
    return type(x) is not bool and np.asarray(x).dtype.kind == "f"


def _operand(x: Any, float_dtype: np.dtype | None) -> Any:
    if isinstance(x, Tensor):
        a = x.data
        if float_dtype is not None and a.dtype.kind != "f":
            return a.astype(float_dtype)
        return a
    if type(x) in (float, int, bool):
        return x
    v = np.asarray(x)
    kind = v.dtype.kind
    if kind in "fiu" and float_dtype is not None:  # (a bool array is a mask: it stays)
        return v.astype(float_dtype, copy=False)
    if kind == "c":
        raise TypeError("autonet tensors do not hold complex numbers")
    if kind not in "iub":
        raise TypeError(f"cannot combine a tensor with {type(x).__name__}")
    return v


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


# ---- a gradient that is zero but at an index ----------------------------------------------


class Scattered:
    """The gradient ``zeros(shape)`` with ``values`` added at ``index``, not yet made: what
    indexing's backward returns in a plain backward pass (``once``: no position is picked
    twice, as with ints, slices or one boolean mask; else repeated positions add up).

    Cutting a tensor into L slices (the time steps of a sequence, the four gates of an LSTM)
    gives each slice a gradient of the tensor's whole size; made one by one and summed, they
    cost L arrays of that size. The reverse pass instead makes one (:meth:`dense`, for the
    first) and adds the others into it in place (:meth:`add_into`).
    """

    __slots__ = ("index", "once", "shape", "values")

    def __init__(self, values: ndarray, index: Any, shape: tuple[int, ...], once: bool) -> None:
        self.values = values
        self.index = index
        self.shape = shape
        self.once = once

    def dense(self, dtype: Any = None) -> ndarray:
        """The gradient as an array (of ``dtype``, else the values' dtype)."""
        out = np.zeros(self.shape, dtype=dtype or self.values.dtype)
        if self.once:
            out[self.index] = self.values  # onto zeros: writing is adding
        else:
            np.add.at(out, self.index, self.values)
        return out

    def add_into(self, out: ndarray) -> None:
        """``out[index] += values``, in place."""
        if self.once:
            out[self.index] += self.values
        else:
            np.add.at(out, self.index, self.values)


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
