"""Layers: Linear, Identity, Flatten, Dropout, LayerNorm, BatchNorm1d, BatchNorm2d."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from autonet import functional as F
from autonet.engine.factories import empty, ones, tensor, zeros
from autonet.engine.tensor import Tensor
from autonet.nn import init
from autonet.nn.module import Module
from autonet.nn.parameter import Parameter


class Linear(Module):
    """y = x Wᵀ + b with W of shape (out_features, in_features), as in PyTorch, and PyTorch's
    default initialization: W and b drawn from U(-1/√in, 1/√in).

    >>> import autonet as an
    >>> layer = an.nn.Linear(3, 2)
    >>> layer.weight.shape, layer.bias.shape, layer(an.zeros(5, 3)).shape
    ((2, 3), (2,), (5, 2))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_ with a = √5, as PyTorch: the bound works out to 1/√in_features
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")  # fmt: skip


class Identity(Module):
    """Returns its input unchanged (a placeholder, or the "linear" activation)."""

    def forward(self, x: Tensor) -> Tensor:
        return x


class Flatten(Module):
    """Merge axes ``start_dim..end_dim`` (all but the batch axis by default).

    >>> import autonet as an
    >>> an.nn.Flatten()(an.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Dropout(Module):
    """Randomly zero elements with probability ``p`` while training (scaling the rest by
    1/(1-p)); the identity in evaluation mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm(Module):
    """Normalize over the last axes to zero mean and unit variance, then scale and shift with
    learned ``weight`` (ones) and ``bias`` (zeros; none with ``bias=False``)."""

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        shape = (
            (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        )
        self.normalized_shape = shape
        self.eps = eps
        self.weight = Parameter(ones(shape)) if elementwise_affine else None
        self.bias = Parameter(zeros(shape)) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class BatchNorm1d(Module):
    """Normalize each feature over the batch (input (N, C) or (N, C, L)), with learned
    ``weight`` and ``bias``; running statistics (buffers ``running_mean``, ``running_var``,
    ``num_batches_tracked``, PyTorch's names) are updated in training and used in evaluation.

    >>> import autonet as an
    >>> bn = an.nn.BatchNorm1d(2)
    >>> y = bn(an.tensor([[1.0, 10.0], [3.0, 30.0]]))
    >>> y
    tensor([[-1., -1.],
            [ 1.,  1.]], grad_fn=<add>)
    >>> bn.running_mean
    tensor([0.2, 2. ])
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.weight = Parameter(ones(num_features)) if affine else None
        self.bias = Parameter(zeros(num_features)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features))
            self.register_buffer("running_var", ones(num_features))
            self.register_buffer("num_batches_tracked", tensor(0))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    expected = ("(N, {C})", "(N, {C}, L)")  # the input shapes this layer takes

    def forward(self, x: Tensor) -> Tensor:
        shapes = [s.format(C=self.num_features) for s in self.expected]
        if x.ndim not in [s.count(",") + 1 for s in shapes] or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}): expected input "
                f"{' or '.join(shapes)}, got shape {x.shape}"
            )
        use_batch = self.training or self.running_mean is None
        if self.training and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            use_batch, self.momentum, self.eps)  # fmt: skip

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm2d(BatchNorm1d):
    """Normalize each channel of (N, C, H, W) images over the batch and the pixels; the same
    parameters and running statistics as :class:`BatchNorm1d`.

    >>> import autonet as an
    >>> bn = an.nn.BatchNorm2d(3)
    >>> y = bn(an.randn(4, 3, 5, 5) * 10 + 2)
    >>> y.mean(axis=(0, 2, 3)).abs().max().item() < 1e-5, y.var(axis=(0, 2, 3)).numpy().round(4)
    (True, array([1., 1., 1.], dtype=float32))
    """

    expected = ("(N, {C}, H, W)",)
