"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autonet.engine.factories import zeros_like
from autonet.engine.tensor import Tensor
from autonet.optim.optimizer import Optimizer, check_nonnegative

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's rule, with the AMSGrad variant.

    With learning rate γ, betas (β₁, β₂), ε and weight decay λ, step ``t = 1, 2, ...`` does::

        g ← ∇f(θ)                          (−∇f(θ) if maximize)
        g ← g + λ θ                        if λ ≠ 0 (an L2 penalty, seen by the moments)
        m ← β₁ m + (1 − β₁) g              first moment,  m₀ = 0
        v ← β₂ v + (1 − β₂) g²             second moment, v₀ = 0
        m̂ = m / (1 − β₁ᵗ)                  bias corrections
        v̂ = v / (1 − β₂ᵗ)
        θ ← θ − γ m̂ / (√v̂ + ε)

    With ``amsgrad=True`` the denominator uses the largest second moment so far:
    ``v_max ← max(v_max, v)`` and ``v̂ = v_max / (1 − β₂ᵗ)``.

    NOTE: the running maximum is taken over the *uncorrected* v (state ``"max_exp_avg_sq"``),
    as PyTorch computes it; older PyTorch documentation wrote it over v̂.

    >>> import autonet as an
    >>> from autonet.optim import Adam
    >>> w = an.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()                     # the first step moves each weight by about lr
    >>> w
    tensor([ 0.9, -1.9], requires_grad=True)
    """

    _state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    # AdamW sets this: weight decay shrinks θ directly instead of entering the gradient.
    _decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        name = type(self).__name__
        check_nonnegative(self, group, "lr", "eps", "weight_decay")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not isinstance(beta, (int, float)) or not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: invalid beta{i + 1}={beta!r} (it must be in [0, 1))")

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": 0, "exp_avg": zeros_like(p), "exp_avg_sq": zeros_like(p)}
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_like(p)
        return state

    def _update(
        self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            if self._decoupled_weight_decay:
                p.mul_(1 - lr * weight_decay)  # θ ← θ − γλθ, outside the moments
            else:
                g = g + weight_decay * p.data
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"].data, state["exp_avg_sq"].data
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            v_max = state["max_exp_avg_sq"].data
            np.maximum(v_max, v, out=v_max)
            v = v_max
        # θ ← θ − γ/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - beta2**t)
        denom += group["eps"]
        np.divide(m, denom, out=denom)
        p.sub_(denom, alpha=lr / (1 - beta1**t))


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's rule.

    The same as :class:`Adam`, except that weight decay λ shrinks the parameter directly
    instead of being added to the gradient (where the moments would rescale it)::

        θ ← θ − γ λ θ                      before the Adam step, with the raw gradient
        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²
        θ ← θ − γ m̂ / (√v̂ + ε)

    The default weight decay is 1e-2.

    >>> import autonet as an
    >>> from autonet.optim import AdamW
    >>> w = an.tensor([10.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = an.zeros(1)           # no gradient signal: only the decay acts
    >>> opt.step()
    >>> w                              # 10 · (1 − 0.1 · 0.5)
    tensor([9.5], requires_grad=True)
    """

    _decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
