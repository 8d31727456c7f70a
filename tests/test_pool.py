"""Pooling and channel dropout: values against plain loops, gradients against finite
differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import assume, given
from hypothesis import strategies as st

import autonet as an
from autonet.testing import gradcheck, gradgradcheck

F = an.nn.functional


def windows_along(n, k, s, p, d, ceil_mode):
    """For each window along an axis of n: its positions in input coordinates (the padding is
    -p..-1 and n..n+p-1), PyTorch's rule: ⌊ or ⌈(n + 2p − span)/s⌉ + 1 windows, none starting
    in the right padding; what a ceil_mode window reaches past the padding is left out."""
    span = d * (k - 1) + 1
    count = (n + 2 * p - span) / s
    count = (math.ceil(count) if ceil_mode else math.floor(count)) + 1
    if ceil_mode and (count - 1) * s >= n + p:
        count -= 1
    return [[a * s - p + i * d for i in range(k) if a * s - p + i * d < n + p]
            for a in range(count)]  # fmt: skip


def pool_reference(x, kernel, stride, padding, kind, dilation=(1, 1), ceil_mode=False,
                   count_include_pad=True, divisor_override=None):  # fmt: skip
    """Max or mean pooling one window at a time, and (for max) where each maximum is."""
    rows = windows_along(x.shape[2], kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    cols = windows_along(x.shape[3], kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    y = np.zeros(x.shape[:2] + (len(rows), len(cols)))
    where = np.zeros(y.shape, np.int64)
    for a, rs in enumerate(rows):
        for b, cs in enumerate(cols):
            real = [(r, c) for r in rs for c in cs if 0 <= r < x.shape[2] and 0 <= c < x.shape[3]]
            values = np.stack([x[:, :, r, c] for r, c in real], axis=-1)
            if kind == "max":
                y[:, :, a, b] = values.max(axis=-1)
                r, c = np.array(real)[values.argmax(axis=-1)].transpose(2, 0, 1)
                where[:, :, a, b] = r * x.shape[3] + c
            else:
                count = len(rs) * len(cs) if count_include_pad else len(real)
                y[:, :, a, b] = values.sum(axis=-1) / (divisor_override or count)
    return (y, where) if kind == "max" else y


@st.composite
def pool_cases(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    for k, p, n in zip(kernel, padding, size):
        assume(k <= n + 2 * p)
    n_values = 2 * 2 * size[0] * size[1]
    # distinct values a step apart: no ties, and finite differences never cross one
    values = np.random.default_rng(draw(st.integers(0, 999))).permutation(n_values) * 0.1
    x = an.tensor(values.reshape(2, 2, *size), dtype=an.float64, requires_grad=True)
    return x, kernel, stride, padding


@given(pool_cases(), st.integers(1, 2), st.booleans())
def test_max_pool2d(case, dilation, ceil_mode):
    x, kernel, stride, padding = case
    assume(all(dilation * (k - 1) + 1 <= n + 2 * p
               for k, p, n in zip(kernel, padding, x.shape[-2:])))  # fmt: skip
    # NOTE: with dilation a window can fall on padding alone (its maximum is −∞ and where it
    # came from is undefined, in PyTorch too); such windows are not what this test is about.
    assume(all(any(0 <= i < n for i in window)
               for k, s, p, n in zip(kernel, stride, padding, x.shape[-2:])
               for window in windows_along(n, k, s, p, dilation, ceil_mode)))  # fmt: skip
    y, indices = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode, return_indices=True)
    expected, where = pool_reference(x.numpy(), kernel, stride, padding, "max", (dilation,) * 2,
                                     ceil_mode)  # fmt: skip
    assert_close(y, expected)
    np.testing.assert_array_equal(indices.numpy(), where)
    assert indices.dtype == an.int64
    assert gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode), (x,))


@given(pool_cases(), st.booleans(), st.booleans(), st.sampled_from([None, 3]))
def test_avg_pool2d(case, ceil_mode, count_include_pad, divisor_override):
    x, kernel, stride, padding = case
    args = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    y = F.avg_pool2d(x, *args)
    expected = pool_reference(x.numpy(), kernel, stride, padding, "mean", (1, 1), ceil_mode,
                              count_include_pad, divisor_override)  # fmt: skip
    assert_close(y, expected, rtol=1e-10)
    assert gradgradcheck(lambda x: F.avg_pool2d(x, *args), (x,))


@given(pool_cases(), st.booleans())
def test_pool1d_is_pool2d_over_one_row(case, ceil_mode):
    x, (_, k), (_, s), (_, p) = case
    x = x[:, :, 0].detach().requires_grad_()  # (N, C, L)
    y, indices = F.max_pool1d(x, k, s, p, 1, ceil_mode, return_indices=True)
    expected, where = pool_reference(x.numpy()[:, :, None], (1, k), (1, s), (0, p), "max",
                                     ceil_mode=ceil_mode)  # fmt: skip
    assert_close(y, expected[:, :, 0])
    np.testing.assert_array_equal(indices.numpy(), where[:, :, 0])
    mean = pool_reference(x.numpy()[:, :, None], (1, k), (1, s), (0, p), "mean",
                          ceil_mode=ceil_mode, count_include_pad=False)  # fmt: skip
    assert_close(F.avg_pool1d(x, k, s, p, ceil_mode, False), mean[:, :, 0], rtol=1e-10)
    assert gradcheck(lambda x: F.avg_pool1d(x, k, s, p, ceil_mode, False), (x,))


def test_ceil_mode_keeps_a_partial_last_window():
    """4 values, windows of 3 with stride 2: floor gives one window, ceil a second that holds
    only the last two values (and counts only them)."""
    x = an.tensor([[[1.0, 2.0, 3.0, 6.0]]])
    assert F.avg_pool1d(x, 3, 2).tolist() == [[[2.0]]]
    assert F.avg_pool1d(x, 3, 2, ceil_mode=True).tolist() == [[[2.0, 4.5]]]
    assert F.avg_pool1d(x, 3, 2, ceil_mode=True).dtype == an.float32  # the divisors too
    assert F.max_pool1d(x, 3, 2, ceil_mode=True).tolist() == [[[3.0, 6.0]]]
    # a window may not start in the right padding: 3 windows, not 4
    assert F.max_pool1d(an.ones(1, 1, 5), 2, 2, padding=1, ceil_mode=True).shape == (1, 1, 3)


def test_avg_pool2d_divisor_override_and_default_stride():
    x = an.arange(16.0).reshape(1, 1, 4, 4)
    assert F.avg_pool2d(x, 2, divisor_override=1).flatten().tolist() == [10, 18, 42, 50]
    assert an.nn.MaxPool2d(2)(x).shape == (1, 1, 2, 2)


def adaptive_reference(x, out):
    h, w = x.shape[-2:]
    y = np.zeros(x.shape[:-2] + out)
    for i in range(out[0]):
        r0, r1 = math.floor(i * h / out[0]), math.ceil((i + 1) * h / out[0])
        for j in range(out[1]):
            c0, c1 = math.floor(j * w / out[1]), math.ceil((j + 1) * w / out[1])
            y[..., i, j] = x[..., r0:r1, c0:c1].mean(axis=(-2, -1))
    return y


@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 4), st.integers(1, 4))
def test_adaptive_avg_pool2d(h, w, oh, ow):
    x = an.tensor(np.random.default_rng(h * w).standard_normal((2, 3, h, w)), dtype=an.float64,
                  requires_grad=True)  # fmt: skip
    y = F.adaptive_avg_pool2d(x, (oh, ow))
    assert_close(y, adaptive_reference(x.numpy(), (oh, ow)), rtol=1e-10)
    assert gradcheck(lambda x: F.adaptive_avg_pool2d(x, (oh, ow)), (x,))
    assert F.adaptive_avg_pool2d(x, (None, 1)).shape == (2, 3, h, 1)


def test_pool_errors():
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) should be at most half"):
        F.max_pool2d(an.zeros(1, 1, 4, 4), 3, padding=2)
    # with dilation the window spans 5, so a padding of 2 is allowed, 3 is not
    assert F.max_pool2d(an.zeros(1, 1, 4, 4), 3, padding=2, dilation=2).shape == (1, 1, 2, 2)
    with pytest.raises(ValueError, match=r"kernel size \(3, 3\) \(spanning \(5, 5\)\)"):
        F.max_pool2d(an.zeros(1, 1, 4, 4), 3, padding=3, dilation=2)
    with pytest.raises(ValueError, match=r"max_pool1d: expected input \(N, C, L\)"):
        F.max_pool1d(an.zeros(1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel \(5, 5\) spans \(5, 5\)"):
        F.avg_pool2d(an.zeros(1, 1, 4, 4), 5)
    with pytest.raises(ValueError, match=r"max_pool2d: expected input \(N, C, H, W\)"):
        F.max_pool2d(an.zeros(4, 4), 2)


def test_dropout2d_drops_whole_channels():
    an.manual_seed(0)
    x = an.ones(50, 8, 3, 3, requires_grad=True)
    y = F.dropout2d(x, 0.25)
    per_channel = y.numpy().reshape(50, 8, 9)
    assert set(np.unique(per_channel.std(axis=2))) == {0.0}
    assert set(np.unique(per_channel)) == {0.0, np.float32(1 / 0.75)}
    assert abs((per_channel[:, :, 0] == 0).mean() - 0.25) < 0.05
    y.sum().backward()
    assert_close(x.grad, y.numpy())  # the gradient is the mask
    assert F.dropout2d(x, 0.25, training=False) is x
    layer = an.nn.Dropout2d(0.5)
    layer.eval()
    assert layer(x) is x


# ---- the window primitives' strategies, each on shapes that select it ------------------------

WINDOWS = [
    # (input size, kernel, stride): windows that tile the input exactly; that tile it but
    # leave a margin no window covers; that overlap; that leave gaps
    ((6, 4), (2, 2), (2, 2)),
    ((7, 5), (2, 2), (2, 2)),
    ((6, 5), (3, 2), (2, 1)),
    ((7, 7), (2, 1), (3, 2)),
]


@pytest.mark.parametrize(("size", "kernel", "stride"), WINDOWS)
@pytest.mark.parametrize("kind", ["max", "mean"])
def test_each_window_geometry_matches_the_loops(size, kernel, stride, kind):
    rng = np.random.default_rng(sum(size))
    values = rng.permutation(2 * 3 * size[0] * size[1]) * 0.1  # distinct: no ties
    x = an.tensor(values.reshape(2, 3, *size), dtype=an.float64, requires_grad=True)
    pool = F.max_pool2d if kind == "max" else F.avg_pool2d
    expected = pool_reference(x.numpy(), kernel, stride, (0, 0), kind)
    assert_close(pool(x, kernel, stride), expected[0] if kind == "max" else expected, rtol=1e-12)
    assert gradcheck(lambda x: pool(x, kernel, stride), (x,))
    assert gradgradcheck(lambda x: pool(x, kernel, stride), (x,))


def test_max_pool_ties_share_and_nan_takes_the_gradient():
    x = an.tensor([[[[1.0, 1.0, 0.0, 2.0], [1.0, 1.0, np.nan, 3.0]]]], requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert np.isnan(y.numpy()[0, 0, 0, 1]) and y.numpy()[0, 0, 0, 0] == 1.0
    y.backward(an.ones(*y.shape))
    # four tied maxima share the gradient of 1; the NaN takes the whole of its window's
    assert x.grad.tolist() == [[[[0.25, 0.25, 0.0, 0.0], [0.25, 0.25, 1.0, 0.0]]]]


def test_max_pool_second_order_in_the_output_gradient():
    """The gradient sends g to the maxima, linearly: differentiable again, in g and in x."""
    rng = np.random.default_rng(0)
    x = an.tensor(rng.permutation(2 * 36).reshape(2, 1, 6, 6) * 0.1, dtype=an.float64,
                  requires_grad=True)  # fmt: skip
    for kernel, stride in [(2, 2), (3, 2), (2, 1)]:
        assert gradgradcheck(lambda x, k=kernel, s=stride: F.max_pool2d(x, k, s), (x,))
