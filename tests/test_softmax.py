"""softmax and log_softmax: stability at ±1e4 and float32 (values and gradients of every order:
tests/test_op_db.py)."""

from __future__ import annotations

import numpy as np

import autonet as an


def softmax_ref(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_stable_for_logits_of_ten_thousand():
    x = an.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = an.softmax(x, axis=1)
        logp = an.log_softmax(x, axis=1)
        (p.sum() + logp[:, 0].sum()).backward()
    np.testing.assert_allclose(p.numpy(), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-7)
    np.testing.assert_allclose(logp.numpy()[0], [0, -1e4, -2e4], rtol=1e-6)
    assert np.isfinite(x.grad.numpy()).all()


def test_softmax_rows_sum_to_one_in_float32():
    x = an.randn(5, 7) * 30
    p = x.softmax(dim=1)
    assert p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=1).numpy(), np.ones(5), rtol=1e-6)
