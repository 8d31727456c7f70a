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


# ---- the strategies of the convolution primitives, each on shapes that select it ----------

STRATEGIES = [
    # (stride, padding, dilation, groups, phased): stride 1 reads the padded planes; any
    # other stride splits them into phases first
    ((1, 1), (1, 1), (1, 1), 1, False),
    ((1, 1), (0, 2), (2, 1), 2, False),
    ((2, 2), (1, 1), (1, 1), 1, True),
    ((2, 1), (1, 0), (1, 2), 1, True),
    ((3, 2), (2, 1), (2, 1), 2, True),
]


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups", "phased"), STRATEGIES)
def test_each_strategy_matches_the_loops(stride, padding, dilation, groups, phased):
    from autonet.engine.ops.convolution import Layout

    rng = np.random.default_rng(sum(stride) + 10 * groups)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((4, 4 // groups, 3, 2)), None
    pads = tuple((p, p) for p in padding)
    layout = Layout((7, 6), (3, 2), stride, pads, dilation)
    assert layout.phased is phased
    tx, tw = tensors(x, w)
    y = F.conv2d(tx, tw, b, stride, padding, dilation, groups)
    assert_close(y, conv_reference(x, w, b, stride, padding, dilation, groups), rtol=1e-10)
    assert gradcheck(lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups),
                     (tx, tw))  # fmt: skip
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups),
                         (tx, tw))  # fmt: skip


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups", "phased"), STRATEGIES)
def test_columns_and_col2im_are_adjoint(stride, padding, dilation, groups, phased):
    """⟨columns(x), c⟩ = ⟨x, uncolumns(c)⟩, including the wrapped positions of the wide rows
    (which col2im must add nowhere they do not come from)."""
    from autonet.engine.ops.convolution import Layout

    rng = np.random.default_rng(3)
    layout = Layout((7, 6), (3, 2), stride, tuple((p, p) for p in padding), dilation)
    x = rng.standard_normal((2, 3, 7, 6))
    cols = layout.columns(x)
    c = rng.standard_normal(cols.shape)
    assert float((cols * c).sum()) == pytest.approx(float((x * layout.uncolumns(c)).sum()))


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups", "phased"), STRATEGIES)
def test_the_three_maps_are_each_others_adjoints(stride, padding, dilation, groups, phased):
    """⟨conv(x, w), g⟩ = ⟨x, conv_transpose(g, w)⟩ = ⟨w, conv_weight(x, g)⟩."""
    from autonet.engine.ops.convolution import Conv2d, Conv2dWeight, ConvTranspose2d

    rng = np.random.default_rng(4)
    params = {"stride": stride, "padding": tuple((p, p) for p in padding),
              "dilation": dilation, "groups": groups}  # fmt: skip
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 4 // groups, 3, 2))
    y = Conv2d.apply(x, w, **params)
    g = rng.standard_normal(y.shape)
    dx = ConvTranspose2d.apply(g, w, size=(7, 6), **params)
    dw = Conv2dWeight.apply(x, g, kernel=(3, 2), **params)
    assert dx.shape == x.shape and dw.shape == w.shape
    assert float((y * g).sum()) == pytest.approx(float((x * dx).sum()))
    assert float((y * g).sum()) == pytest.approx(float((w * dw).sum()))


def test_the_saved_columns_serve_every_backward():
    """conv2d keeps x's columns for the weight's gradient: a second backward through a
    retained graph, and a recorded one, give the same gradients."""
    rng = np.random.default_rng(5)
    x, w = tensors(rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)))
    y = (F.conv2d(x, w, None, 2, 1) ** 2).sum()
    first = an.grad(y, [x, w], retain_graph=True)
    again = an.grad(y, [x, w], create_graph=True)
    for a, b in zip(first, again):
        assert_close(a, b.numpy(), rtol=1e-12)
    xd, wd = x.detach().numpy(), w.detach().numpy()
    reference = conv_reference(xd, wd, None, (2, 2), (1, 1), (1, 1), 1)
    assert_close(F.conv2d(x, w, None, 2, 1), reference, rtol=1e-10)


@pytest.mark.parametrize("size", [(4, 6), (5, 7)])  # tiled exactly; with a margin
def test_fold_of_tiling_windows_lays_them_side_by_side(size):
    """With stride = kernel the windows do not overlap, and fold takes its shortcut (the
    windows laid side by side): it must equal the sum of every window put back in place."""
    rng = np.random.default_rng(size[1])
    windows = rng.standard_normal((2, size[0] // 2, size[1] // 3, 2, 3))
    expected = np.zeros((2, *size))
    for p in range(windows.shape[1]):
        for q in range(windows.shape[2]):
            expected[:, 2 * p : 2 * p + 2, 3 * q : 3 * q + 3] += windows[:, p, q]
    y = an.fold(an.tensor(windows, dtype=an.float64, requires_grad=True), size, (2, 3), (2, 3))
    assert_close(y, expected, rtol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_an_empty_batch_gives_empty_results_and_zero_weight_gradients(stride):
    x, w = an.zeros(0, 3, 5, 5, requires_grad=True), an.ones(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1, stride=stride)
    assert y.shape == (0, 4, 5 // stride + (stride == 2), 5 // stride + (stride == 2))
    y.sum().backward()
    assert x.grad.shape == x.shape and w.grad.tolist() == np.zeros((4, 3, 3, 3)).tolist()
    assert F.max_pool2d(x, 2).shape == F.avg_pool2d(x, 2).shape == (0, 3, 2, 2)
