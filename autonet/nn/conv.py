"""Convolutional layers, pooling and embeddings, with PyTorch's names, arguments and parameter
shapes (so state dicts load into the equivalent PyTorch model)."""

from __future__ import annotations

import math
from typing import Any

from autonet import functional as F
from autonet.engine.factories import empty
from autonet.engine.ops.conv import pair
from autonet.engine.tensor import Tensor
from autonet.functional.conv import PADDING_MODES, pad_by_mode, padding_pairs
from autonet.nn import init
from autonet.nn.module import Module
from autonet.nn.parameter import Parameter

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d", "Conv1d", "Conv2d", "Dropout2d", "Embedding",
    "MaxPool1d", "MaxPool2d",
]  # fmt: skip


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the parameters, their initialization, padding by a mode
    other than zeros, and the repr."""

    dims = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any,
                 padding: Any, dilation: Any, groups: int, bias: bool, padding_mode: str,
                 dtype: Any) -> None:  # fmt: skip
        super().__init__()
        name = type(self).__name__
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: groups={groups} must divide in_channels ({in_channels}) and "
                f"out_channels ({out_channels})"
            )
        if padding_mode != "zeros" and padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be 'zeros', {', '.join(map(repr, PADDING_MODES))}, "
                f"got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = self._tuple("kernel_size", kernel_size, 1)
        self.stride = self._tuple("stride", stride, 1)
        self.padding = padding if isinstance(padding, str) else self._tuple("padding", padding, 0)
        self.dilation = self._tuple("dilation", dilation, 1)
        self.groups = groups
        if padding == "same" and self.stride != (1,) * self.dims:
            raise ValueError(f"{name}: padding='same' needs stride 1, got stride {self.stride}")
        shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(empty(*shape, dtype=dtype))
        self.bias = Parameter(empty(out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def _tuple(self, name: str, value: Any, minimum: int) -> tuple[int, ...]:
        if self.dims == 1:
            value = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
            return (pair(type(self).__name__, name, value, minimum)[0],)
        return pair(type(self).__name__, name, value, minimum)

    def reset_parameters(self) -> None:
        # PyTorch's default: kaiming_uniform_ with a = √5, so W ~ U(-1/√fan_in, 1/√fan_in),
        # and the bias from the same range; fan_in = in_channels/groups · kernel elements.
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.size // self.weight.shape[0]
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def _pad_input(self, x: Tensor) -> tuple[Tensor, Any]:
        """With ``padding_mode`` other than zeros, pad ``x`` here; return it with the padding
        left for the convolution."""
        if self.padding_mode == "zeros":
            return x, self.padding
        name, short = type(self).__name__, 2 - self.dims  # 1-D: 2-D over a height of 1
        padding = self.padding if isinstance(self.padding, str) else (0,) * short + self.padding
        one = (1,) * short
        pairs = padding_pairs(name, padding, one + self.kernel_size, one + self.stride,
                               one + self.dilation)  # fmt: skip
        x = pad_by_mode(name, x, pairs[short:], self.padding_mode)
        return x, (0,) * self.dims

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")  # fmt: skip
        if self.padding != (0,) * self.dims:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self.dims:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    """2-D convolution over (N, C, H, W) inputs: weight (out_channels, in_channels/groups, kH,
    kW), bias (out_channels,). See :func:`autonet.nn.functional.conv2d` for the arguments;
    ``padding_mode`` pads with ``"zeros"`` or by ``"reflect"``, ``"replicate"`` or
    ``"circular"``, as PyTorch's.

    >>> import autonet as an
    >>> conv = an.nn.Conv2d(1, 16, 3, padding=1)
    >>> conv
    Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> conv.weight.shape, conv(an.zeros(2, 1, 8, 8)).shape
    ((16, 1, 3, 3), (2, 16, 8, 8))
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = None) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._pad_input(x)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)  # fmt: skip


class Conv1d(_ConvNd):
    """1-D convolution over (N, C, L) inputs: weight (out_channels, in_channels/groups, k).

    >>> import autonet as an
    >>> conv = an.nn.Conv1d(4, 8, 5, stride=2)
    >>> conv, conv(an.zeros(3, 4, 21)).shape
    (Conv1d(4, 8, kernel_size=(5,), stride=(2,)), (3, 8, 9))
    """

    dims = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = None) -> None:  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, dtype)  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        x, padding = self._pad_input(x)
        padding = padding if isinstance(padding, str) else padding[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], padding, self.dilation[0],
                        self.groups)  # fmt: skip


class MaxPool2d(Module):
    """The maximum of each ``kernel_size`` window (``stride`` defaults to the kernel); see
    :func:`autonet.nn.functional.max_pool2d`.

    >>> import autonet as an
    >>> pool = an.nn.MaxPool2d(2)
    >>> pool, pool(an.zeros(1, 3, 8, 8)).shape
    (MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False), (1, 3, 4, 4))
    """

    pool = staticmethod(F.max_pool2d)

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, x: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        return self.pool(x, self.kernel_size, self.stride, self.padding, self.dilation,
                         self.ceil_mode, self.return_indices)  # fmt: skip

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")  # fmt: skip


class MaxPool1d(MaxPool2d):
    """The maximum of each ``kernel_size`` window along the last axis of (N, C, L) inputs.

    >>> import autonet as an
    >>> an.nn.MaxPool1d(3, stride=2)(an.zeros(2, 4, 9)).shape
    (2, 4, 4)
    """

    pool = staticmethod(F.max_pool1d)


class AvgPool2d(Module):
    """The mean of each ``kernel_size`` window; padded zeros count unless
    ``count_include_pad=False``. See :func:`autonet.nn.functional.avg_pool2d`.

    >>> import autonet as an
    >>> an.nn.AvgPool2d(2)(an.ones(1, 1, 4, 4))
    tensor([[[[1., 1.],
              [1., 1.]]]])
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(Module):
    """The mean of each ``kernel_size`` window along the last axis of (N, C, L) inputs.

    >>> import autonet as an
    >>> an.nn.AvgPool1d(2)
    AvgPool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    """

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = self.kernel_size if stride is None else _single(stride)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)  # fmt: skip

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def _single(value: Any) -> tuple[int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class AdaptiveAvgPool2d(Module):
    """Average into a fixed ``output_size`` whatever the input's height and width.

    >>> import autonet as an
    >>> an.nn.AdaptiveAvgPool2d((2, 3))(an.zeros(1, 4, 7, 9)).shape
    (1, 4, 2, 3)
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class Dropout2d(Module):
    """In training, zero whole channels with probability ``p`` (scaling the rest by 1/(1-p)).

    >>> import autonet as an
    >>> an.nn.Dropout2d(0.25)
    Dropout2d(p=0.25)
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout2d: probability must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``, looked up by integer
    index; weight drawn from N(0, 1) as in PyTorch. The row at ``padding_idx`` starts at zero
    and receives no gradient.

    >>> import autonet as an
    >>> emb = an.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(an.tensor([[1, 2, 0]])).shape, emb.weight[0].tolist()
    ((1, 3, 3), [0.0, 0.0, 0.0])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx {padding_idx} is out of range for {num_embeddings} "
                "embeddings"
            )
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = Parameter(empty(num_embeddings, embedding_dim, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0  # NOTE: at construction no graph holds it

    def forward(self, indices: Any) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
