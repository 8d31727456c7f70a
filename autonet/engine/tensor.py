"""The Tensor: a NumPy array that remembers how it was computed.

A tensor made by the user is a *leaf*. A tensor made by an operation on tensors that require
grad records that operation as its ``grad_fn`` (a node holding the operation's inputs), and
``backward()`` walks those nodes in reverse, applying the chain rule.

The operations themselves live in :mod:`autonet.engine.ops`; each is a function
(``an.exp(t)``) and, registered there (:mod:`autonet.engine.registry`), a method of the same
name (``t.exp()``). ``tensor_methods.pyi`` lists those methods for editors and type checkers.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from autonet.engine import versions
from autonet.engine.dtypes import as_dtype, get_default_dtype
from autonet.engine.grad_mode import grad_enabled
from autonet.engine.hooks import NodeHooks, RemovableHandle, hooks_of_leaf
from autonet.engine.random import default_generator

if TYPE_CHECKING:  # the registered operations, as methods (generated; see registry.py)
    from autonet.engine.tensor_methods import TensorMethods
else:
    TensorMethods = object


class _Size(int):
    """``t.size``: the number of elements (NumPy's ``.size``); called, PyTorch's ``.size(dim)``."""

    def __new__(cls, shape: tuple[int, ...]) -> _Size:
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        self.shape = shape
        return self

    def __call__(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]


class Tensor(TensorMethods):
    """An n-dimensional array with reverse-mode automatic differentiation.

    >>> import autonet as an
    >>> x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    __slots__ = ("__weakref__", "_grad", "_requires_grad", "data", "grad_fn")
    # NumPy defers to Tensor's reflected operators (ndarray * Tensor gives a Tensor).
    __array_priority__ = 1000.0

    data: np.ndarray
    grad_fn: Any

    def __init__(
        self, data: Any, dtype: Any = None, requires_grad: bool = False, copy: bool = True
    ) -> None:
        self.data = to_array(data, dtype, copy=copy)
        self._grad = None
        self.grad_fn = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ---- autograd state -----------------------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient ``backward`` accumulated here (``None`` until then): a tensor of this
        tensor's shape and dtype. An assigned gradient must have both, as in PyTorch.

        NOTE: the engine writes the slot ``_grad`` itself (every operation's output starts
        without a gradient); only what users assign goes through the checks.

        >>> import autonet as an
        >>> x = an.zeros(2, requires_grad=True)
        >>> x.grad = an.ones(3)
        Traceback (most recent call last):
        ...
        ValueError: grad: the assigned gradient has shape (3,), but the tensor has shape (2,)
        """
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(
                    f"grad: the assigned gradient must be a Tensor or None, not "
                    f"{type(value).__name__}"
                )
            if value.data.shape != self.data.shape:
                raise ValueError(
                    f"grad: the assigned gradient has shape {value.data.shape}, but the tensor "
                    f"has shape {self.data.shape}"
                )
            if value.data.dtype != self.data.dtype:
                raise TypeError(
                    f"grad: the assigned gradient has dtype {value.data.dtype}, but the tensor "
                    f"has dtype {self.data.dtype} (convert it with .to({self.data.dtype}))"
                )
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor. Only floating tensors can require grad."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"requires_grad: only floating-point tensors can require grad, "
                f"not {self.data.dtype} (convert with .float() first)"
            )
        if not flag and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad: cannot turn off grad for the result of an operation; "
                "use .detach() to get a tensor without history"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return ``self``.

        >>> import autonet as an
        >>> an.zeros(2).requires_grad_()
        tensor([0., 0.], requires_grad=True)
        """
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded operation."""
        return self.grad_fn is None

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, outside any graph.

        >>> import autonet as an
        >>> (an.ones(2, requires_grad=True) * 2).detach().requires_grad
        False
        """
        return wrap(self.data)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradient (``grad = None``), or fill it with zeros."""
        if set_to_none or self._grad is None:
            self._grad = None
        else:
            versions.mark_changed(self._grad.data)
            self._grad.data[...] = 0

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during ``backward`` (leaves
        always keep theirs).

        >>> import autonet as an
        >>> x = an.tensor(2.0, requires_grad=True)
        >>> h = x * 3; h.retain_grad()
        >>> (h * h).backward(); h.grad
        tensor(12.)
        """
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("retain_grad: the tensor does not require grad")
            return
        if self.grad_fn.hooks is None:
            self.grad_fn.hooks = NodeHooks()
        self.grad_fn.hooks.retained = weakref.ref(self)

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor whose ``retain_grad()`` was called."""
        node = self.grad_fn
        return (
            node is not None
            and node.hooks is not None
            and node.hooks.retained is not None
            and node.hooks.retained() is self
        )

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call ``hook(grad)`` when the gradient with respect to this tensor has been computed
        (a leaf's before it is added to ``.grad``); a returned tensor replaces the gradient.
        Returns a handle whose ``remove()`` takes the hook away.

        >>> import autonet as an
        >>> x = an.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x * 3
        >>> handle = h.register_hook(lambda g: g * 100)    # scale what flows back through h
        >>> h.sum().backward(); x.grad
        tensor([300., 300.])
        >>> handle.remove()
        """
        if not self._requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that does not require grad"
            )
        node = self.grad_fn
        if node is None:
            return RemovableHandle(hooks_of_leaf(self, create=True)).add(hook)
        if node.hooks is None:
            node.hooks = NodeHooks()
        return RemovableHandle(node.hooks.tensor).add(hook)

    def backward(
        self, grad: Any = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Accumulate ``d self / d leaf`` into every leaf's ``.grad``.

        ``grad`` is the gradient of some final quantity with respect to this tensor; it may be
        left out when this tensor has a single element (it is then 1). The graph's saved arrays
        are released afterwards unless ``retain_graph=True``; ``create_graph=True`` records the
        backward pass itself, for higher-order derivatives.
        """
        _backward([self], None if grad is None else [grad], retain_graph, create_graph)

    # ---- array facts --------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> _Size:
        """Number of elements; ``t.size()`` and ``t.size(dim)`` give the shape as in PyTorch."""
        return _Size(self.data.shape)

    @property
    def device(self) -> str:
        """Always ``"cpu"``: autonet computes with NumPy."""
        return "cpu"

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # ---- conversions --------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    def item(self) -> Any:
        """The single value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: tensor has {self.data.size} elements (shape {self.shape})")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"bool: the truth value of a tensor with {self.data.size} elements is "
                "ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only single-element integer tensors can be used as an index")
        return int(self.data)

    def __format__(self, spec: str) -> str:
        if self.data.ndim == 0:
            return format(self.data.item(), spec)
        return format(str(self), spec)

    __hash__ = object.__hash__  # tensors are keys by identity; == compares elementwise

    def __repr__(self) -> str:
        extras = []
        d = self.data.dtype
        if d != get_default_dtype() and d != np.int64 and d != np.bool_:
            extras.append(f"dtype={d}")
        if self.data.size == 0 and self.data.ndim != 1:
            extras.append(f"size={self.shape}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        return f"tensor({', '.join([body, *extras])})"

    # ---- in-place changes ---------------------------------------------------------------
    def _modify(self, op: str) -> None:
        """Allow an in-place change only where it cannot silently corrupt gradients, and note
        it on the clock of :mod:`autonet.engine.versions`, so that backward refuses a node
        that saved these values (through this tensor or any view of its memory) before."""
        if self.grad_fn is not None:
            raise RuntimeError(
                f"{op}: cannot change in place a tensor produced by a recorded operation "
                f"(shape {self.shape}; its backward may need the old values); use the "
                "out-of-place form"
            )
        if grad_enabled():
            if self._requires_grad:
                raise RuntimeError(
                    f"{op}: a leaf tensor that requires grad (shape {self.shape}) cannot be "
                    "changed in place while gradients are recorded; do it under an.no_grad() "
                    "(as optimizers do)"
                )
            if versions.made_without_grad_from_a_grad_tensor(self):
                raise RuntimeError(
                    f"{op}: this tensor (shape {self.shape}) is a view, made under no_grad, of a "
                    "tensor that requires grad; changing it in place while gradients are "
                    "recorded is not allowed (as in PyTorch); do it under an.no_grad(), or "
                    "change the tensor itself"
                )
        versions.mark_changed(self.data)

    def _inplace(self, op: str, ufunc: np.ufunc, other: Any) -> Tensor:
        other_data = other.data if isinstance(other, Tensor) else other
        if grad_enabled() and isinstance(other, Tensor) and other._requires_grad:
            raise RuntimeError(
                f"{op}: writing a value that requires grad into a tensor in place is not "
                "recorded; use the out-of-place form"
            )
        self._modify(op)
        try:
            ufunc(self.data, other_data, out=self.data, casting="same_kind")
        except (TypeError, ValueError) as e:
            raise type(e)(f"{op}: {e}") from e
        return self

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """``self += alpha * other`` in place (under ``no_grad`` for tensors that require grad)."""
        return self._inplace("add_", np.add, other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        """``self -= alpha * other`` in place."""
        return self._inplace("sub_", np.subtract, other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        """``self *= other`` in place."""
        return self._inplace("mul_", np.multiply, other)

    def div_(self, other: Any) -> Tensor:
        """``self /= other`` in place."""
        return self._inplace("div_", np.true_divide, other)

    def copy_(self, src: Any) -> Tensor:
        """Overwrite the values with ``src`` (broadcast to this shape) in place."""
        self._modify("copy_")
        self.data[...] = src.data if isinstance(src, Tensor) else src
        return self

    def fill_(self, value: float) -> Tensor:
        """Set every element to ``value`` in place."""
        self._modify("fill_")
        self.data.fill(value)
        return self

    def zero_(self) -> Tensor:
        """Set every element to zero in place."""
        return self.fill_(0)

    def uniform_(self, low: float = 0.0, high: float = 1.0) -> Tensor:
        """Fill in place with draws from U(low, high), from autonet's generator."""
        self._modify("uniform_")
        self.data[...] = default_generator().uniform(low, high, self.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Fill in place with draws from N(mean, std²), from autonet's generator."""
        self._modify("normal_")
        self.data[...] = default_generator().normal(mean, std, self.shape)
        return self

    def _augmented(self, op: str, ufunc: np.ufunc, other: Any, out_of_place: Any) -> Tensor:
        """``+=`` and friends. Where gradients are involved the result is computed out of place
        and the name is rebound (a leaf that requires grad is refused, as in PyTorch);
        otherwise the array is updated in place."""
        grad_involved = grad_enabled() and (
            self._requires_grad or (isinstance(other, Tensor) and other._requires_grad)
        )
        if grad_involved:
            if self._requires_grad and self.grad_fn is None:
                self._modify(op)  # raises: leaf that requires grad
            return out_of_place(self, other)
        return self._inplace(op, ufunc, other)

    def __iadd__(self, other: Any) -> Tensor:
        return self._augmented("+=", np.add, other, Tensor.__add__)

    def __isub__(self, other: Any) -> Tensor:
        return self._augmented("-=", np.subtract, other, Tensor.__sub__)

    def __imul__(self, other: Any) -> Tensor:
        return self._augmented("*=", np.multiply, other, Tensor.__mul__)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._augmented("/=", np.true_divide, other, Tensor.__truediv__)

    def __setitem__(self, index: Any, value: Any) -> None:
        if grad_enabled() and (
            self._requires_grad or (isinstance(value, Tensor) and value._requires_grad)
        ):
            raise RuntimeError(
                "setitem: assignment into a tensor is not recorded for gradients; build the "
                "result with an.where or an.concatenate, or assign under an.no_grad()"
            )
        self._modify("setitem")
        from autonet.engine.ops.indexing import normalize_index

        self.data[normalize_index(index)] = value.data if isinstance(value, Tensor) else value

    @property
    def T(self) -> Tensor:
        """The tensor with its axes reversed (a transpose)."""
        return _ops.transpose(self)

    # ---- NumPy functions and operators on tensors (see interop.py) ---------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _interop.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        return _interop.array_function(func, args, kwargs)

    # ---- reflected operators: `2 - t` calls t.__rsub__(2) ------------------------------
    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __rpow__(self, other: Any) -> Tensor:
        return _ops.pow(other, self)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    # ---- conversions between dtypes -----------------------------------------------------
    def to(self, dtype: Any = None, *args: Any, **kwargs: Any) -> Tensor:
        """Convert to ``dtype``; a device name (``"cpu"``) is accepted and ignored."""
        if isinstance(dtype, str) and dtype.startswith("cpu"):
            dtype = kwargs.get("dtype", args[0] if args else None)
        return self if dtype is None else _ops.astype(self, dtype)

    def cpu(self) -> Tensor:
        return self

    def float(self) -> Tensor:
        return _ops.astype(self, np.float32)

    def double(self) -> Tensor:
        return _ops.astype(self, np.float64)

    def long(self) -> Tensor:
        return _ops.astype(self, np.int64)

    def int(self) -> Tensor:
        return _ops.astype(self, np.int32)

    def bool(self) -> Tensor:
        return _ops.astype(self, np.bool_)


_new = object.__new__


def wrap(data: np.ndarray, grad_fn: Any = None) -> Tensor:
    """The Tensor holding ``data`` as it is (no copy, no checks), produced by ``grad_fn``
    (``None``: a tensor without history). How every operation makes its output: the engine's
    fast path, for arrays it made itself.

    >>> wrap(np.zeros(2, np.float32))
    tensor([0., 0.])
    """
    t = _new(Tensor)
    t.data = data
    t._grad = None
    t.grad_fn = grad_fn
    t._requires_grad = grad_fn is not None
    return t


def to_array(data: Any, dtype: Any = None, copy: bool = True) -> np.ndarray:
    """The array a new tensor holds: floats become the default dtype unless ``dtype`` says
    otherwise; Python ints become int64; bools stay bool. A Tensor keeps its dtype."""
    if isinstance(data, Tensor):
        data = data.data
        if dtype is None:
            dtype = data.dtype
    dt = as_dtype(dtype)
    try:
        arr = np.array(data, dtype=dt, copy=copy) if copy else np.asarray(data, dtype=dt)
    except (ValueError, TypeError) as e:
        raise TypeError(f"tensor: cannot make an array from {type(data).__name__}: {e}") from e
    kind = arr.dtype.kind
    if dt is None:
        if kind == "f" and arr.dtype != get_default_dtype():
            arr = arr.astype(get_default_dtype())
        elif kind not in "fiub":
            raise TypeError(
                f"tensor: autonet tensors hold float, int or bool data, not {arr.dtype}"
            )
    return arr


def tensors_in(value: Any) -> list[Tensor]:
    """The tensors in ``value``, in order: itself if it is one, else those inside its tuples
    and lists (nested, as a module's output or an LSTM's state ``(h, c)``); anything else
    holds none."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors_in(v)]
    return []


def as_tensor(data: Any, dtype: Any = None) -> Tensor:
    """``data`` as a Tensor: a Tensor is returned as it is (converted if ``dtype`` differs);
    anything else becomes a new leaf tensor.

    >>> import autonet as an
    >>> an.as_tensor([1, 2])
    tensor([1, 2])
    """
    if isinstance(data, Tensor):
        if dtype is None or np.dtype(dtype) == data.data.dtype:
            return data
        return _ops.astype(data, dtype)
    return wrap(to_array(data, dtype, copy=False))


# The operations need the Tensor class, so they load after it (and register their methods).
from autonet.engine import interop as _interop  # noqa: E402
from autonet.engine import ops as _ops  # noqa: E402
from autonet.engine.autograd import backward as _backward  # noqa: E402
