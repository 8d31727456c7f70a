"""Checking gradients against finite differences.

For a function f of tensors, ``gradcheck`` picks a random weighting u of f's outputs and
compares, for every element xᵢ of every input that requires grad,

    the engine's ∂(u·f)/∂xᵢ   with   (u·f(x + ε eᵢ) - u·f(x - ε eᵢ)) / 2ε,

the central difference, whose error shrinks like ε². All of it runs in float64: float32 inputs
are converted first, because float32 rounding would swamp the difference quotient.
``gradgradcheck`` applies the same test to the gradient itself, which checks second
derivatives (the backward pass recorded with ``create_graph=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autonet.engine.autograd import grad
from autonet.engine.grad_mode import enable_grad
from autonet.engine.tensor import Tensor, wrap


class GradcheckError(AssertionError):
    """The engine's gradient disagrees with finite differences."""


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradients with respect to every input that requires grad.

    Returns True, or raises :class:`GradcheckError` naming the input, the element, both
    values and the tolerance (returns False instead with ``raise_exception=False``). An
    element passes when ``|engine - numeric| <= atol + rtol * |numeric|``.

    >>> import autonet as an
    >>> x = an.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    >>> an.testing.gradcheck(lambda t: (t.tanh() * t).sum(axis=1), (x,))
    True
    """
    args = _float64_copies(inputs)
    checked = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    weigh = _Weighting(seed)

    def weighted(*xs: Any) -> Tensor:
        return weigh(fn(*xs))

    with enable_grad():
        total = weighted(*args)
        if total.requires_grad:
            engine = grad(total, [args[i] for i in checked], allow_unused=True)
        else:  # no output depends on the inputs: every gradient is zero
            engine = (None,) * len(checked)
        worst = None
        for i, g in zip(checked, engine):
            x = args[i]
            numeric = _central_differences(weighted, args, x, eps)
            analytic = np.zeros_like(x.data) if g is None else g.data
            excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
            if excess.size and (worst is None or excess.max() > worst[0]):
                at = np.unravel_index(int(np.argmax(excess)), excess.shape)
                a, n = float(analytic[at]), float(numeric[at])
                worst = (excess.max(), i, x.shape, at, a, n, atol + rtol * abs(n))
    if worst is None or worst[0] <= 0:
        return True
    _, i, shape, at, a, n, tol = worst
    index = tuple(int(j) for j in at)
    message = (
        f"gradcheck: the gradient of input {i} (shape {shape}) at index {index} "
        f"is {a!r} by the engine but {n!r} by finite differences "
        f"(difference {abs(a - n):.3g} > tolerance {tol:.3g})"
    )
    if raise_exception:
        raise GradcheckError(message)
    return False


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: ``gradcheck`` applied to the gradient of ``fn`` (computed with
    ``create_graph=True``, so the engine differentiates its own backward pass).

    >>> import autonet as an
    >>> x = an.tensor([0.3, -0.7], requires_grad=True)
    >>> an.testing.gradgradcheck(lambda t: t.sigmoid() * t.exp(), (x,))
    True
    """
    weigh = _Weighting(seed + 1)

    def first_derivatives(*xs: Any) -> tuple[Tensor, ...]:
        wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        total = weigh(fn(*xs))
        if not total.requires_grad:
            return tuple(wrap(np.zeros_like(x.data)) for x in wrt)
        grads = grad(total, wrt, create_graph=True, allow_unused=True)
        return tuple(wrap(np.zeros_like(x.data)) if g is None else g for x, g in zip(wrt, grads))

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, raise_exception, seed)


class _Weighting:
    """u·f: the outputs of f weighted by fixed random arrays (drawn once per output shape) and
    summed, so that one scalar sees every output element with a different weight."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.weights: list[np.ndarray] = []

    def __call__(self, out: Any) -> Tensor:
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
        if not outs:
            raise ValueError("gradcheck: the function returned no floating-point tensor")
        while len(self.weights) < len(outs):
            self.weights.append(self.rng.standard_normal(outs[len(self.weights)].shape))
        total = wrap(np.zeros((), np.float64))
        for o, u in zip(outs, self.weights):
            total = total + (o * u).sum()
        return total


def _float64_copies(inputs: Tensor | Sequence[Any]) -> list[Any]:
    """Fresh float64 leaves with the same ``requires_grad``; other inputs pass unchanged."""
    items = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    out = []
    for a in items:
        if isinstance(a, Tensor) and a.dtype.kind == "f":
            c = wrap(a.data.astype(np.float64))
            c.requires_grad = a.requires_grad
            out.append(c)
        else:
            out.append(a)
    return out


def _central_differences(
    f: Callable[..., Tensor], args: list[Any], x: Tensor, eps: float
) -> np.ndarray:
    numeric = np.zeros_like(x.data)
    flat = x.data.reshape(-1)  # a view: changing it changes x
    out = numeric.reshape(-1)
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = f(*args).item()
        flat[j] = original - eps
        minus = f(*args).item()
        flat[j] = original
        out[j] = (plus - minus) / (2 * eps)
    return numeric
