"""nn.functional: losses against their formulas evaluated in NumPy, gradients by finite
differences, stability at extreme logits; dropout, normalization, linear, one_hot."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autonet as an
from autonet.testing import gradcheck
from autonet.testing import strategies as ast

F = an.nn.functional


def log_softmax_ref(x, axis=1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


batch_and_classes = st.tuples(st.integers(1, 5), st.integers(1, 5))


# ---- regression losses ---------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data())
def test_regression_losses(reduction, data):
    shape = data.draw(ast.shapes(min_side=1))
    x = data.draw(ast.tensors(shape=shape, requires_grad=True))
    t = data.draw(ast.tensors(shape=shape))
    d = x.numpy() - t.numpy()
    reduce = {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction]
    a = np.abs(d)
    huber = np.where(a < 1.5, 0.5 * d * d, 1.5 * (a - 0.75))
    for fn, expected in [
        (lambda x: F.mse_loss(x, t, reduction), reduce(d * d)),
        (lambda x: F.l1_loss(x, t, reduction), reduce(a)),
        (lambda x: F.huber_loss(x, t, reduction, delta=1.5), reduce(huber)),
    ]:
        np.testing.assert_allclose(fn(x).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda x: F.mse_loss(x, t, reduction), (x,))


def test_regression_losses_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(4, 1\) and target shape \(4,\)"):
        F.mse_loss(an.zeros(4, 1), an.zeros(4))


# ---- classification losses -----------------------------------------------------------------


@given(data=st.data(), nc=batch_and_classes, smoothing=st.sampled_from([0.0, 0.1]))
def test_cross_entropy_with_class_indices(data, nc, smoothing):
    n, c = nc
    x = data.draw(ast.tensors(shape=(n, c), requires_grad=True))
    y = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    logp = log_softmax_ref(x.numpy())
    target = np.eye(c)[y] * (1 - smoothing) + smoothing / c
    expected = -(target * logp).sum(axis=1).mean()
    got = F.cross_entropy(x, an.tensor(y), label_smoothing=smoothing)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    assert gradcheck(lambda x: F.cross_entropy(x, an.tensor(y), label_smoothing=smoothing), (x,))


@given(data=st.data(), nc=batch_and_classes)
def test_cross_entropy_with_probabilities_and_weights(data, nc):
    n, c = nc
    x = data.draw(ast.tensors(shape=(n, c), requires_grad=True))
    p = data.draw(ast.tensors(shape=(n, c), elements=st.floats(0, 1)))
    w = data.draw(ast.tensors(shape=(c,), elements=st.floats(0.1, 2)))
    expected = -(p.numpy() * w.numpy() * log_softmax_ref(x.numpy())).sum(axis=1).mean()
    np.testing.assert_allclose(F.cross_entropy(x, p, weight=w).numpy(), expected, rtol=1e-10)
    assert gradcheck(lambda x: F.cross_entropy(x, p, weight=w), (x,))


def test_nll_loss_with_weights_and_ignore_index():
    logp = an.tensor(np.log([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))
    y = an.tensor([0, 1, -100])
    w = an.tensor([2.0, 1.0, 5.0])
    expected = (2 * -np.log(0.7) + 1 * -np.log(0.8)) / (2 + 1)
    np.testing.assert_allclose(F.nll_loss(logp, y, weight=w).item(), expected, rtol=1e-6)
    none = F.nll_loss(logp, y, weight=w, reduction="none").numpy()
    np.testing.assert_allclose(none, [2 * -np.log(0.7), -np.log(0.8), 0.0], rtol=1e-6)


def test_cross_entropy_over_extra_axes():
    an.manual_seed(3)
    x = an.randn(2, 3, 4, 5, dtype=an.float64, requires_grad=True)  # (N, C, H, W)
    y = an.randint(0, 3, (2, 4, 5))
    flat = x.numpy().transpose(0, 2, 3, 1).reshape(-1, 3)
    expected = -log_softmax_ref(flat)[np.arange(40), y.numpy().reshape(-1)].mean()
    np.testing.assert_allclose(F.cross_entropy(x, y).item(), expected, rtol=1e-10)
    assert gradcheck(lambda x: F.cross_entropy(x, y), (x,))


def test_cross_entropy_common_case_is_one_node_equal_to_the_composed_loss():
    """Class indices, no weights, nothing ignored, the mean: one primitive, whose value and
    gradient are those of nll_loss(log_softmax(x)) to the last bit in float32."""
    an.manual_seed(1)
    x = an.randn(16, 5, requires_grad=True)
    y = an.randint(0, 5, (16,))
    fused = F.cross_entropy(x, y)
    assert fused.grad_fn.name == "cross_entropy" and fused.grad_fn.parents[0] is x
    fused.backward()
    g = x.grad.numpy().copy()
    x.grad = None
    composed = F.nll_loss(F.log_softmax(x, axis=1), y)
    composed.backward()
    assert fused.item() == composed.item()
    np.testing.assert_allclose(g, x.grad.numpy(), rtol=1e-6, atol=1e-9)
    ignored = F.cross_entropy(x, an.tensor([-100] + [1] * 15))  # not the common case
    assert ignored.grad_fn.name != "cross_entropy"


def test_cross_entropy_known_value():
    # ln(1 + e⁻²) for both rows
    logits = an.tensor([[2.0, 0.0], [0.0, 2.0]])
    assert F.cross_entropy(logits, an.tensor([0, 1])).item() == pytest.approx(np.log1p(np.exp(-2)))


@pytest.mark.parametrize("loss", [
    lambda x: F.cross_entropy(x, an.tensor([0, 2])),
    lambda x: F.cross_entropy(x, an.tensor([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])),
    lambda x: F.nll_loss(F.log_softmax(x, axis=1), an.tensor([1, 0])),
    lambda x: F.binary_cross_entropy_with_logits(x, an.ones(2, 3)),
    lambda x: F.binary_cross_entropy_with_logits(x, an.zeros(2, 3), pos_weight=an.full((3,), 2.0)),
])  # fmt: skip
def test_losses_on_logits_are_finite_at_ten_thousand(loss):
    x = an.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss(x)
        value.backward()
    assert np.isfinite(value.item()) and np.isfinite(x.grad.numpy()).all()


@given(data=st.data())
def test_binary_cross_entropy_with_logits_matches_its_formula(data):
    x = data.draw(ast.tensors(shape=ast.shapes(min_dims=1, min_side=1), requires_grad=True))
    t = data.draw(ast.tensors(shape=x.shape, elements=st.floats(0, 1)))
    s = 1 / (1 + np.exp(-x.numpy()))
    expected = -(2.0 * t.numpy() * np.log(s) + (1 - t.numpy()) * np.log(1 - s)).mean()
    got = F.binary_cross_entropy_with_logits(x, t, pos_weight=2.0)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-8)
    assert gradcheck(lambda x: F.binary_cross_entropy_with_logits(x, t), (x,))


def test_binary_cross_entropy_on_probabilities():
    p = an.tensor([0.9, 0.2, 0.5], dtype=an.float64, requires_grad=True)
    t = an.tensor([1.0, 0.0, 1.0], dtype=an.float64)
    expected = -np.mean([np.log(0.9), np.log(0.8), np.log(0.5)])
    assert F.binary_cross_entropy(p, t).item() == pytest.approx(expected)
    assert gradcheck(lambda p: F.binary_cross_entropy(p, t), (p,))


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    p = an.tensor([0.0, 1.0], requires_grad=True)
    t = an.tensor([1.0, 0.0])
    loss = F.binary_cross_entropy(p, t)
    loss.backward()
    assert loss.item() == pytest.approx(100.0)
    assert np.isfinite(p.grad.numpy()).all()


def test_loss_errors():
    with pytest.raises(
        ValueError,
        match=r"cross_entropy: input of shape \(2, 3\) needs class indices of shape \(2,\), "
        r"got \(3,\)",
    ):
        F.cross_entropy(an.zeros(2, 3), an.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="class index 3 is out of range for 3 classes"):
        F.cross_entropy(an.zeros(2, 3), an.tensor([0, 3]))
    with pytest.raises(ValueError, match="reduction must be"):
        F.mse_loss(an.zeros(2), an.zeros(2), reduction="average")


# ---- layers' computations ------------------------------------------------------------------


def test_linear_matches_x_wt_plus_b():
    x = an.randn(4, 3, dtype=an.float64, requires_grad=True)
    w = an.randn(2, 3, dtype=an.float64, requires_grad=True)
    b = an.randn(2, dtype=an.float64, requires_grad=True)
    np.testing.assert_allclose(F.linear(x, w, b).numpy(), x.numpy() @ w.numpy().T + b.numpy())
    assert gradcheck(F.linear, (x, w, b))
    with pytest.raises(ValueError, match=r"linear: input has 4 features .* expects 3"):
        F.linear(an.zeros(2, 4), w)


def test_dropout_scales_and_masks():
    an.manual_seed(0)
    x = an.ones(20000, requires_grad=True)
    y = F.dropout(x, 0.3)
    kept = y.numpy() != 0
    assert abs(kept.mean() - 0.7) < 0.02
    np.testing.assert_allclose(y.numpy()[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.7, 0), rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all()


@given(ast.tensors(shape=ast.shapes(min_dims=2, max_dims=3, min_side=2), requires_grad=True))
def test_layer_norm(x):
    d = x.shape[-1]
    w = an.tensor(np.linspace(0.5, 1.5, d), dtype=an.float64, requires_grad=True)
    b = an.tensor(np.linspace(-1, 1, d), dtype=an.float64, requires_grad=True)
    v = x.numpy()
    expected = (v - v.mean(-1, keepdims=True)) / np.sqrt(
        v.var(-1, keepdims=True) + 1e-5
    ) * w.numpy() + b.numpy()
    np.testing.assert_allclose(F.layer_norm(x, d, w, b).numpy(), expected, rtol=1e-8, atol=1e-10)
    assert gradcheck(lambda x, w, b: F.layer_norm(x, d, w, b), (x, w, b))


def test_batch_norm_training_and_evaluation():
    an.manual_seed(1)
    x = an.randn(6, 3, 4, dtype=an.float64, requires_grad=True)
    rm, rv = an.zeros(3, dtype=an.float64), an.ones(3, dtype=an.float64)
    v = x.numpy()
    mean, var = v.mean(axis=(0, 2)), v.var(axis=(0, 2))
    y = F.batch_norm(x, rm, rv, training=True, momentum=0.1)
    expected = (v - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-5)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-8)
    np.testing.assert_allclose(rm.numpy(), 0.1 * mean)
    np.testing.assert_allclose(rv.numpy(), 0.9 + 0.1 * var * 24 / 23)
    assert gradcheck(lambda x: F.batch_norm(x, None, None, training=True), (x,))
    y_eval = F.batch_norm(x, rm, rv, training=False)
    np.testing.assert_allclose(
        y_eval.numpy(), (v - rm.numpy()[:, None]) / np.sqrt(rv.numpy()[:, None] + 1e-5)
    )


def test_one_hot():
    assert F.one_hot(an.tensor([2, 0])).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(ValueError, match=r"one_hot: labels must lie in \[0, 3\)"):
        F.one_hot(an.tensor([3]), 3)
