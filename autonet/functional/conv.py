"""Convolution and pooling, from the engine's primitives, so every gradient (and every
gradient of a gradient) comes from the engine.

A 2-D convolution of ``x`` (N, C, H, W) with ``weight`` (O, C, kH, kW) is

    y[n, o, p, q] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x[n, c, p·s₁ + i·d₁, q·s₂ + j·d₂]

(a cross-correlation, as in every deep-learning library): the engine's ``Conv2d`` primitive
(:mod:`autonet.engine.ops.convolution`), whose VJPs are the two other maps of the same
bilinear form. Pooling takes the max or the mean of each window.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.factories import tensor
from autonet.engine.function import apply
from autonet.engine.ops import pad, where
from autonet.engine.ops.conv import Pair, pair
from autonet.engine.ops.convolution import Conv2d
from autonet.engine.ops.pooling import WindowMax, WindowSum
from autonet.engine.random import default_generator
from autonet.engine.tensor import Tensor, as_tensor

__all__ = [
    "adaptive_avg_pool2d", "avg_pool1d", "avg_pool2d", "conv1d", "conv2d", "dropout2d",
    "embedding", "max_pool1d", "max_pool2d",
]  # fmt: skip


def conv2d(
    x: Any,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
) -> Tensor:
    """2-D convolution (cross-correlation) of ``x`` (N, C, H, W) or (C, H, W) with ``weight``
    (O, C/groups, kH, kW), plus ``bias`` (O,), as PyTorch's ``conv2d``.

    ``padding`` is an int, a pair, ``"valid"`` (none) or ``"same"`` (the output keeps H and W;
    stride 1 only). With ``groups`` g the channels split into g groups, each convolved with its
    own O/g filters. Output size per axis: ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1.

    >>> import autonet as an
    >>> x = an.arange(16.0).reshape(1, 1, 4, 4)
    >>> an.nn.functional.conv2d(x, an.ones(1, 1, 2, 2), stride=2)   # sums of 2×2 blocks
    tensor([[[[10., 18.],
              [42., 50.]]]])
    """
    x, weight = as_tensor(x), as_tensor(weight)
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(
            f"conv2d: expected input (N, C, H, W) or (C, H, W) and weight (O, C/groups, kH, kW), "
            f"got input {x.shape} and weight {weight.shape}"
        )
    c = x.shape[1]
    o, cg, kh, kw = weight.shape
    _check_groups("conv2d", groups, c, o)
    if c != cg * groups:
        raise ValueError(
            f"conv2d: input {x.shape} has {c} channels but weight {weight.shape} expects "
            f"{cg * groups} ({cg} per group × {groups} groups)"
        )
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"conv2d: bias of shape {bias.shape} should be ({o},), one per filter")
    stride_ = pair("conv2d", "stride", stride, 1)
    dilation_ = pair("conv2d", "dilation", dilation, 1)
    pads = padding_pairs("conv2d", padding, (kh, kw), stride_, dilation_)
    padded = tuple(n + sum(p) for n, p in zip(x.shape[-2:], pads))
    _check_fits("conv2d", padded, (kh, kw), dilation_, x.shape, weight.shape)
    conv = Conv2d(stride_, tuple(pads), dilation_, groups)
    y = apply(conv, x, weight)  # (N, O, OH, OW)
    if bias is not None:
        y = y + bias.reshape(1, o, 1, 1)
    return y.squeeze(0) if unbatched else y


def conv1d(
    x: Any,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int = 1,
    padding: Any = 0,
    dilation: int = 1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution of ``x`` (N, C, L) or (C, L) with ``weight`` (O, C/groups, k): a 2-D
    convolution over a height of one.

    >>> import autonet as an
    >>> an.nn.functional.conv1d(an.tensor([[[1.0, 2.0, 3.0, 4.0]]]), an.tensor([[[1.0, -1.0]]]))
    tensor([[[-1., -1., -1.]]])
    """
    x, weight = as_tensor(x), as_tensor(weight)
    if x.ndim not in (2, 3) or weight.ndim != 3:
        raise ValueError(
            f"conv1d: expected input (N, C, L) or (C, L) and weight (O, C/groups, k), got input "
            f"{x.shape} and weight {weight.shape}"
        )
    if not isinstance(padding, str):
        padding = (0, _one("conv1d", "padding", padding))
    y = conv2d(x.unsqueeze(-2), weight.unsqueeze(-2), bias,
               stride=(1, _one("conv1d", "stride", stride)), padding=padding,
               dilation=(1, _one("conv1d", "dilation", dilation)), groups=groups)  # fmt: skip
    return y.squeeze(-2)


def max_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """The maximum of each window (padding counts as −∞). ``stride`` defaults to the kernel.

    ``ceil_mode`` rounds the output size up, so a last, partial window covers the input's end
    (a window never starts in the right padding). ``return_indices`` also returns where each
    maximum came from, as a flat index into its (H, W) plane, as PyTorch does.

    NOTE: when several elements of a window tie for the maximum they share its gradient
    equally (the engine's rule for ``max``); PyTorch gives it all to one of them.

    >>> import autonet as an
    >>> x = an.arange(16.0).reshape(1, 1, 4, 4)
    >>> an.nn.functional.max_pool2d(x, 2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
    >>> an.nn.functional.max_pool2d(x, 3, stride=2, ceil_mode=True, return_indices=True)[1]
    tensor([[[[10, 11],
              [14, 15]]]])
    """
    x, kernel, stride_, padding_ = _pool_args("max_pool2d", x, kernel_size, stride, padding)
    dilation_ = pair("max_pool2d", "dilation", dilation, 1)
    _check_half("max_pool2d", padding_, kernel, dilation_)
    h, w = x.shape[-2:]
    extra = _ceil_extra((h, w), kernel, stride_, padding_, dilation_, ceil_mode)
    x = _pad_pairs(x, padding_, -np.inf, after=[p + e for p, e in zip(padding_, extra)])
    _check_fits("max_pool2d", x.shape[-2:], kernel, dilation_, x.shape)
    values = apply(WindowMax(kernel, stride_, dilation_), x)  # (N, C, OH, OW)
    if not return_indices:
        return values
    return values, _argmax_indices(x.data, (h, w), kernel, stride_, padding_, dilation_)


def _argmax_indices(padded: np.ndarray, size: Pair, kernel: Pair, stride: Pair, padding: Pair,
                    dilation: Pair) -> Tensor:  # fmt: skip
    """Flat (row·W + column) input positions of each window's first maximum."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    spans = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, spans, axis=(-2, -1))
    windows = windows[..., ::sh, ::sw, ::dh, ::dw]  # (N, C, OH, OW, kH, kW)
    i, j = np.divmod(windows.reshape(*windows.shape[:-2], kh * kw).argmax(axis=-1), kw)
    rows = np.arange(windows.shape[-4])[:, None] * sh - ph + i * dh
    cols = np.arange(windows.shape[-3])[None, :] * sw - pw + j * dw
    return tensor(rows * size[1] + cols, dtype=np.int64)


def avg_pool2d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """The mean of each window. Padded zeros count in the mean (PyTorch's default) unless
    ``count_include_pad=False``; ``divisor_override`` divides every sum by a fixed number.
    With ``ceil_mode`` a last, partial window may overhang the padding; what overhangs never
    counts.

    >>> import autonet as an
    >>> x = an.ones(1, 1, 2, 2)
    >>> an.nn.functional.avg_pool2d(x, 2, stride=1, padding=1)[0, 0, 0]
    tensor([0.25, 0.5 , 0.25])
    >>> an.nn.functional.avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False)[0, 0, 0]
    tensor([1., 1., 1.])
    """
    x, kernel, stride_, padding_ = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    _check_half("avg_pool2d", padding_, kernel, (1, 1))
    h, w = x.shape[-2:]
    extra = _ceil_extra((h, w), kernel, stride_, padding_, (1, 1), ceil_mode)
    x = _pad_pairs(x, padding_, 0.0, after=[p + e for p, e in zip(padding_, extra)])
    _check_fits("avg_pool2d", x.shape[-2:], kernel, (1, 1), x.shape)
    sums = apply(WindowSum(kernel, stride_, (1, 1)), x)  # (N, C, OH, OW)
    if divisor_override is not None:
        return sums / divisor_override
    if not any(extra) and (count_include_pad or not any(padding_)):
        return sums / (kernel[0] * kernel[1])
    # How many counted elements each window covers: the padded input (or only the real one)
    # counts, the overhang of ceil_mode never does. The mask is separable: one vector per axis.
    counts = [_window_counts(n, k, s, p, e, count_include_pad, x.dtype)
              for n, k, s, p, e in zip((h, w), kernel, stride_, padding_, extra)]  # fmt: skip
    return sums / np.multiply.outer(*counts)


def max_pool1d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """:func:`max_pool2d` over the last axis of (N, C, L) or (C, L).

    >>> import autonet as an
    >>> an.nn.functional.max_pool1d(an.tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2)
    tensor([[[3., 2.]]])
    """
    x = _as_1d_input("max_pool1d", x)
    out = max_pool2d(x.unsqueeze(-2), (1, _one("max_pool1d", "kernel_size", kernel_size)),
                     None if stride is None else (1, _one("max_pool1d", "stride", stride)),
                     (0, _one("max_pool1d", "padding", padding)),
                     (1, _one("max_pool1d", "dilation", dilation)), ceil_mode,
                     return_indices)  # fmt: skip
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(
    x: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """:func:`avg_pool2d` over the last axis of (N, C, L) or (C, L).

    >>> import autonet as an
    >>> an.nn.functional.avg_pool1d(an.tensor([[[1.0, 3.0, 2.0, 0.0, 5.0]]]), 2)
    tensor([[[2., 1.]]])
    """
    x = _as_1d_input("avg_pool1d", x)
    out = avg_pool2d(x.unsqueeze(-2), (1, _one("avg_pool1d", "kernel_size", kernel_size)),
                     None if stride is None else (1, _one("avg_pool1d", "stride", stride)),
                     (0, _one("avg_pool1d", "padding", padding)), ceil_mode,
                     count_include_pad)  # fmt: skip
    return out.squeeze(-2)


def adaptive_avg_pool2d(x: Any, output_size: Any) -> Tensor:
    """Average over bins chosen so the output has ``output_size`` (an int, a pair, or None in
    a pair to keep that axis). Bin i of an axis of n covers ⌊i·n/m⌋ to ⌈(i+1)·n/m⌉, as in
    PyTorch; the means are two matrix products, y = Pₕ · x · Pᵥᵀ, with averaging matrices P.

    >>> import autonet as an
    >>> an.nn.functional.adaptive_avg_pool2d(an.arange(16.0).reshape(1, 1, 4, 4), 1)
    tensor([[[[7.5]]]])
    """
    x = as_tensor(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: expected (N, C, H, W) or (C, H, W), got {x.shape}")
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size, output_size)
    h, w = x.shape[-2:]
    oh, ow = (n if m is None else int(m) for m, n in zip(output_size, (h, w)))
    if min(oh, ow) < 1:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be positive, got {output_size}")
    rows, cols = _bins(h, oh, x.dtype), _bins(w, ow, x.dtype)
    return tensor(rows, dtype=x.dtype) @ x @ tensor(cols, dtype=x.dtype).T


def _window_counts(n: int, k: int, s: int, p: int, extra: int, include_pad: bool,
                   dtype: Any) -> np.ndarray:  # fmt: skip
    """Along one axis of n padded by p (and ``extra`` more after): how many counted elements
    each window of k, stride s, covers."""
    mask = np.zeros(n + 2 * p + extra, dtype)
    if include_pad:
        mask[: n + 2 * p] = 1
    else:
        mask[p : p + n] = 1
    return np.lib.stride_tricks.sliding_window_view(mask, k)[::s].sum(axis=-1)


def _bins(n: int, m: int, dtype: Any) -> np.ndarray:
    """The (m, n) matrix whose row i averages bin i of an axis of n."""
    p = np.zeros((m, n), dtype)
    for i in range(m):
        start, stop = (i * n) // m, -((-(i + 1) * n) // m)
        p[i, start:stop] = 1.0 / (stop - start)
    return p


def dropout2d(x: Any, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels (each (n, c) feature map) with probability ``p``, scaling the rest
    by 1/(1 − p); the identity when not ``training``.

    >>> import autonet as an
    >>> y = an.nn.functional.dropout2d(an.ones(8, 4, 3, 3), 0.5)
    >>> sorted(set(y.sum(axis=(2, 3)).flatten().tolist()))   # channels all 0 or all 2
    [0.0, 18.0]
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: probability must be between 0 and 1, got {p}")
    x = as_tensor(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected (N, C, H, W) or (C, H, W), got {x.shape}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = default_generator().random(x.shape[:-2] + (1, 1)) >= p
    return x * (keep / (1 - p)).astype(x.dtype)


def embedding(indices: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``indices`` of any shape;
    the result has shape ``indices.shape + (dim,)``. Rows picked at ``padding_idx`` pass no
    gradient back to ``weight``.

    >>> import autonet as an
    >>> table = an.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]])
    >>> an.nn.functional.embedding(an.tensor([[2, 1]]), table)
    tensor([[[3., 4.],
             [1., 2.]]])
    """
    idx = as_tensor(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {idx.dtype}")
    count = weight.shape[0]
    if idx.size and (idx.data.min() < -count or idx.data.max() >= count):
        raise IndexError(
            f"embedding: index {int(idx.data.max() if idx.data.max() >= count else idx.data.min())}"
            f" out of range for {count} embeddings"
        )
    rows = weight[idx.data]
    if padding_idx is not None:
        mask = tensor((idx.data == padding_idx % count)[..., None])
        rows = where(mask, rows.detach(), rows)
    return rows


# ---- argument handling ----------------------------------------------------------------------


def _one(op: str, name: str, value: Any) -> int:
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be an int or a 1-tuple, got {value!r}")
        (value,) = value
    return value


def _check_groups(op: str, groups: int, channels: int, filters: int) -> None:
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if channels % groups or filters % groups:
        raise ValueError(
            f"{op}: groups={groups} must divide both the input channels ({channels}) and the "
            f"output channels ({filters})"
        )


def padding_pairs(op: str, padding: Any, kernel: Pair, stride: Pair,
                   dilation: Pair) -> list[Pair]:  # fmt: skip
    """(before, after) for each of the last two axes."""
    if not isinstance(padding, str):
        return [(p, p) for p in pair(op, "padding", padding, 0)]
    if padding == "valid":
        return [(0, 0), (0, 0)]
    if padding != "same":
        raise ValueError(
            f"{op}: padding must be an int, a pair, 'same' or 'valid', got {padding!r}"
        )
    if stride != (1, 1):
        raise ValueError(f"{op}: padding='same' needs stride 1, got stride {stride}")
    totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [(t // 2, t - t // 2) for t in totals]  # the extra one (if odd) after, as PyTorch


PADDING_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}  # NumPy's names


def pad_by_mode(op: str, x: Tensor, pairs: list[Pair], mode: str) -> Tensor:
    """Pad the last ``len(pairs)`` axes of ``x`` by reflecting it at its edges (``"reflect"``,
    the edge itself not repeated), repeating the edge (``"replicate"``) or wrapping around
    (``"circular"``), as PyTorch's padding modes do.

    NOTE: the padded tensor is ``x`` indexed by padded position arrays, so its gradient adds
    each copy's gradient back onto the element it copied (the engine's index-add).
    """
    if mode not in PADDING_MODES:
        raise ValueError(
            f"{op}: padding_mode must be 'zeros', {', '.join(map(repr, PADDING_MODES))}, "
            f"got {mode!r}"
        )
    sizes = x.shape[-len(pairs) :]
    # A reflection repeats no edge, so it reaches at most n - 1 further; a wrap at most n.
    reach = {"reflect": 1, "circular": 0}.get(mode)
    if reach is not None and any(max(pair) > n - reach for pair, n in zip(pairs, sizes)):
        raise ValueError(
            f"{op}: padding {tuple(pairs)} with padding_mode={mode!r} must be at most the "
            f"input's size{' - 1' if reach else ''} per axis, got input shape {x.shape}"
        )
    if not any(any(pair) for pair in pairs):
        return x
    positions = [
        np.pad(np.arange(n), pair, mode=PADDING_MODES[mode]) for pair, n in zip(pairs, sizes)
    ]
    return x[(Ellipsis, *np.ix_(*positions))]


def _pad_pairs(x: Tensor, before: Any, value: float, after: Any = None) -> Tensor:
    after = before if after is None else after
    if not any(before) and not any(after):
        return x
    widths = [(0, 0)] * (x.ndim - 2) + [(before[0], after[0]), (before[1], after[1])]
    return pad(x, widths, constant_values=value)


def _check_fits(op: str, size: Any, kernel: Any, dilation: Any, shape: Any,
                weight_shape: Any = None) -> None:  # fmt: skip
    """Raise unless the kernel's span fits in the padded (H, W) ``size`` (``shape``: the whole
    padded input's)."""
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(s > n for s, n in zip(spans, size)):
        what = f"weight {weight_shape}" if weight_shape is not None else f"kernel {tuple(kernel)}"
        shape = tuple(shape[:-2]) + tuple(size)
        raise ValueError(
            f"{op}: {what} spans {spans} (with dilation {tuple(dilation)}), larger than the "
            f"padded input's {tuple(size)} (input shape after padding {shape})"
        )


def _pool_args(op: str, x: Any, kernel_size: Any, stride: Any, padding: Any) -> tuple:
    x = as_tensor(x)
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: expected input (N, C, H, W) or (C, H, W), got shape {x.shape}")
    kernel = pair(op, "kernel_size", kernel_size, 1)
    stride_ = kernel if stride is None else pair(op, "stride", stride, 1)
    padding_ = pair(op, "padding", padding, 0)
    return x, kernel, stride_, padding_


def _check_half(op: str, padding: Pair, kernel: Pair, dilation: Pair) -> None:
    """Pooling pads at most half a window, so that every window holds some input."""
    spans = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(2 * p > span for p, span in zip(padding, spans)):
        what = f"kernel size {kernel}" + (f" (spanning {spans})" if spans != kernel else "")
        raise ValueError(f"{op}: padding {padding} should be at most half of the {what}")


def _ceil_extra(size: Pair, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                ceil_mode: bool) -> tuple[int, ...]:  # fmt: skip
    """How far past the right padding the last window reaches when ``ceil_mode`` rounds the
    number of windows up: ⌈(n + 2p − span) / s⌉ + 1 windows, less the last one if it would
    start in the right padding (PyTorch's rule)."""
    if not ceil_mode:
        return (0, 0)
    extra = []
    for n, k, s, p, d in zip(size, kernel, stride, padding, dilation):
        span, total = d * (k - 1) + 1, n + 2 * p
        if total < span:  # too small: _check_fits says so
            extra.append(0)
            continue
        count = -(-(total - span) // s) + 1
        if (count - 1) * s >= n + p:
            count -= 1
        extra.append(max((count - 1) * s + span - total, 0))
    return tuple(extra)


def _as_1d_input(op: str, x: Any) -> Tensor:
    x = as_tensor(x)
    if x.ndim not in (2, 3):
        raise ValueError(f"{op}: expected input (N, C, L) or (C, L), got shape {x.shape}")
    return x
