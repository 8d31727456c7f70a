"""The computations behind layers: linear maps, dropout, normalization, one-hot encoding.

All are forward code over engine operations; their gradients come from the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autonet.engine import ops
from autonet.engine.grad_mode import no_grad
from autonet.engine.random import default_generator
from autonet.engine.tensor import Tensor, as_tensor, wrap


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b, with ``weight`` of shape (out_features, in_features) as in PyTorch.

    >>> import autonet as an
    >>> F = an.nn.functional
    >>> F.linear(an.ones(1, 2), an.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), an.zeros(3))
    tensor([[ 3.,  7., 11.]])
    """
    x = as_tensor(x)
    if x.data.shape[-1:] != weight.data.shape[-1:]:
        raise ValueError(
            f"linear: input has {x.shape[-1] if x.ndim else 0} features (shape {x.shape}) but "
            f"the weight expects {weight.shape[-1]} (weight shape {weight.shape})"
        )
    if bias is not None and bias.data.shape != weight.data.shape[:1]:
        raise ValueError(
            f"linear: bias of shape {bias.shape} does not fit weight {weight.shape}: expected "
            f"({weight.shape[0]},)"
        )
    return ops.linear(x, weight, bias)  # one engine primitive: x Wᵀ + b


def dropout(x: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p), so the expected
    value is unchanged; the identity when not ``training``. The mask comes from autonet's
    generator (``an.manual_seed``).

    >>> import autonet as an
    >>> y = an.nn.functional.dropout(an.ones(10000), 0.25)
    >>> abs(float((y == 0).float().mean()) - 0.25) < 0.03, round(float(y.max()), 4)
    (True, 1.3333)
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability must be between 0 and 1, got {p}")
    x = as_tensor(x)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = default_generator().random(x.shape) >= p
    return x * (keep / (1 - p)).astype(x.dtype)


def layer_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the last axes (those of ``normalized_shape``):
    y = (x - mean) / √(var + eps) · weight + bias, with the biased variance.

    >>> import autonet as an
    >>> an.nn.functional.layer_norm(an.tensor([[1.0, 3.0]]), 2)
    tensor([[-1.,  1.]])
    """
    x = as_tensor(x)
    axes = normalized_axes("layer_norm", x, normalized_shape)
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return _scale_and_shift(centred, var, eps, weight, bias)


def normalized_axes(op: str, x: Tensor, normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """The last axes of ``x``, those of ``normalized_shape`` (an error naming ``op`` if ``x``'s
    shape does not end with it), for the normalizations over the last axes."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if x.shape[x.ndim - len(shape) :] != shape:
        raise ValueError(f"{op}: input shape {x.shape} does not end with {shape}")
    return tuple(range(x.ndim - len(shape), x.ndim))


def batch_norm(
    x: Any,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel (axis 1) over the batch and any further axes.

    Training: y = (x - batch mean) / √(batch var + eps), and the running statistics move toward
    the batch's: running ← (1 - momentum)·running + momentum·batch (with the unbiased variance,
    as PyTorch). Evaluation: the running statistics are used instead. Then y·weight + bias.

    >>> import autonet as an
    >>> x = an.tensor([[1.0], [3.0]])
    >>> an.nn.functional.batch_norm(x, an.zeros(1), an.ones(1), training=True)
    tensor([[-1.],
            [ 1.]])
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected (N, C, ...) input, got shape {x.shape}")
    axes = (0, *range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)  # broadcasts per channel
    if training:
        n = x.size // x.shape[1]
        if n < 2:
            raise ValueError(
                f"batch_norm: need more than one value per channel in training, got shape {x.shape}"
            )
        mean = x.mean(axis=axes, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=axes, keepdims=True)
        if running_mean is not None and running_var is not None:
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean.detach().reshape(-1), alpha=momentum)
                unbiased = var.detach().reshape(-1) * (n / (n - 1))
                running_var.mul_(1 - momentum).add_(unbiased, alpha=momentum)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation needs running statistics")
        centred, var = x - running_mean.reshape(shape), running_var.reshape(shape)
    return _scale_and_shift(
        centred, var, eps,
        None if weight is None else weight.reshape(shape),
        None if bias is None else bias.reshape(shape),
    )  # fmt: skip


def _scale_and_shift(centred: Tensor, var: Tensor, eps: float, weight: Tensor | None,
                     bias: Tensor | None) -> Tensor:  # fmt: skip
    """centred / √(var + eps) · weight + bias, the normalizations' last step.

    NOTE: written as centred · (weight / √(var + eps)) + bias: the factor is computed on the
    small statistics' shape, so the full-size array goes through one product (and its
    backward through two) instead of a division and a product.
    """
    scale = (var + eps) ** -0.5
    if weight is not None:
        scale = scale * weight
    y = centred * scale
    return y if bias is None else y + bias


def one_hot(labels: Any, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows (int64), as PyTorch's ``one_hot``.

    >>> import autonet as an
    >>> an.nn.functional.one_hot(an.tensor([0, 2]), 3)
    tensor([[1, 0, 0],
            [0, 0, 1]])
    """
    y = as_tensor(labels).data
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, not {y.dtype}")
    n = int(y.max()) + 1 if num_classes < 0 else num_classes
    if y.size and (y.min() < 0 or y.max() >= n):
        raise ValueError(f"one_hot: labels must lie in [0, {n}), got {y.min()}..{y.max()}")
    return wrap((y[..., None] == np.arange(n)).astype(np.int64))
