"""Normalization layers beside LayerNorm and BatchNorm: GroupNorm and RMSNorm, with PyTorch's
arguments and parameters (``weight`` ones, ``bias`` zeros)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autonet import functional as F
from autonet.engine.factories import ones, zeros
from autonet.engine.tensor import Tensor
from autonet.nn.module import Module
from autonet.nn.parameter import Parameter

__all__ = ["GroupNorm", "RMSNorm"]


class GroupNorm(Module):
    """Normalize each sample's groups of channels (see
    :func:`autonet.nn.functional.group_norm`), then scale and shift each channel with learned
    ``weight`` (ones) and ``bias`` (zeros) of shape (num_channels,). Unlike batch
    normalization it does not depend on the batch, and keeps no running statistics.

    >>> import autonet as an
    >>> gn = an.nn.GroupNorm(2, 6)
    >>> gn, gn(an.randn(4, 6, 5, 5)).shape
    (GroupNorm(2, 6, eps=1e-05, affine=True), (4, 6, 5, 5))
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        if num_groups <= 0 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                f"({num_groups})"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        self.register_parameter("weight", Parameter(ones(num_channels, dtype=dtype)) if affine
                                else None)  # fmt: skip
        self.register_parameter("bias", Parameter(zeros(num_channels, dtype=dtype)) if affine
                                else None)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ValueError(
                f"GroupNorm: expected input (N, {self.num_channels}, ...), got shape {x.shape}"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """Divide by the root mean square over the last axes (see
    :func:`autonet.nn.functional.rms_norm`) and scale by a learned ``weight`` (ones) of shape
    ``normalized_shape``.

    >>> import autonet as an
    >>> norm = an.nn.RMSNorm(4)
    >>> norm
    RMSNorm((4,), eps=None, elementwise_affine=True)
    >>> norm(an.tensor([[2.0, 2.0, -2.0, 2.0]]))
    tensor([[ 1.,  1., -1.,  1.]], grad_fn=<mul>)
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float | None = None,
                 elementwise_affine: bool = True, dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        self.register_parameter("weight", Parameter(ones(shape, dtype=dtype))
                                if elementwise_affine else None)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")  # fmt: skip
