"""Convolution: values against plain loops, gradients (first and second order) against finite
differences, and the errors a user meets."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import autonet as an
from autonet.testing import gradcheck, gradgradcheck

F = an.nn.functional


def conv_reference(x, w, b, stride, padding, dilation, groups):
    """The definition, one multiply-add at a time."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, h, wd = xp.shape
    o, cg, kh, kw = w.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (wd - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((n, o, oh, ow))
    per_group = o // groups
    for i_n in range(n):
        for i_o in range(o):
            first = (i_o // per_group) * cg
            for p in range(oh):
                for q in range(ow):
                    total = 0.0 if b is None else b[i_o]
                    for c in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                total += w[i_o, c, i, j] * xp[i_n, first + c, p * sh + i * dh,
                                                              q * sw + j * dw]  # fmt: skip
                    y[i_n, i_o, p, q] = total
    return y


@st.composite
def conv_cases(draw, max_size=6):
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = (draw(st.integers(1, max_size)), draw(st.integers(1, max_size)))
    for k, d, p, n in zip(kernel, dilation, padding, size):
        assume(d * (k - 1) + 1 <= n + 2 * p)
    n = draw(st.integers(1, 2))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    x = rng.standard_normal((n, c, *size))
    w = rng.standard_normal((o, c // groups, *kernel))
    b = rng.standard_normal(o) if draw(st.booleans()) else None
    return x, w, b, stride, padding, dilation, groups


def tensors(*arrays):
    return [None if a is None else an.tensor(a, dtype=an.float64, requires_grad=True)
            for a in arrays]  # fmt: skip


@given(conv_cases())
def test_conv2d_values(case):
    x, w, b, stride, padding, dilation, groups = case
    tx, tw, tb = tensors(x, w, b)
    y = F.conv2d(tx, tw, tb, stride, padding, dilation, groups)
    assert_close(y, conv_reference(x, w, b, stride, padding, dilation, groups), rtol=1e-10)


@settings(max_examples=15)
@given(conv_cases(max_size=4))
def test_conv2d_gradients(case):
    x, w, b, stride, padding, dilation, groups = case
    inputs = [t for t in tensors(x, w, b) if t is not None]

    def fn(x, w, b=None):
        return F.conv2d(x, w, b, stride, padding, dilation, groups)

    assert gradcheck(fn, inputs)


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups"),
    [(1, 0, 1, 1), (2, 1, 1, 1), (1, 1, 2, 2), ((2, 1), (0, 1), (1, 2), 1)],
)
def test_conv2d_second_order(stride, padding, dilation, groups):
    rng = np.random.default_rng(0)
    shapes = [(2, 2, 5, 4), (2, 2 // groups, 2, 2), (2,)]
    x, w, b = tensors(*[rng.standard_normal(s) for s in shapes])
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
                         (x, w, b))  # fmt: skip


@pytest.mark.parametrize("kernel", [(1, 1), (2, 3), (3, 3), (4, 2)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_keeps_the_size(kernel, dilation):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((3, 2, *kernel))
    y = F.conv2d(an.tensor(x, dtype=an.float64), an.tensor(w, dtype=an.float64), padding="same",
                 dilation=dilation)  # fmt: skip
    assert y.shape == (1, 3, 7, 6)
    # the extra row or column of an even span goes after, as in PyTorch
    totals = [dilation * (k - 1) for k in kernel]
    xp = np.pad(x, ((0, 0), (0, 0), *[(t // 2, t - t // 2) for t in totals]))
    expected = conv_reference(xp, w, None, (1, 1), (0, 0), (dilation, dilation), 1)
    assert_close(y, expected, rtol=1e-10)
    valid = F.conv2d(an.tensor(x), an.tensor(w), padding="valid")
    assert valid.shape == (1, 3, 8 - kernel[0], 7 - kernel[1])


def test_unbatched_input_and_float32():
    x, w = an.randn(2, 5, 5), an.randn(4, 2, 3, 3)
    y = F.conv2d(x, w, an.zeros(4), padding=1)
    assert y.shape == (4, 5, 5) and y.dtype == an.float32
    assert_close(y, F.conv2d(x.unsqueeze(0), w, padding=1)[0].numpy(), rtol=1e-6, atol=1e-6)


def conv1d_reference(x, w, stride, padding, dilation):
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    n, _, length = xp.shape
    o, _, k = w.shape
    out = (length - dilation * (k - 1) - 1) // stride + 1
    y = np.zeros((n, o, out))
    for p in range(out):
        window = xp[:, :, p * stride : p * stride + dilation * (k - 1) + 1 : dilation]
        y[:, :, p] = np.einsum("ncj,ocj->no", window, w)
    return y


@given(st.integers(1, 3), st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
       st.integers(5, 9))  # fmt: skip
def test_conv1d(k, stride, padding, dilation, length):
    rng = np.random.default_rng(k * 100 + length)
    x, w = tensors(rng.standard_normal((2, 3, length)), rng.standard_normal((4, 3, k)))
    y = F.conv1d(x, w, None, stride, padding, dilation)
    assert_close(y, conv1d_reference(x.numpy(), w.numpy(), stride, padding, dilation), rtol=1e-10)
    assert gradcheck(lambda x, w: F.conv1d(x, w, None, stride, padding, dilation), (x, w))


@given(st.data())
def test_fold_is_the_adjoint_of_unfold(data):
    """⟨unfold(x), y⟩ = ⟨x, fold(y)⟩: each is the other's transpose, hence its VJP."""
    h, w = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    k = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    s = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    d = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))
    assume(d[0] * (k[0] - 1) < h and d[1] * (k[1] - 1) < w)
    rng = np.random.default_rng(h * 7 + w)
    x = an.tensor(rng.standard_normal((2, h, w)), dtype=an.float64, requires_grad=True)
    windows = an.unfold(x, k, s, d)
    y = an.tensor(rng.standard_normal(windows.shape), dtype=an.float64, requires_grad=True)
    lhs = float((windows.numpy() * y.numpy()).sum())
    rhs = float((x.numpy() * an.fold(y, (h, w), k, s, d).numpy()).sum())
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)
    assert gradgradcheck(lambda x: an.unfold(x, k, s, d) ** 2, (x,))
    assert gradgradcheck(lambda y: an.fold(y, (h, w), k, s, d) ** 2, (y,))


@pytest.mark.parametrize(
    ("x", "w", "kwargs", "match"),
    [
        ((1, 3, 5, 5), (4, 2, 3, 3), {}, r"conv2d: input \(1, 3, 5, 5\) has 3 channels but weight "
         r"\(4, 2, 3, 3\) expects 2"),
        ((1, 2, 2, 2), (4, 2, 3, 3), {}, r"conv2d: weight \(4, 2, 3, 3\) spans \(3, 3\).*larger "
         r"than the padded input's \(2, 2\)"),
        ((1, 3, 5, 5), (4, 1, 3, 3), {"groups": 2}, r"conv2d: groups=2 must divide both the input "
         r"channels \(3\) and the output channels \(4\)"),
        ((1, 2, 5, 5), (4, 2, 3, 3), {"padding": "full"}, r"padding must be an int, a pair, 'same'"),  # noqa: E501
        ((1, 2, 5, 5), (4, 2, 3, 3), {"padding": "same", "stride": 2}, r"'same' needs stride 1"),
        ((2, 5, 5), (4, 2, 3), {}, r"conv2d: expected input \(N, C, H, W\)"),
        ((1, 2, 5, 5), (4, 2, 3, 3), {"stride": 0}, r"conv2d: stride must be >= 1"),
    ],
)  # fmt: skip
def test_errors_name_the_op_and_shapes(x, w, kwargs, match):
    with pytest.raises(ValueError, match=match):
        F.conv2d(an.zeros(x), an.zeros(w), **kwargs)


def test_bias_shape_error():
    with pytest.raises(ValueError, match=r"conv2d: bias of shape \(3,\) should be \(4,\)"):
        F.conv2d(an.zeros(1, 2, 5, 5), an.zeros(4, 2, 3, 3), an.zeros(3))
