"""Adagrad: per-coordinate step sizes that shrink with the sum of past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autonet.engine.factories import full_like
from autonet.engine.tensor import Tensor
from autonet.optim.optimizer import Optimizer, check_nonnegative

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), PyTorch's rule.

    With learning rate γ, learning-rate decay η, weight decay λ, initial accumulator value
    s₀ and ε, step ``t = 1, 2, ...`` does::

        g ← ∇f(θ)                          (−∇f(θ) if maximize)
        γ̃ = γ / (1 + (t − 1) η)
        g ← g + λ θ                        if λ ≠ 0
        s ← s + g²                         s starts at s₀ (state "sum")
        θ ← θ − γ̃ g / (√s + ε)

    >>> import autonet as an
    >>> from autonet.optim import Adagrad
    >>> w = an.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> (w * w).sum().backward()
    >>> opt.step()                     # first step: g / √(g²) = sign(g)
    >>> w
    tensor([ 0.5, -1.5], requires_grad=True)
    """

    _state_names = ("step", "sum")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(
            self, group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"
        )

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "sum": full_like(p, group["initial_accumulator_value"])}

    def _update(
        self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        weight_decay = group["weight_decay"]
        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * p.data
        state["step"] += 1
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        s = state["sum"].data
        s += g * g
        denom = np.sqrt(s)
        denom += group["eps"]
        p.sub_(g / denom, alpha=lr)
