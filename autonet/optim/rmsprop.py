"""RMSprop: gradients divided by a running root mean square of their recent values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autonet.engine.factories import zeros_like
from autonet.engine.tensor import Tensor
from autonet.optim.optimizer import Optimizer, check_nonnegative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e; centered form from Graves, 2013), PyTorch's rule.

    With learning rate γ, smoothing constant α, ε, weight decay λ and momentum μ, each step
    does::

        g ← ∇f(θ)                          (−∇f(θ) if maximize)
        g ← g + λ θ                        if λ ≠ 0
        v ← α v + (1 − α) g²               v₀ = 0 (state "square_avg")
        ṽ = v
        if centered:
            ḡ ← α ḡ + (1 − α) g            ḡ₀ = 0 (state "grad_avg")
            ṽ = v − ḡ²                     an estimate of the gradient's variance
        if μ > 0:
            b ← μ b + g / (√ṽ + ε)         b₀ = 0 (state "momentum_buffer")
            θ ← θ − γ b
        else:
            θ ← θ − γ g / (√ṽ + ε)

    NOTE: ε is added after the square root (TensorFlow adds it inside).

    >>> import autonet as an
    >>> from autonet.optim import RMSprop
    >>> w = an.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> (w * w).sum().backward()
    >>> opt.step()                     # first step: g / √(0.25 g²) = 2 sign(g)
    >>> w
    tensor([ 0.98, -1.98], requires_grad=True)
    """

    _state_names = ("step", "square_avg", "momentum_buffer", "grad_avg")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "alpha", "eps", "weight_decay", "momentum")

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "square_avg": zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = zeros_like(p)
        return state

    def _update(
        self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        alpha, weight_decay, momentum = group["alpha"], group["weight_decay"], group["momentum"]
        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * p.data
        state["step"] += 1
        v = state["square_avg"].data
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            g_avg = state["grad_avg"].data
            g_avg *= alpha
            g_avg += (1 - alpha) * g
            denom = v - g_avg * g_avg
            np.sqrt(denom, out=denom)
        else:
            denom = np.sqrt(v)
        denom += group["eps"]
        if momentum > 0:
            buf = state["momentum_buffer"].data
            buf *= momentum
            buf += g / denom
            p.sub_(buf, alpha=group["lr"])
        else:
            p.sub_(g / denom, alpha=group["lr"])
