"""Sliding windows: ``unfold`` and ``fold``, the windows of an array as a tensor of their own.

``unfold`` gathers every kernel-sized window of the last two axes of an array,

    y[..., p, q, i, j] = x[..., p·s₁ + i·d₁, q·s₂ + j·d₂]

for output position (p, q), kernel offset (i, j), stride s and dilation d: an array of shape
``(..., OH, OW, kH, kW)``. NumPy gives it as a strided view of ``x``, so nothing is copied.

Unfolding is linear, and each element of ``x`` is read by every window that covers it, so its
VJP adds each window's gradient back where the window came from: that is ``fold``. Folding is
linear too, and its VJP reads the windows again: ``unfold``. Each primitive's backward is the
other one, so both are differentiable any number of times, and so is everything composed from
them. A convolution is, in the math, an unfold followed by a matrix product, and pooling an
unfold followed by a max or a mean; ``conv2d`` and the pools have primitives of their own
(``autonet.engine.ops.convolution``, ``autonet.engine.ops.pooling``) that compute the same
without holding every window as an array.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.tensor import Tensor, as_tensor

__all__ = ["fold", "unfold"]

Pair = tuple[int, int]


def output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """The number of windows along one axis: ⌊(size − d·(k − 1) − 1) / s⌋ + 1."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def values_of(t: Any) -> np.ndarray:
    """The array of a Tensor (a recorded backward pass hands Tensors), or the array itself."""
    return t.data if isinstance(t, Tensor) else t


class Unfold(Function):
    """y[..., p, q, i, j] = x[..., p·s₁ + i·d₁, q·s₂ + j·d₂];  dL/dx = fold(g)."""

    __slots__ = ("dilation", "kernel_size", "stride")
    name = "unfold"
    saves_inputs = "shape"

    def __init__(self, kernel_size: Pair, stride: Pair, dilation: Pair) -> None:
        self.kernel_size = kernel_size
        self.stride = stride
        self.dilation = dilation

    def forward(self, x):
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        windows = np.lib.stride_tricks.sliding_window_view(x, span, axis=(-2, -1))
        return windows[..., ::sh, ::sw, ::dh, ::dw]

    def backward(self, g, y, x):
        size = tuple(x.shape[-2:])
        return (Fold.apply(g, size=size, kernel_size=self.kernel_size, stride=self.stride,
                           dilation=self.dilation),)  # fmt: skip


class Fold(Function):
    """y = zeros(..., H, W) with every window x[..., p, q, :, :] added back where ``unfold``
    took it from (overlapping windows add up);  dL/dx = unfold(g)."""

    __slots__ = ("dilation", "kernel_size", "size", "stride")
    name = "fold"
    saves_inputs = "nothing"

    def __init__(self, size: Pair, kernel_size: Pair, stride: Pair, dilation: Pair) -> None:
        self.size = size
        self.kernel_size = kernel_size
        self.stride = stride
        self.dilation = dilation

    def forward(self, x):
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        oh, ow = x.shape[-4], x.shape[-3]
        lead = x.shape[:-4]
        if (sh, sw) == (kh, kw) and (dh, dw) == (1, 1):
            # NOTE: windows that tile the input (stride = kernel) do not overlap: the sum is
            # the windows laid side by side, (..., OH, OW, kH, kW) -> (..., OH·kH, OW·kW).
            tiles = x.swapaxes(-3, -2)  # (..., OH, kH, OW, kW)
            if (oh * kh, ow * kw) == self.size:
                out = np.empty(lead + self.size, dtype=x.dtype)
                out.reshape(tiles.shape)[...] = tiles
            else:  # a margin no window covers
                out = np.zeros(lead + self.size, dtype=x.dtype)
                out[..., : oh * kh, : ow * kw] = tiles.reshape(lead + (oh * kh, ow * kw))
            return out
        out = np.zeros(lead + self.size, dtype=x.dtype)
        # NOTE: one strided slice per kernel offset (kH·kW of them), never a loop over pixels.
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            for j in range(kw):
                out[..., rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += x[..., i, j]
        return out

    def backward(self, g, y, x):
        return (Unfold.apply(g, kernel_size=self.kernel_size, stride=self.stride,
                             dilation=self.dilation),)  # fmt: skip


def pair(op: str, name: str, value: Any, minimum: int) -> Pair:
    """An int or a pair of ints, as a pair; each at least ``minimum``."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def unfold(x: Any, kernel_size: Any, stride: Any = 1, dilation: Any = 1) -> Tensor:
    """Every ``kernel_size`` window of the last two axes: shape ``(..., OH, OW, kH, kW)``.

    ``OH = ⌊(H − d·(kH − 1) − 1) / s⌋ + 1`` (likewise OW). Pad first for padded windows.

    >>> import autonet as an
    >>> an.unfold(an.arange(9.0).reshape(3, 3), 2)[0, 1]   # the window at row 0, column 1
    tensor([[1., 2.],
            [4., 5.]])
    """
    x = as_tensor(x)
    kernel = pair("unfold", "kernel_size", kernel_size, 1)
    stride_ = pair("unfold", "stride", stride, 1)
    dilation_ = pair("unfold", "dilation", dilation, 1)
    if x.ndim < 2:
        raise ValueError(f"unfold: needs at least 2 axes, got shape {x.shape}")
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation_)]
    if any(span > n for span, n in zip(spans, x.shape[-2:])):
        raise ValueError(
            f"unfold: kernel {kernel} with dilation {dilation_} spans {tuple(spans)}, larger "
            f"than the input's last two axes {x.shape[-2:]}"
        )
    return apply(Unfold(kernel, stride_, dilation_), x)


def fold(x: Any, output_size: Any, kernel_size: Any, stride: Any = 1, dilation: Any = 1) -> Tensor:
    """Put windows ``(..., OH, OW, kH, kW)`` back into an array ``(..., *output_size)``,
    adding where they overlap: the adjoint of :func:`unfold`.

    >>> import autonet as an
    >>> an.fold(an.ones(2, 2, 2, 2), (3, 3), 2)   # how many windows cover each element
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    """
    x = as_tensor(x)
    size = pair("fold", "output_size", output_size, 0)
    kernel = pair("fold", "kernel_size", kernel_size, 1)
    stride_ = pair("fold", "stride", stride, 1)
    dilation_ = pair("fold", "dilation", dilation, 1)
    expected = (
        tuple(_output(n, k, s, d) for n, k, s, d in zip(size, kernel, stride_, dilation_)) + kernel
    )
    if x.ndim < 4 or tuple(x.shape[-4:]) != expected:
        raise ValueError(
            f"fold: windows of shape {x.shape} do not match output_size {size}, kernel "
            f"{kernel}, stride {stride_} and dilation {dilation_} (expected (..., "
            f"{', '.join(map(str, expected))}))"
        )
    return apply(Fold(size, kernel, stride_, dilation_), x)


def _output(size: int, kernel: int, stride: int, dilation: int) -> int:
    return max(output_size(size, kernel, stride, dilation), 0)
