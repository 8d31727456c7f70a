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


def pool_reference(x, kernel, stride, padding, reduce, fill, dilation=(1, 1), divide=None):
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    real = np.pad(np.ones(x.shape[-2:]), ((ph, ph), (pw, pw)))
    h, w = xp.shape[-2:]
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for p in range(oh):
        for q in range(ow):
            rows = slice(p * sh, p * sh + dh * (kh - 1) + 1, dh)
            cols = slice(q * sw, q * sw + dw * (kw - 1) + 1, dw)
            window = xp[:, :, rows, cols]
            count = divide(real[rows, cols]) if divide else 1
            y[:, :, p, q] = reduce(window, axis=(2, 3)) / count
    return y


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


@given(pool_cases(), st.integers(1, 2))
def test_max_pool2d(case, dilation):
    x, kernel, stride, padding = case
    assume(all(dilation * (k - 1) + 1 <= n + 2 * p
               for k, p, n in zip(kernel, padding, x.shape[-2:])))  # fmt: skip
    y = F.max_pool2d(x, kernel, stride, padding, dilation)
    expected = pool_reference(x.numpy(), kernel, stride, padding, np.max, -np.inf, (dilation,) * 2)
    assert_close(y, expected)
    assert gradcheck(lambda x: F.max_pool2d(x, kernel, stride, padding, dilation), (x,))


@given(pool_cases(), st.booleans())
def test_avg_pool2d(case, count_include_pad):
    x, kernel, stride, padding = case
    y = F.avg_pool2d(x, kernel, stride, padding, count_include_pad)
    divide = (lambda real: real.size) if count_include_pad else (lambda real: real.sum())
    expected = pool_reference(x.numpy(), kernel, stride, padding, np.sum, 0.0, divide=divide)
    assert_close(y, expected, rtol=1e-10)
    assert gradgradcheck(lambda x: F.avg_pool2d(x, kernel, stride, padding, count_include_pad),
                         (x,))  # fmt: skip


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
