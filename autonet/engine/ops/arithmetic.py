"""Arithmetic: + - * / unary minus, powers, matrix products, dtype casts and copies.

In the derivative notes, ``g`` is the gradient of the final result with respect to the
operation's output ``y``; each ``backward`` returns the gradient with respect to each input.
Broadcast inputs get their gradient summed back to their shape by the engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autonet.engine.dtypes import as_dtype, get_default_dtype
from autonet.engine.function import Function, apply, broadcast_error
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor, wrap

__all__ = ["add", "astype", "clone", "div", "linear", "matmul", "mul", "neg", "pow", "sub"]


class Add(Function):
    """y = a + b;  dy/da = dy/db = 1."""

    name = "add"
    broadcasts = True
    saves_inputs = "nothing"

    def forward(self, a, b):
        return a + b

    def backward(self, g, y, a, b):
        return g, g


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    name = "sub"
    broadcasts = True
    saves_inputs = "nothing"

    def forward(self, a, b):
        return a - b

    def backward(self, g, y, a, b):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    name = "mul"
    broadcasts = True
    saves_inputs = "for others"

    def forward(self, a, b):
        return a * b

    def backward(self, g, y, a, b):
        need_a, need_b = self.needs_input_grad
        if a is b and need_a:
            # NOTE: x·x (one tensor twice): d(x²)/dx = 2x, given once instead of twice.
            return g * (2 * a), None
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b² = -y/b."""

    name = "div"
    broadcasts = True
    saves_output = True
    saves_inputs = ("nothing", "value")

    def forward(self, a, b):
        return a / b

    def backward(self, g, y, a, b):
        need_a, need_b = self.needs_input_grad
        return (g / b if need_a else None), (-g * y / b if need_b else None)


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    name = "neg"
    saves_inputs = "nothing"

    def forward(self, x):
        return -x

    def backward(self, g, y, x):
        return (-g,)


class Pow(Function):
    """y = xᵖ for a fixed number p;  dy/dx = p·xᵖ⁻¹."""

    __slots__ = ("exponent",)
    name = "pow"

    def __init__(self, exponent: float) -> None:
        self.exponent = exponent

    def label(self) -> str:
        return f"pow({self.exponent!r})"

    def forward(self, x):
        return x**self.exponent

    def backward(self, g, y, x):
        p = self.exponent
        if p == 0:
            return (g * 0,)  # NOTE: x⁰ = 1 everywhere, also at x = 0 where x⁻¹ is infinite
        return (g * p * x ** (p - 1),)

    def error(self, x):
        return _power_error(self.name, x, self.exponent)


class Power(Function):
    """y = aᵇ with both operands tensors;  dy/da = b·aᵇ⁻¹,  dy/db = aᵇ·ln a."""

    name = "power"
    broadcasts = True
    saves_output = True

    def forward(self, a, b):
        return a**b

    def backward(self, g, y, a, b):
        need_a, need_b = self.needs_input_grad
        # NOTE: where b = 0, aᵇ = 1 for every a, so dy/da = 0, also at a = 0 where b·aᵇ⁻¹
        # would be 0·∞ (PyTorch's value). At that one point the exponent b - 1 becomes 1, so
        # that no infinity is computed, not even for a derivative of this backward.
        ga = g * b * a ** np.where((a == 0) & (b == 0), 1, b - 1) if need_a else None
        # NOTE: ln a exists only for a > 0. At a = 0 the true limit of aᵇ·ln a is 0 (b > 0);
        # for a < 0 there is no real derivative. Both get 0, with no NaN or warning.
        gb = g * y * np.log(np.where(a > 0, a, 1)) if need_b else None
        return ga, gb

    def error(self, a, b):
        return _power_error(self.name, a, b)


def _power_error(name: str, base: Any, exponent: Any) -> ValueError:
    """The error of a power that NumPy refused: integers to negative integer powers (which
    have no integer result), or shapes that do not broadcast."""
    exponent = np.asarray(exponent)
    if np.asarray(base).dtype.kind in "iu" and exponent.dtype.kind in "iu" and (exponent < 0).any():
        return ValueError(
            f"{name}: integers to negative integer powers are not allowed; make the base "
            "floating first, e.g. x.float() ** -1"
        )
    return broadcast_error(name, np.shape(base), exponent.shape)


class MatMul(Function):
    """y = a @ b, with NumPy's rules: 1-D operands are vectors; leading axes are batch axes and
    broadcast.

    For matrices, dL/da = g @ bᵀ and dL/db = aᵀ @ g. A vector ``a`` is treated as a one-row
    matrix and a vector ``b`` as a one-column matrix, and the extra axis is dropped again.
    """

    name = "matmul"

    def forward(self, a, b):
        if a.ndim > 2 and b.ndim == 2:
            return folded_product(a, b)
        return a @ b

    def backward(self, g, y, a, b):
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product: y is a scalar
            return (g * b if need_a else None), (g * a if need_b else None)
        a_vector, b_vector = a.ndim == 1, b.ndim == 1
        if a_vector:  # (k,) @ (..., k, m) -> (..., m)
            a = a.reshape(1, a.shape[0])
            g = g.reshape(g.shape[:-1] + (1, g.shape[-1]))
        if b_vector:  # (..., n, k) @ (k,) -> (..., n)
            b = b.reshape(b.shape[0], 1)
            g = g.reshape(g.shape + (1,))
        ga = gb = None
        if need_a:
            bt = b.swapaxes(-1, -2)
            ga = folded_product(g, bt) if g.ndim > 2 and b.ndim == 2 else g @ bt  # (..., n, k)
            if a_vector:
                ga = ga.reshape(ga.shape[:-2] + ga.shape[-1:])
        if need_b:
            if b.ndim == 2 and a.ndim > 2:
                # a weight shared across batch axes: fold them into rows, one matrix product
                rows = math.prod(a.shape[:-1])  # NOTE: not -1, which fails for size 0
                a, g = a.reshape(rows, a.shape[-1]), g.reshape(rows, g.shape[-1])
            if b.ndim == 2 and a.ndim == 2 and _transposed(b):
                # NOTE: b is a transposed view (x @ W.T in a linear layer): computing gᵀa and
                # viewing it transposed gives W's gradient in W's own, contiguous layout, which
                # makes every later use of it (accumulation, the optimizer's update) faster.
                gb = (g.T @ a).T  # (k, m)
            else:
                gb = a.swapaxes(-1, -2) @ g  # (..., k, m)
            if b_vector:
                gb = gb.reshape(gb.shape[:-1])
        return ga, gb

    def error(self, a, b):
        sa, sb = np.shape(a), np.shape(b)
        if not sa or not sb:
            return ValueError(f"matmul: {sa} @ {sb}: 0-d operands are not allowed (use *)")
        ka, kb = sa[-1], (sb[-2] if len(sb) > 1 else sb[0])
        if ka != kb:
            return ValueError(f"matmul: {sa} @ {sb}: inner sizes {ka} and {kb} differ")
        return broadcast_error(f"matmul: {sa} @ {sb}: batch axes", sa[:-2], sb[:-2])


class Linear(Function):
    """y = x Wᵀ + b, the affine map of a linear layer, with W of shape (out, in) and x of shape
    (..., in). One primitive rather than a transpose, a product and a sum, because it is the
    most common operation in a network:

        dL/dx = g W,    dL/dW = gᵀ x,    dL/db = Σ g over the rows,

    with the leading axes of x and g folded into rows. Gradients keep W's layout (out, in).
    """

    name = "linear"
    saves_inputs = "for others"

    def forward(self, x, w, b=None):
        y = folded_product(x, w.T) if x.ndim > 2 else x @ w.T
        if b is not None:
            if b.dtype is y.dtype:
                y += b  # y is a fresh array: add in place
            else:
                y = y + b
        return y

    def backward(self, g, y, x, w, b=None):
        need = self.needs_input_grad
        g2 = g  # (rows, out): the leading axes of g folded into rows
        if g.ndim != 2:
            g2 = g.reshape(math.prod(g.shape[:-1]), g.shape[-1])  # NOTE: not -1 (size 0)
        gx = None
        if need[0]:  # one product over the rows, then x's leading axes again
            gx = g @ w if g.ndim < 3 else (g2 @ w).reshape(tuple(g.shape[:-1]) + (w.shape[-1],))
        gw = g2.T @ x.reshape(g2.shape[0], x.shape[-1]) if need[1] else None  # (out, in)
        if len(need) == 2:  # no bias
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if need[2] else None)

    def error(self, x, w, b=None):
        sx, sw = np.shape(x), np.shape(w)
        return ValueError(
            f"linear: input {sx} and weight {sw} do not fit: the weight must be (out_features, "
            f"in_features) with in_features = the input's last axis"
            + ("" if b is None else f", and the bias ({sw[0] if sw else '?'},)")
        )


def folded_product(a: Any, b: Any) -> Any:
    """``a @ b`` for ``a`` (..., k) and a matrix ``b`` (k, m), as one matrix product: the
    leading axes of ``a`` folded into its rows, (rows, k) @ (k, m), and unfolded again.

    NOTE: NumPy's matmul runs one small product per leading index (on (50, 32, 128) @
    (128, 512): 3.8 ms, against 1.2 ms folded); every layer applied to a sequence or a batch
    of images has this shape. Works on arrays and on Tensors.

    >>> folded_product(np.ones((2, 3, 4)), np.ones((4, 5))).shape
    (2, 3, 5)
    """
    lead = tuple(a.shape[:-1])
    rows = math.prod(lead)  # NOTE: not -1, which fails for size 0
    return (a.reshape(rows, a.shape[-1]) @ b).reshape(lead + (b.shape[-1],))


def _transposed(x: Any) -> bool:
    """True for an array laid out in memory as the transpose of a contiguous one."""
    return type(x) is np.ndarray and x.flags.f_contiguous and not x.flags.c_contiguous


class Cast(Function):
    """y = x converted to another floating dtype;  dL/dx is g converted back."""

    __slots__ = ("dtype",)
    name = "astype"
    saves_inputs = "shape"

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, g, y, x):
        return (g.astype(x.dtype),)


class Clone(Function):
    """y = a copy of x;  dy/dx = 1."""

    name = "clone"
    saves_inputs = "nothing"

    def forward(self, x):
        return x.copy()

    def backward(self, g, y, x):
        return (g,)


# ---- the functions (each is also a Tensor method or operator) ----------------------------


@operation(operators=("__add__",), ufunc=np.add)
def add(a: Any, b: Any) -> Tensor:
    """Elementwise ``a + b`` with broadcasting (the ``+`` operator).

    >>> import autonet as an
    >>> an.add(an.tensor([1.0, 2.0]), 1)
    tensor([2., 3.])
    """
    return apply(Add(), a, b)


@operation(operators=("__sub__",), ufunc=np.subtract)
def sub(a: Any, b: Any) -> Tensor:
    """Elementwise ``a - b`` (the ``-`` operator).

    >>> import autonet as an
    >>> an.tensor([1.0, 2.0]) - an.tensor([[1.0], [2.0]])
    tensor([[ 0.,  1.],
            [-1.,  0.]])
    """
    return apply(Sub(), a, b)


@operation(operators=("__mul__",), ufunc=np.multiply)
def mul(a: Any, b: Any) -> Tensor:
    """Elementwise ``a * b`` (the ``*`` operator).

    >>> import autonet as an
    >>> an.tensor([1.0, 2.0]) * 3
    tensor([3., 6.])
    """
    return apply(Mul(), a, b)


@operation(operators=("__truediv__",), ufunc=np.true_divide)
def div(a: Any, b: Any) -> Tensor:
    """Elementwise ``a / b`` (the ``/`` operator); integer tensors give floats.

    >>> import autonet as an
    >>> an.tensor([1.0, 2.0]) / 4
    tensor([0.25, 0.5 ])
    """
    if not (_floating(a) or _floating(b)):  # true division of integers gives floats
        a = astype(as_tensor(a), get_default_dtype())
    return apply(Div(), a, b)


def _floating(v: Any) -> bool:
    if isinstance(v, Tensor):
        return v.data.dtype.kind == "f"
    return isinstance(v, float) or getattr(v, "dtype", np.dtype(int)).kind == "f"


@operation(operators=("__neg__",), ufunc=np.negative)
def neg(x: Any) -> Tensor:
    """``-x``.

    >>> import autonet as an
    >>> -an.tensor([1.0, -2.0])
    tensor([-1.,  2.])
    """
    return apply(Neg(), x)


@operation(operators=("__pow__",), ufunc=np.power)
def pow(x: Any, exponent: Any) -> Tensor:
    """``x ** exponent``: a tensor to a number, a number to a tensor, or elementwise.

    >>> import autonet as an
    >>> an.tensor([1.0, 2.0, 3.0]) ** 2
    tensor([1., 4., 9.])
    >>> 2 ** an.tensor([0.0, 1.0, 3.0])
    tensor([1., 2., 8.])
    """
    if isinstance(exponent, np.generic):
        exponent = exponent.item()
    if type(exponent) in (int, float) and isinstance(x, Tensor):
        return apply(Pow(exponent), x)
    return apply(Power(), x, exponent)


@operation(operators=("__matmul__",), ufunc=np.matmul)
def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product ``a @ b`` with NumPy's rules for vectors and batch axes.

    >>> import autonet as an
    >>> an.ones(2, 3) @ an.ones(3)
    tensor([3., 3.])
    """
    return apply(MatMul(), a, b)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """The affine map ``x @ weight.T + bias`` of a linear layer, as one operation.

    >>> import autonet as an
    >>> an.linear(an.ones(1, 2), an.tensor([[1.0, 2.0], [3.0, 4.0]]), an.tensor([0.5, 0.5]))
    tensor([[3.5, 7.5]])
    """
    if bias is None:
        return apply(Linear(), x, weight)
    return apply(Linear(), x, weight, bias)


@operation()
def astype(x: Any, dtype: Any) -> Tensor:
    """``x`` converted to ``dtype``. Float-to-float conversions pass gradients (converted
    back); a conversion to an integer or bool dtype gives a tensor without history.

    >>> import autonet as an
    >>> an.tensor([1.5, 2.5]).astype(an.float64)
    tensor([1.5, 2.5], dtype=float64)
    """
    x = as_tensor(x)
    dt = as_dtype(dtype)
    if dt == x.data.dtype:
        return x
    if dt.kind != "f":
        return wrap(x.data.astype(dt))
    return apply(Cast(dt), x)


@operation()
def clone(x: Any) -> Tensor:
    """A copy of ``x`` that stays in the graph (gradients pass straight through).

    >>> import autonet as an
    >>> an.tensor([1.0]).clone()
    tensor([1.])
    """
    return apply(Clone(), x)
