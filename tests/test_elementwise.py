"""Elementwise primitives: the behaviours a table cannot show (ties, kinks, the tails, dtypes).

Values against NumPy and gradients against finite differences, on shapes including 0-d and
size-0/size-1 axes, are tested for every operation from autonet.testing.op_db
(tests/test_op_db.py)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import autonet as an

erf_ref = np.vectorize(math.erf, otypes=[np.float64])


def test_where_with_a_number():
    x = an.tensor([-1.0, 2.0], requires_grad=True)
    an.where(x > 0, x, 0.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_maximum_ties_split_the_gradient():
    a = an.tensor([1.0, 2.0], requires_grad=True)
    b = an.tensor([1.0, 3.0], requires_grad=True)
    an.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0]
    assert b.grad.tolist() == [0.5, 1.0]


def test_relu_gradient_at_zero_is_zero():
    x = an.tensor([0.0, 1.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_pow_zero_has_zero_gradient_at_zero():
    x = an.tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_power_of_zero_base_has_finite_exponent_gradient():
    a = an.tensor([0.0, 2.0], requires_grad=True)
    b = an.tensor([2.0, 3.0], requires_grad=True)
    (a**b).sum().backward()
    assert np.isfinite(b.grad.numpy()).all()
    assert b.grad.tolist()[0] == 0.0


@pytest.mark.parametrize("fn", [an.sigmoid, an.tanh, an.softplus, an.exp, an.gelu, an.elu])
def test_activations_stay_finite_at_extremes(fn):
    x = an.tensor(
        [-1e4, -50.0, 0.0, 50.0, 1e4] if fn is not an.exp else [-1e4, 0.0, 50.0], requires_grad=True
    )
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = fn(x)
        y.sum().backward()
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_sigmoid_keeps_precision_in_the_tails():
    x = an.tensor([-30.0, 30.0])
    y = an.sigmoid(x).numpy()
    assert y[0] == pytest.approx(1 / (1 + math.exp(30)), rel=1e-6)
    assert 1 - y[1] < 1e-7


def test_float32_sigmoid_is_within_float32_resolution_and_quiet_beyond():
    x = np.linspace(-87, 87, 3001, dtype=np.float32)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    got = an.sigmoid(an.tensor(x)).numpy()
    assert got.dtype == np.float32
    assert np.abs(got / exact - 1).max() < 3e-7
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e⁻ˣ overflows here: no warning reaches the user
        far = an.sigmoid(an.tensor([-1e4, -200.0, 200.0, 1e4])).numpy()
    assert far.tolist() == [0.0, 0.0, 1.0, 1.0]


def test_float32_erf_is_within_float32_resolution():
    x = np.linspace(-6, 6, 2001, dtype=np.float32)
    approx = an.erf(an.tensor(x)).numpy()
    exact = erf_ref(x.astype(np.float64))
    assert np.abs(approx - exact).max() < 3e-7


def test_integer_tensor_gives_float32_for_float_functions():
    assert an.exp(an.arange(3)).dtype == np.float32
    assert (an.arange(3) / 2).dtype == np.float32
    assert (an.arange(3) * 0.5).dtype == np.float32
