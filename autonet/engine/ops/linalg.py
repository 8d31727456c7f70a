"""Linear algebra, ``an.linalg``: ``inv``, ``det``, ``slogdet``, ``solve``, ``cholesky`` and
``norm``.

The last two axes of a tensor are the matrix; axes before them are a batch. The derivatives
come from differentiating the defining identity (``Mᵀ`` is the transpose of the last two
axes):

- inverse:  A A⁻¹ = I gives d(A⁻¹) = -A⁻¹ dA A⁻¹, so dL/dA = -A⁻ᵀ g A⁻ᵀ;
- determinant (Jacobi): d det A = det A · tr(A⁻¹ dA), so dL/dA = g · det A · A⁻ᵀ;
- solve, X = A⁻¹B:  dL/dB = A⁻ᵀ g (one more solve), dL/dA = -(dL/dB) Xᵀ;
- Cholesky, A = LLᵀ:  dL/dA = L⁻ᵀ Φ(Lᵀ g) L⁻¹, made symmetric, with Φ the lower triangle
  whose diagonal is halved.

Each backward uses these same primitives (and matrix products), so every order of derivative
is available.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from autonet.engine.dtypes import get_default_dtype
from autonet.engine.function import Function, apply, broadcast_error
from autonet.engine.grad_mode import grad_enabled
from autonet.engine.ops.arithmetic import astype
from autonet.engine.ops.reduction import Reduction, normalize_axis, reduced_shape
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor, wrap

__all__ = ["SlogdetResult", "cholesky", "det", "inv", "norm", "slogdet", "solve"]


def _mT(a: Any) -> Any:
    """The transpose of the last two axes (of an array or a Tensor)."""
    return a.swapaxes(-1, -2)


class LinalgFunction(Function):
    """A primitive of NumPy's ``linalg``: its errors (a singular matrix, one that is not
    positive definite) name the operation and the shape."""

    def error(self, *xs):
        shapes = " and ".join(str(np.shape(x)) for x in xs)
        why = "not positive definite" if self.name == "cholesky" else "singular"
        return np.linalg.LinAlgError(f"{self.name}: no result for {shapes}: the matrix is {why}")


class Inv(LinalgFunction):
    """Y = A⁻¹;  dL/dA = -Yᵀ g Yᵀ (from d(A⁻¹) = -A⁻¹ dA A⁻¹)."""

    name = "inv"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, a):
        return np.linalg.inv(a)

    def backward(self, g, y, a):
        yt = _mT(y)
        return (-(yt @ g @ yt),)


class Det(LinalgFunction):
    """y = det A;  dL/dA = g · y · A⁻ᵀ (Jacobi's formula: d det A = det A · tr(A⁻¹ dA)).

    NOTE: for a singular A the gradient (the matrix of cofactors) exists, but this formula
    needs A⁻¹, so it is refused with the singular-matrix error.
    """

    name = "det"
    saves_output = True

    def forward(self, a):
        return np.linalg.det(a)

    def backward(self, g, y, a):
        scale = (g * y)[..., None, None]
        return (scale * _mT(Inv.apply(a)),)


class LogAbsDet(LinalgFunction):
    """y = ln |det A|;  dL/dA = g · A⁻ᵀ."""

    name = "logabsdet"

    def forward(self, a):
        return np.linalg.slogdet(a)[1]

    def backward(self, g, y, a):
        return (g[..., None, None] * _mT(Inv.apply(a)),)


class Solve(LinalgFunction):
    """X = A⁻¹B, the solution of AX = B;  dL/dB = A⁻ᵀg (a solve with Aᵀ), dL/dA = -(dL/dB)Xᵀ.

    B is a matrix (..., n, k), or one vector (n,); batch axes broadcast.
    """

    name = "solve"
    saves_output = True
    saves_inputs = ("value", "shape")  # dL/dA reads X, not B

    def forward(self, a, b):
        return np.linalg.solve(a, b)

    def backward(self, g, y, a, b):
        need_a, need_b = self.needs_input_grad
        if b.ndim == 1:  # one vector: as a one-column matrix
            g, y = g[..., None], y[..., None]
        gb = Solve.apply(_mT(a), g)  # (..., n, k)
        ga = -(gb @ _mT(y)) if need_a else None
        if b.ndim == 1:
            gb = gb[..., 0]
        return ga, (gb if need_b else None)


class Cholesky(LinalgFunction):
    """L = cholesky(A): L lower triangular with A = LLᵀ, for A symmetric positive definite;
    dL/dA = sym(L⁻ᵀ Φ(Lᵀg) L⁻¹), where Φ keeps the lower triangle and halves the diagonal and
    sym(M) = (M + Mᵀ)/2.

    NOTE: only A's lower triangle is read (as NumPy and LAPACK do); the gradient is the
    symmetric one, PyTorch's convention, right for perturbations that keep A symmetric.
    """

    name = "cholesky"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, a):
        return np.linalg.cholesky(a)

    def backward(self, g, y, a):
        n = y.shape[-1]
        phi = np.tril(np.ones((n, n), dtype=y.dtype)) - 0.5 * np.eye(n, dtype=y.dtype)
        inverse = Inv.apply(y)  # L⁻¹
        m = _mT(inverse) @ ((_mT(y) @ g) * phi) @ inverse
        return ((m + _mT(m)) * 0.5,)


def _square(op: str, x: Any) -> Tensor:
    x = as_tensor(x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{op}: expected square matrices (..., n, n), got shape {x.shape}")
    return _floating(x)


def _floating(x: Tensor) -> Tensor:
    """An integer tensor as the default float dtype (as NumPy's linalg gives floats)."""
    return x if x.dtype.kind == "f" else astype(x, get_default_dtype())


@operation("inverse", numpy=np.linalg.inv)
def inv(x: Any) -> Tensor:
    """The inverse of each matrix (the last two axes); PyTorch's ``inverse`` is the method.

    >>> import autonet as an
    >>> an.linalg.inv(an.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5 , 0.  ],
            [0.  , 0.25]])
    """
    return apply(Inv(), _square("inv", x))


@operation(numpy=np.linalg.det)
def det(x: Any) -> Tensor:
    """The determinant of each matrix (the last two axes).

    >>> import autonet as an
    >>> an.tensor([[1.0, 2.0], [3.0, 4.0]]).det()
    tensor(-2.)
    """
    return apply(Det(), _square("det", x))


class SlogdetResult(NamedTuple):
    """What ``slogdet`` returns: the sign of the determinant (no gradient) and the logarithm
    of its absolute value (differentiable)."""

    sign: Tensor
    logabsdet: Tensor


@operation(numpy=np.linalg.slogdet)
def slogdet(x: Any) -> SlogdetResult:
    """The sign and ln |det| of each matrix, accurate where the determinant itself would
    overflow or underflow.

    >>> import autonet as an
    >>> sign, logabsdet = an.linalg.slogdet(an.tensor([[-2.0, 0.0], [0.0, 3.0]]))
    >>> sign, logabsdet
    (tensor(-1.), tensor(1.7918))
    """
    x = _square("slogdet", x)
    sign = wrap(np.asarray(np.linalg.slogdet(x.data)[0]))
    return SlogdetResult(sign, apply(LogAbsDet(), x))


@operation(False, numpy=np.linalg.solve)
def solve(a: Any, b: Any) -> Tensor:
    """X with ``a @ X = b``, without forming the inverse: ``b`` is a matrix (..., n, k) or a
    vector (n,).

    >>> import autonet as an
    >>> an.linalg.solve(an.tensor([[2.0, 0.0], [0.0, 4.0]]), an.tensor([1.0, 1.0]))
    tensor([0.5 , 0.25])
    """
    a, b = _square("solve", a), _floating(as_tensor(b))
    n = a.shape[-1]
    rows = b.shape[0] if b.ndim == 1 else b.shape[-2] if b.ndim >= 2 else None
    if rows != n:
        raise ValueError(
            f"solve: a of shape {a.shape} and b of shape {b.shape} do not fit a @ x = b "
            f"(b must be a vector ({n},) or matrices (..., {n}, k))"
        )
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
    except ValueError:
        raise broadcast_error("solve: batch axes", a.shape[:-2], b.shape[:-2]) from None
    return apply(Solve(), a, b)


@operation(numpy=np.linalg.cholesky)
def cholesky(x: Any, *, upper: bool = False) -> Tensor:
    """The Cholesky factor L of each symmetric positive definite matrix (A = LLᵀ, L lower
    triangular; Lᵀ with ``upper=True``). Only the lower triangle of A is read.

    >>> import autonet as an
    >>> an.tensor([[4.0, 2.0], [2.0, 5.0]]).cholesky()
    tensor([[2., 0.],
            [1., 2.]])
    """
    result = apply(Cholesky(), _square("cholesky", x))
    return _mT(result) if upper else result


# ---- norms ---------------------------------------------------------------------------------


class VectorNorm(Reduction):
    """y = (Σᵢ |xᵢ|ᵖ)^(1/p) over the axes;  dy/dxᵢ = sign(xᵢ)·|xᵢ|ᵖ⁻¹ / yᵖ⁻¹, which for
    p = 2 is xᵢ/y.

    NOTE: where y = 0 (every xᵢ is 0) the gradient is 0, the subgradient PyTorch chooses.
    """

    __slots__ = ("ord",)
    name = "norm"
    saves_output = True

    def __init__(self, ord: float, axis: tuple[int, ...] | None, keepdims: bool) -> None:
        super().__init__(axis, keepdims)
        self.ord = ord

    def label(self) -> str:
        shown = super().label()  # norm(axis=..., keepdims=...)
        if self.ord == 2:
            return shown
        inside = shown[len("norm(") : -1] if shown.endswith(")") else ""
        return f"norm({', '.join(filter(None, [f'ord={self.ord:g}', inside]))})"

    def forward(self, x):
        if self.ord == 2:
            return np.sqrt((x * x).sum(axis=self.axis, keepdims=self.keepdims))
        total = (np.abs(x) ** self.ord).sum(axis=self.axis, keepdims=self.keepdims)
        return total ** (1 / self.ord)

    def backward(self, g, y, x):
        y = self.kept(y, x.shape)
        safe = np.where(y == 0, 1, y)  # (only groups of zeros, whose gradient is 0)
        p = self.ord
        if p == 2:
            slope = x / safe
        elif p == 1:
            slope = np.sign(x)
        else:
            slope = np.sign(x) * np.abs(x) ** (p - 1) / safe ** (p - 1)
        return (self.kept(g, x.shape) * slope,)


_SINGULAR_VALUE_ORDS = ("nuc", 2, -2)


@operation(numpy=np.linalg.norm)
def norm(
    x: Any,
    ord: Any = None,
    axis: int | tuple[int, int] | None = None,
    keepdims: bool = False,
    *,
    dim: Any = None,
    keepdim: bool | None = None,
    p: Any = None,
) -> Tensor:
    """Vector and matrix norms, NumPy's ``linalg.norm`` (PyTorch's ``p=``, ``dim=`` and
    ``keepdim=`` are accepted).

    - ``axis`` an int (or a 1-D tensor with ``axis=None``): the vector norm of order ``ord``:
      2 (the default), 1, ``inf`` (largest absolute value), ``-inf``, 0 (the number of non-zero
      elements, without gradient), or any other p: (Σ|x|ᵖ)^(1/p);
    - ``axis`` a pair (or a 2-D tensor with ``axis=None``): the matrix norm: ``"fro"`` (the
      default), 1 and -1 (largest and smallest column sum of |x|), ``inf`` and ``-inf`` (row
      sums); ``"nuc"``, 2 and -2 (from singular values) are computed but have no gradient;
    - ``axis=None`` and ``ord=None`` on any other tensor: the 2-norm of all elements.

    The 2-norm's gradient at 0 is 0.

    >>> import autonet as an
    >>> an.tensor([3.0, 4.0]).norm()
    tensor(5.)
    >>> an.tensor([[1.0, -2.0], [3.0, 4.0]]).norm(ord=1)     # largest column sum of |x|
    tensor(6.)
    """
    x = _floating(as_tensor(x))
    ord = p if p is not None else ord
    axis = dim if dim is not None else axis
    if ord == "fro" and axis is None and x.ndim != 2:
        ord = None  # PyTorch's default p="fro": the 2-norm of every element
    keepdims = keepdim if keepdim is not None else keepdims
    if axis is None:
        if ord is None:  # the 2-norm of every element, whatever the shape
            return apply(VectorNorm(2, None, keepdims), x)
        if x.ndim not in (1, 2):
            raise ValueError(f"norm: ord={ord!r} needs axis= for a tensor of shape {x.shape}")
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(axes) == 1:
        (a,) = normalize_axis("norm", axes[0], x.ndim)
        return _vector_norm(x, 2 if ord is None else ord, a, keepdims)
    if len(axes) == 2:
        rows, cols = (normalize_axis("norm", a, x.ndim)[0] for a in axes)
        if rows == cols:
            raise ValueError(f"norm: the two axes must differ, got {axes}")
        return _matrix_norm(x, "fro" if ord is None else ord, rows, cols, keepdims)
    raise ValueError(f"norm: axis must be an int or a pair of ints, got {axis!r}")


def _vector_norm(x: Tensor, ord: Any, axis: int, keepdims: bool) -> Tensor:
    if ord == "fro":  # (PyTorch's p="fro" along one axis)
        ord = 2
    if isinstance(ord, str):
        raise ValueError(f"norm: ord={ord!r} is a matrix norm; for a vector use a number")
    if ord == np.inf:
        return abs(x).max(axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return abs(x).min(axis=axis, keepdims=keepdims)
    if ord == 0:  # how many elements are not zero: a count, without gradient
        return wrap(np.asarray((x.data != 0).sum(axis=axis, keepdims=keepdims), dtype=x.dtype))
    return apply(VectorNorm(float(ord), (axis,), keepdims), x)


def _matrix_norm(x: Tensor, ord: Any, rows: int, cols: int, keepdims: bool) -> Tensor:
    if ord == "fro":
        return apply(VectorNorm(2, tuple(sorted((rows, cols))), keepdims), x)
    if ord in (1, -1, np.inf, -np.inf):
        over, then = (rows, cols) if ord in (1, -1) else (cols, rows)  # sums, then the extreme
        sums = abs(x).sum(axis=over, keepdims=True)
        pick = sums.max if ord > 0 else sums.min
        extreme = pick(axis=then, keepdims=True)
        if keepdims:
            return extreme
        return extreme.reshape(reduced_shape(x.shape, (rows, cols)))
    if ord in _SINGULAR_VALUE_ORDS:
        if x.requires_grad and grad_enabled():
            raise NotImplementedError(
                f"norm: ord={ord!r} comes from singular values, whose gradient autonet does not "
                "have; use ord='fro', 1 or inf, or compute it on x.detach()"
            )
        value = np.linalg.norm(x.data, ord=ord, axis=(rows, cols), keepdims=keepdims)
        return wrap(np.asarray(value, dtype=x.dtype))
    raise ValueError(f"norm: ord={ord!r} is not a matrix norm (use 'fro', 'nuc', ±1, ±2, ±inf)")
