"""Reductions: the tie rule of max/min, zeros in prod, stability, spellings and errors.

Values against NumPy and gradients (first and second order) over every kind of axis (int,
tuple, None; keepdims) are tested for every reduction from autonet.testing.op_db
(tests/test_op_db.py)."""

from __future__ import annotations

import numpy as np
import pytest

import autonet as an


def test_max_ties_share_the_gradient_equally():
    x = an.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], rtol=1e-6)


def test_prod_gradient_with_zeros():
    x = an.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]], requires_grad=True)
    x.prod(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0, 6, 0], [0, 0, 0], [8, 4, 2]])


def test_logsumexp_is_stable_for_huge_logits():
    x = an.tensor([[1e4, 1e4 - 1.0], [-1e4, -1e4]], requires_grad=True)
    y = an.logsumexp(x, axis=1)
    np.testing.assert_allclose(
        y.numpy(), [1e4 + np.log1p(np.exp(-1.0)), -1e4 + np.log(2)], rtol=1e-6
    )
    y.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    with np.errstate(divide="ignore"):  # ln 0 = -inf is the right answer here
        y = an.logsumexp(an.tensor([-np.inf, -np.inf]))
    assert y.item() == -np.inf


def test_pytorch_spellings_dim_and_keepdim():
    x = an.arange(6.0).reshape(2, 3)
    assert x.sum(dim=1, keepdim=True).shape == (2, 1)
    assert an.mean(x, dim=0).tolist() == [1.5, 2.5, 3.5]


def test_argmax_argmin_any_all_have_no_gradient():
    x = an.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    assert x.argmax(axis=1).tolist() == [1, 0]
    assert x.argmin().item() == 0
    assert not x.argmax().requires_grad
    assert (x > 6).any().item() and not (x > 0).all(axis=1).requires_grad


def test_reduction_axis_out_of_range_names_the_operation():
    with pytest.raises(
        ValueError, match=r"sum: axis 2 is out of range for a tensor with 2 dimensions"
    ):
        an.zeros(2, 3).sum(axis=2)
