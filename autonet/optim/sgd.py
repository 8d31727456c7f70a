"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autonet.engine.tensor import Tensor
from autonet.optim.optimizer import Optimizer, check_nonnegative

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's rule.

    With learning rate γ, momentum μ, dampening τ and weight decay λ, each step ``t = 1, 2, ...``
    does, for every parameter θ with a gradient::

        g ← ∇f(θ)                 (−∇f(θ) if maximize)
        g ← g + λ θ               if λ ≠ 0
        if μ ≠ 0:
            b ← g                 at t = 1
            b ← μ b + (1 − τ) g   after that
            g ← g + μ b           if nesterov, else g ← b
        θ ← θ − γ g

    NOTE: as in PyTorch, the velocity ``b`` accumulates gradients, not ``γ · gradient``
    (Sutskever et al. write ``v ← μ v + γ g``); the two agree while γ stays constant.

    >>> import autonet as an
    >>> from autonet.optim import SGD
    >>> w = an.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()       # gradient 2w
    ...     opt.step()
    >>> w                                  # 1 → 0.8 → 0.8 − 0.1·(0.9·2 + 1.6) = 0.46
    tensor([ 0.46, -0.92], requires_grad=True)
    """

    _state_names = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: Mapping[str, Any]) -> None:
        check_nonnegative(self, group, "lr", "momentum", "dampening", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"SGD: Nesterov momentum needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']!r} and dampening={group['dampening']!r}"
            )

    def _update(
        self, p: Tensor, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        g = -grad if group["maximize"] else grad
        if weight_decay != 0:
            g = g + weight_decay * p.data  # a new array: p.grad itself is left alone
        if momentum != 0:
            # NOTE: the buffer is made at the first step with momentum (PyTorch's state dicts
            # hold None until then), as a copy of g in the parameter's dtype.
            if state.get("momentum_buffer") is None:
                state["momentum_buffer"] = Tensor(g, dtype=p.dtype)  # b₁ = g₁
                buf = state["momentum_buffer"].data
            else:
                buf = state["momentum_buffer"].data
                buf *= momentum
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        p.sub_(g, alpha=group["lr"])
