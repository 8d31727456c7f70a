"""Gradients at the edge points where a formula would give 0·∞ or 0/0: PyTorch's values, and
derivatives of the second order that stay finite there."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autonet as an
from autonet.testing import gradcheck, gradgradcheck

INF, NAN = math.inf, math.nan


def grads_of(fn, *values, dtype=an.float32):
    xs = [an.tensor(v, dtype=dtype, requires_grad=True) for v in values]
    y = fn(*xs)
    y.backward(an.ones(y.shape, dtype=y.dtype))  # (a sum of inf and -inf would warn)
    return [x.grad.numpy() for x in xs]


# ---- maximum and minimum: ties of ±inf -----------------------------------------------------


@pytest.mark.parametrize("fn", [an.maximum, an.minimum])
def test_tied_infinities_share_the_gradient(fn):
    ga, gb = grads_of(fn, [INF, -INF, 1.0], [INF, -INF, 1.0])
    np.testing.assert_array_equal(ga, [0.5, 0.5, 0.5])  # PyTorch: 0.5 each
    np.testing.assert_array_equal(gb, [0.5, 0.5, 0.5])


def test_maximum_and_minimum_still_send_the_gradient_to_the_winner():
    a, b = [INF, 2.0, -INF, 3.0], [1.0, 5.0, 0.0, 3.0]
    ga, gb = grads_of(an.maximum, a, b)
    np.testing.assert_array_equal(ga, [1.0, 0.0, 0.0, 0.5])
    np.testing.assert_array_equal(gb, [0.0, 1.0, 1.0, 0.5])
    ga, gb = grads_of(an.minimum, a, b)
    np.testing.assert_array_equal(ga, [0.0, 1.0, 1.0, 0.5])
    np.testing.assert_array_equal(gb, [1.0, 0.0, 0.0, 0.5])
    (g,) = grads_of(lambda x: an.maximum(x, 2.0), [1.0, 2.0, 3.0])  # a tensor and a number
    np.testing.assert_array_equal(g, [0.0, 0.5, 1.0])
    assert g.dtype == np.float32


@given(st.lists(st.floats(-3, 3), min_size=1, max_size=4), st.floats(-3, 3))
def test_maximum_and_minimum_second_order(values, shift):
    a = an.tensor(values, dtype=an.float64, requires_grad=True)
    b = an.tensor([v + shift + 0.25 for v in values], dtype=an.float64, requires_grad=True)
    for fn in (an.maximum, an.minimum):
        assert gradgradcheck(lambda x, y, fn=fn: fn(x * x, y), (a, b))


# ---- a ** b at a = 0, b = 0 ------------------------------------------------------------------


def test_zero_to_the_zero_has_derivative_zero_in_the_base():
    ga, gb = grads_of(lambda a, b: a**b, [0.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 2.0])
    np.testing.assert_array_equal(ga, [0.0, 1.0, 0.0, 0.0])  # PyTorch: 0 at (0, 0)
    np.testing.assert_allclose(gb, [0.0, 0.0, math.log(2), 0.0], rtol=1e-6)


def test_zero_to_the_zero_second_order_is_finite():
    a = an.tensor([0.0, 0.5], dtype=an.float64, requires_grad=True)
    b = an.tensor([0.0, 1.5], dtype=an.float64, requires_grad=True)
    ga, gb = an.grad((a**b).sum(), [a, b], create_graph=True)
    second = an.grad((ga + gb).sum(), [a, b])
    assert all(np.isfinite(g.numpy()).all() for g in second)


@given(st.lists(st.floats(0.2, 3), min_size=1, max_size=3), st.floats(-2, 2))
def test_power_gradients_away_from_zero(bases, exponent):
    a = an.tensor(bases, dtype=an.float64, requires_grad=True)
    b = an.tensor([exponent] * len(bases), dtype=an.float64, requires_grad=True)
    assert gradcheck(lambda x, y: x**y, (a, b))
    assert gradgradcheck(lambda x, y: x**y, (a, b))


# ---- std and var of a constant -----------------------------------------------------------


@pytest.mark.parametrize("value", [3.0, 0.1, 1 / 3, -7.7])
@pytest.mark.parametrize("dtype", [an.float32, an.float64])
@pytest.mark.parametrize("ddof", [0, 1])
def test_std_and_var_of_a_constant_have_gradient_zero(value, dtype, ddof):
    for fn in (lambda x: x.std(ddof=ddof), lambda x: x.var(ddof=ddof)):
        (g,) = grads_of(fn, [value] * 5, dtype=dtype)
        np.testing.assert_array_equal(g, np.zeros(5))  # PyTorch: 0, not NaN


def test_std_of_a_constant_row_beside_a_varying_one():
    x = an.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], dtype=an.float64, requires_grad=True)
    y = x.std(axis=1)
    np.testing.assert_allclose(y.numpy(), [0.0, math.sqrt(2 / 3)])
    y.sum().backward()
    s = math.sqrt(2 / 3)
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0, 0], [-1 / (3 * s), 0, 1 / (3 * s)]])


def test_std_of_a_constant_second_order_is_zero():
    x = an.tensor([0.5, 0.5, 0.5], dtype=an.float64, requires_grad=True)
    (g,) = an.grad(x.std(), x, create_graph=True)
    (h,) = an.grad((g * an.tensor([1.0, 2.0, 3.0], dtype=an.float64)).sum(), x)
    np.testing.assert_array_equal(h.numpy(), [0.0, 0.0, 0.0])


def test_std_keeps_nan_and_its_graph_away_from_zero():
    assert math.isnan(an.tensor([1.0, NAN]).std().item())
    assert an.tensor([1.0, 3.0], requires_grad=True).std().grad_fn.name == "sqrt"


@given(st.lists(st.floats(-3, 3), min_size=2, max_size=5, unique=True))
def test_std_second_order_where_values_vary(values):
    if np.std(values) < 1e-3:
        return
    x = an.tensor(values, dtype=an.float64, requires_grad=True)
    assert gradgradcheck(lambda t: t.std(ddof=1), (x,))


# ---- max over values holding a NaN ---------------------------------------------------------


def test_max_over_a_vector_with_a_nan_sends_the_gradient_to_the_nan():
    (g,) = grads_of(lambda x: x.max(), [1.0, NAN, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0])  # PyTorch: 1 at the NaN
    (g,) = grads_of(lambda x: x.min(), [1.0, NAN, 2.0, NAN])
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.0, 0.5])  # two NaNs share it


def test_max_along_an_axis_with_a_nan_in_one_row():
    (g,) = grads_of(lambda x: x.max(axis=1), [[1.0, NAN, 2.0], [3.0, 4.0, 4.0]])
    np.testing.assert_array_equal(g, [[0.0, 1.0, 0.0], [0.0, 0.5, 0.5]])
