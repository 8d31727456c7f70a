"""Elementwise functions: exponentials, trigonometry, activations, clipping, max/min, where.

Each primitive's docstring gives y = f(x) and dy/dx; its ``backward`` multiplies the incoming
gradient ``g`` by that derivative.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.registry import operation
from autonet.engine.tensor import Tensor, as_tensor

__all__ = [
    "abs",
    "clamp",
    "clip",
    "cos",
    "elu",
    "erf",
    "exp",
    "gelu",
    "leaky_relu",
    "log",
    "maximum",
    "minimum",
    "relu",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "tanh",
    "where",
]

SQRT1_2 = math.sqrt(0.5)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_erf64 = np.frompyfunc(math.erf, 1, 1)
# erfc(z) ≈ t·exp(-z² + Σ cₖtᵏ), t = 1/(1 + z/2): Numerical Recipes' erfcc
_ERFC_COEFFICIENTS = (
    -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
    0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277,
)  # fmt: skip


def _erf(x: np.ndarray) -> np.ndarray:
    """erf(x) = 2/√π ∫₀ˣ e^(-t²) dt, elementwise.

    NOTE: NumPy has no erf. float64 arrays get ``math.erf`` on every element (exact);
    other dtypes get the Numerical Recipes erfc approximation, whose relative error (below
    1.2e-7) is float32's own resolution.
    """
    if x.dtype == np.float64:
        return np.asarray(_erf64(x), dtype=np.float64)
    z = np.abs(x)
    t = 1 / (1 + 0.5 * z)
    poly = 0.0
    for c in reversed(_ERFC_COEFFICIENTS):  # Horner: c₀ + t(c₁ + t(c₂ + ...))
        poly = poly * t + c
    erfc = t * np.exp(poly - z * z)
    return np.sign(x) * (1 - erfc)


class Exp(Function):
    """y = eˣ;  dy/dx = eˣ = y."""

    name = "exp"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, x):
        return np.exp(x)

    def backward(self, g, y, x):
        return (g * y,)


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    name = "log"

    def forward(self, x):
        return np.log(x)

    def backward(self, g, y, x):
        return (g / x,)


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2√x) = 1/(2y)."""

    name = "sqrt"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, g, y, x):
        return (g / (2 * y),)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x).  NOTE: at x = 0 the gradient is 0 (PyTorch's choice)."""

    name = "abs"

    def forward(self, x):
        return np.abs(x)

    def backward(self, g, y, x):
        return (g * np.sign(x),)


class Sin(Function):
    """y = sin x;  dy/dx = cos x."""

    name = "sin"

    def forward(self, x):
        return np.sin(x)

    def backward(self, g, y, x):
        return (g * np.cos(x),)


class Cos(Function):
    """y = cos x;  dy/dx = -sin x."""

    name = "cos"

    def forward(self, x):
        return np.cos(x)

    def backward(self, g, y, x):
        return (-g * np.sin(x),)


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 - tanh²x = 1 - y²."""

    name = "tanh"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, y, x):
        return (g * (1 - y * y),)


class Sigmoid(Function):
    """y = σ(x) = 1/(1 + e⁻ˣ);  dy/dx = σ(x)(1 - σ(x)) = y(1 - y)."""

    name = "sigmoid"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, x):
        # NOTE: computed as written, in place. Where e⁻ˣ overflows (x below about -88 in
        # float32) it is inf and σ(x) is 0, its limit (the exact value lies below float32's
        # smallest normal number there), so that overflow is expected and not reported. Both
        # tails keep full relative precision down to there: 1 + e⁻ˣ rounds only in the last
        # bit. (Branching on the sign of x, to never overflow, took 2 to 6 times as long.)
        t = np.empty(x.shape, x.dtype if x.dtype.kind == "f" else np.float64)
        with np.errstate(over="ignore"):
            np.negative(x, out=t)
            np.exp(t, out=t)
        t += 1
        return np.reciprocal(t, out=t)

    def backward(self, g, y, x):
        return (g * y * (1 - y),)


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 for x > 0, else 0.  NOTE: the gradient at 0 is 0."""

    name = "relu"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, g, y, x):
        return (g * (y > 0),)


class LeakyReLU(Function):
    """y = x for x > 0, else a·x;  dy/dx = 1 or a."""

    __slots__ = ("negative_slope",)
    name = "leaky_relu"

    def __init__(self, negative_slope: float) -> None:
        self.negative_slope = negative_slope

    def forward(self, x):
        return np.where(x > 0, x, x * self.negative_slope)

    def backward(self, g, y, x):
        return (np.where(x > 0, g, g * self.negative_slope),)


class ELU(Function):
    """y = x for x > 0, else α(eˣ - 1);  dy/dx = 1 for x > 0, else α·eˣ = y + α."""

    __slots__ = ("alpha",)
    name = "elu"
    saves_output = True

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def forward(self, x):
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def backward(self, g, y, x):
        return (np.where(x > 0, g, g * (y + self.alpha)),)


class Erf(Function):
    """y = erf x;  dy/dx = 2/√π · e^(-x²)."""

    name = "erf"

    def forward(self, x):
        return _erf(x)

    def backward(self, g, y, x):
        return (g * TWO_OVER_SQRT_PI * np.exp(-x * x),)


class GELU(Function):
    """y = x·Φ(x), Φ the standard normal CDF = ½(1 + erf(x/√2));  dy/dx = Φ(x) + x·φ(x).

    With ``approximate="tanh"``: y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³);
    dy/dx = ½(1 + tanh u) + ½x(1 - tanh²u)·√(2/π)(1 + 3·0.044715x²).
    """

    __slots__ = ("approximate",)
    name = "gelu"

    def __init__(self, approximate: str) -> None:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")
        self.approximate = approximate

    def label(self) -> str:
        return "gelu" if self.approximate == "none" else "gelu(tanh)"

    def forward(self, x):
        if self.approximate == "tanh":
            return 0.5 * x * (1 + np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
        return 0.5 * x * (1 + _erf(x * SQRT1_2))

    def backward(self, g, y, x):
        if self.approximate == "tanh":
            t = np.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)
        cdf = 0.5 * (1 + Erf.apply(x * SQRT1_2))
        pdf = np.exp(-0.5 * x * x) * INV_SQRT_2PI
        return (g * (cdf + x * pdf),)


class Softplus(Function):
    """y = ln(1 + e^(βx))/β;  dy/dx = σ(βx)."""

    __slots__ = ("beta",)
    name = "softplus"

    def __init__(self, beta: float) -> None:
        self.beta = beta

    def forward(self, x):
        # NOTE: logaddexp(0, z) = ln(eᶻ + 1) without overflow for large z.
        if self.beta == 1:
            return np.logaddexp(0, x)
        return np.logaddexp(0, x * self.beta) / self.beta

    def backward(self, g, y, x):
        return (g * Sigmoid.apply(x * self.beta if self.beta != 1 else x),)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi, else 0."""

    __slots__ = ("max", "min")
    name = "clip"

    def __init__(self, min: float | None, max: float | None) -> None:
        self.min = min
        self.max = max

    def forward(self, x):
        return np.clip(x, self.min, self.max)

    def backward(self, g, y, x):
        inside = True
        if self.min is not None:
            inside = x >= self.min
        if self.max is not None:
            inside = (x <= self.max) & inside
        return (g * inside,)


class Maximum(Function):
    """y = max(a, b) elementwise;  dy/da = 1 where a > b, dy/db = 1 where b > a.
    NOTE: at ties each side gets half of the gradient, ties of ±inf with itself too (the
    sign of a - b would be NaN there: inf - inf)."""

    name = "maximum"
    broadcasts = True

    def forward(self, a, b):
        return np.maximum(a, b)

    def backward(self, g, y, a, b):
        w = np.where(a == b, 0.5, (a > b).astype(g.dtype))  # 1 where a wins, 0 where b wins
        need_a, need_b = self.needs_input_grad
        return (g * w if need_a else None), (g * (1 - w) if need_b else None)


class Minimum(Function):
    """y = min(a, b) elementwise;  dy/da = 1 where a < b, dy/db = 1 where b < a.
    NOTE: at ties each side gets half of the gradient, ties of ±inf with itself too."""

    name = "minimum"
    broadcasts = True

    def forward(self, a, b):
        return np.minimum(a, b)

    def backward(self, g, y, a, b):
        w = np.where(a == b, 0.5, (a < b).astype(g.dtype))  # 1 where a wins, 0 where b wins
        need_a, need_b = self.needs_input_grad
        return (g * w if need_a else None), (g * (1 - w) if need_b else None)


class Where(Function):
    """y = a where cond else b;  dy/da = cond, dy/db = not cond (cond gets no gradient)."""

    name = "where"
    broadcasts = True
    saves_inputs = ("value", "nothing", "nothing")

    def forward(self, cond, a, b):
        return np.where(cond, a, b)

    def backward(self, g, y, cond, a, b):
        _, need_a, need_b = self.needs_input_grad
        return (
            None,
            np.where(cond, g, 0) if need_a else None,
            np.where(cond, 0, g) if need_b else None,
        )


# ---- the functions (each is also a Tensor method) ----------------------------------------


@operation(ufunc=np.exp)
def exp(x: Any) -> Tensor:
    """Elementwise eˣ.

    >>> import autonet as an
    >>> an.exp(an.tensor([0.0, 1.0]))
    tensor([1.    , 2.7183])
    """
    return apply(Exp(), x)


@operation(ufunc=np.log)
def log(x: Any) -> Tensor:
    """Elementwise natural logarithm.

    >>> import autonet as an
    >>> an.log(an.tensor([1.0, 100.0]))
    tensor([0.    , 4.6052])
    """
    return apply(Log(), x)


@operation(ufunc=np.sqrt)
def sqrt(x: Any) -> Tensor:
    """Elementwise square root.

    >>> import autonet as an
    >>> an.sqrt(an.tensor([4.0, 9.0]))
    tensor([2., 3.])
    """
    return apply(Sqrt(), x)


@operation(operators=("__abs__",), ufunc=np.absolute)
def abs(x: Any) -> Tensor:
    """Elementwise absolute value (also ``abs(t)``).

    >>> import autonet as an
    >>> abs(an.tensor([-1.5, 2.0]))
    tensor([1.5, 2. ])
    """
    return apply(Abs(), x)


@operation(ufunc=np.sin)
def sin(x: Any) -> Tensor:
    """Elementwise sine.

    >>> import autonet as an
    >>> an.sin(an.tensor([0.0]))
    tensor([0.])
    """
    return apply(Sin(), x)


@operation(ufunc=np.cos)
def cos(x: Any) -> Tensor:
    """Elementwise cosine.

    >>> import autonet as an
    >>> an.cos(an.tensor([0.0]))
    tensor([1.])
    """
    return apply(Cos(), x)


@operation(ufunc=np.tanh)
def tanh(x: Any) -> Tensor:
    """Elementwise hyperbolic tangent.

    >>> import autonet as an
    >>> an.tanh(an.tensor([0.0, 100.0]))
    tensor([0., 1.])
    """
    return apply(Tanh(), x)


@operation()
def sigmoid(x: Any) -> Tensor:
    """The logistic function 1/(1 + e⁻ˣ), without overflow warnings for large |x|.

    >>> import autonet as an
    >>> an.sigmoid(an.tensor([-1e4, 0.0, 1e4]))
    tensor([0. , 0.5, 1. ])
    """
    return apply(Sigmoid(), x)


@operation()
def relu(x: Any) -> Tensor:
    """max(x, 0).

    >>> import autonet as an
    >>> an.relu(an.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    """
    return apply(ReLU(), x)


@operation()
def leaky_relu(x: Any, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, else ``negative_slope * x``.

    >>> import autonet as an
    >>> an.leaky_relu(an.tensor([-1.0, 2.0]), 0.1)
    tensor([-0.1,  2. ])
    """
    return apply(LeakyReLU(negative_slope), x)


@operation()
def elu(x: Any, alpha: float = 1.0) -> Tensor:
    """x for x > 0, else α(eˣ - 1).

    >>> import autonet as an
    >>> an.elu(an.tensor([0.0, 1.0]))
    tensor([0., 1.])
    """
    return apply(ELU(alpha), x)


@operation()
def gelu(x: Any, approximate: str = "none") -> Tensor:
    """x·Φ(x) with Φ the standard normal CDF (the exact erf form, as PyTorch's default);
    ``approximate="tanh"`` uses the tanh approximation.

    >>> import autonet as an
    >>> an.gelu(an.tensor([0.0, 1.0]))
    tensor([0.    , 0.8413])
    """
    return apply(GELU(approximate), x)


@operation()
def softplus(x: Any, beta: float = 1.0) -> Tensor:
    """ln(1 + e^(βx))/β, a smooth ReLU; stable for large |x|.

    >>> import autonet as an
    >>> an.softplus(an.tensor([0.0, 1e4]))
    tensor([6.9315e-01, 1.0000e+04])
    """
    return apply(Softplus(beta), x)


@operation()
def erf(x: Any) -> Tensor:
    """The error function, elementwise.

    >>> import autonet as an
    >>> an.erf(an.tensor([0.0, 10.0]))
    tensor([0., 1.])
    """
    return apply(Erf(), x)


@operation(aliases=("clamp",), numpy=np.clip)
def clip(x: Any, min: float | None = None, max: float | None = None) -> Tensor:
    """Limit values to ``[min, max]`` (either bound may be left out); also ``clamp``.

    >>> import autonet as an
    >>> an.clip(an.tensor([-2.0, 0.5, 3.0]), -1, 1)
    tensor([-1. ,  0.5,  1. ])
    """
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    return apply(Clip(min, max), x)


clamp = clip


@operation(ufunc=np.maximum)
def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum of two tensors (or a tensor and a number), with broadcasting.

    >>> import autonet as an
    >>> an.maximum(an.tensor([1.0, 5.0]), 3)
    tensor([3., 5.])
    """
    return apply(Maximum(), a, b)


@operation(ufunc=np.minimum)
def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum of two tensors (or a tensor and a number), with broadcasting.

    >>> import autonet as an
    >>> an.minimum(an.tensor([1.0, 5.0]), 3)
    tensor([1., 3.])
    """
    return apply(Minimum(), a, b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a`` where ``condition`` is true, else ``b`` (all three broadcast).

    >>> import autonet as an
    >>> x = an.tensor([-1.0, 2.0])
    >>> an.where(x > 0, x, 0.0)
    tensor([0., 2.])
    """
    if isinstance(condition, Tensor):
        condition = condition.data
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = as_tensor(a)
    return Where.apply(np.asarray(condition, dtype=bool), a, b)
