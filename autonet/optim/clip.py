"""Gradient clipping: rescale gradients by their global norm, or clamp each element."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from autonet.engine.grad_mode import no_grad
from autonet.engine.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(op: str, parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    """The gradients of ``parameters`` (one tensor or an iterable), skipping those without."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = []
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameter {i} is a {type(p).__name__}, not a Tensor")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:
    r"""Scale all gradients together, in place, so that their global norm is at most
    ``max_norm``; return the global norm before clipping as a 0-d tensor, computed in
    float32 at least (float16 gradients of a few hundred would overflow float16's squares).

    The global norm treats every gradient as one long vector:
    ``‖g‖_p = (Σᵢ ‖gᵢ‖_pᵖ)^(1/p)``, or ``max |g|`` for ``norm_type=inf``. Each gradient is
    multiplied by ``min(1, max_norm / (‖g‖ + 1e-6))``, so the direction of the combined
    gradient is kept. A nan or inf norm raises a RuntimeError if ``error_if_nonfinite``;
    otherwise it makes the gradients nan, as in PyTorch.

    >>> import autonet as an
    >>> from autonet.optim import clip_grad_norm_
    >>> a, b = an.zeros(2, requires_grad=True), an.zeros(1, requires_grad=True)
    >>> a.grad, b.grad = an.tensor([3.0, 4.0]), an.tensor([12.0])
    >>> clip_grad_norm_([a, b], max_norm=6.5)     # ‖(3, 4, 12)‖ = 13
    tensor(13.)
    >>> a.grad, b.grad                            # halved
    (tensor([1.5, 2. ]), tensor([6.]))
    """
    grads = _grads("clip_grad_norm_", parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return Tensor(0.0)
    # NOTE: in float16 (largest value 65504) a norm of inf would zero every gradient.
    dtype = np.result_type(np.float32, *(g.dtype for g in grads))
    # The norm of the per-tensor norms (an empty gradient has norm 0 and is left out).
    norms = [
        np.linalg.vector_norm(g.data.astype(dtype, copy=False), ord=norm_type)
        for g in grads
        if g.data.size
    ]
    total = np.linalg.vector_norm(np.array(norms, dtype), ord=norm_type) if norms else 0.0
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "some gradient holds nan or inf (pass error_if_nonfinite=False to clip anyway)"
        )
    # NOTE: the 1e-6 keeps the division finite for zero gradients; a nan norm gives a nan
    # coefficient (min(nan, 1.0) is nan), which spreads to every gradient, as in PyTorch.
    coef = min(max_norm / (float(total) + 1e-6), 1.0)
    if coef != 1.0:
        with no_grad():
            for g in grads:
                g.mul_(coef)
    return Tensor(total, dtype=dtype)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element, in place, into ``[-clip_value, clip_value]``.

    >>> import autonet as an
    >>> from autonet.optim import clip_grad_value_
    >>> w = an.zeros(3, requires_grad=True)
    >>> w.grad = an.tensor([-5.0, 0.5, 2.0])
    >>> clip_grad_value_(w, 1.0)
    >>> w.grad
    tensor([-1. ,  0.5,  1. ])
    """
    clip_value = float(clip_value)
    if not clip_value >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    with no_grad():
        for g in _grads("clip_grad_value_", parameters):
            g.copy_(np.clip(g.data, -clip_value, clip_value))
