"""Normalizations over groups of channels and by root mean square, as forward code over engine
operations (``layer_norm`` and ``batch_norm`` are in :mod:`autonet.functional.layers`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autonet.engine.tensor import Tensor, as_tensor
from autonet.functional.layers import layer_norm, normalized_axes

__all__ = ["group_norm", "rms_norm"]


def group_norm(
    x: Any,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalization (Wu & He, 2018): the C channels of an (N, C, ...) input are cut into
    ``num_groups`` groups of C/G; each sample's group is normalized over its channels and
    positions, y = (x - mean) / √(var + eps) (biased variance), then scaled and shifted per
    channel by ``weight`` and ``bias`` (C,). One group is layer normalization over (C, ...);
    C groups are instance normalization.

    >>> import autonet as an
    >>> x = an.tensor([[[1.0], [3.0], [10.0], [30.0]]])        # (N=1, C=4, L=1)
    >>> an.nn.functional.group_norm(x, 2).reshape(-1)
    tensor([-1.,  1., -1.,  1.])
    """
    x = as_tensor(x)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ValueError(
            f"group_norm: expected (N, C, ...) input with C divisible by num_groups={num_groups}, "
            f"got shape {x.shape}"
        )
    n, c = x.shape[:2]
    grouped = x.reshape(n, num_groups, -1)  # (N, G, C/G · positions)
    y = layer_norm(grouped, grouped.shape[-1], eps=eps).reshape(x.shape)
    per_channel = (1, c) + (1,) * (x.ndim - 2)  # broadcasts over the positions
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


def rms_norm(
    x: Any,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """Root-mean-square normalization (Zhang & Sennrich, 2019) over the last axes (those of
    ``normalized_shape``): y = x / √(mean(x²) + eps) · weight, with no centring and no bias.
    ``eps`` defaults to the machine epsilon of x's dtype, as in PyTorch.

    >>> import autonet as an
    >>> an.nn.functional.rms_norm(an.tensor([[3.0, -3.0]]), 2)
    tensor([[ 1., -1.]])
    """
    x = as_tensor(x)
    axes = normalized_axes("rms_norm", x, normalized_shape)
    eps = float(np.finfo(x.dtype).eps) if eps is None else eps
    y = x / ((x * x).mean(axis=axes, keepdims=True) + eps).sqrt()
    return y if weight is None else y * weight
