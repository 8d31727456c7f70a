"""Matrix products: shared weights, NumPy arrays, errors, and the linear layer's primitive
(values and gradients of every order, for vectors, matrices and broadcast batch axes:
tests/test_op_db.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autonet as an
from autonet.testing import gradcheck, gradgradcheck

# (m?, n) @ (n, p?): the "?" axes may be missing, which covers vector operands.
matmul_shapes = hnp.mutually_broadcastable_shapes(
    signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, min_side=0, max_side=4
).map(lambda s: s.input_shapes)


def test_shared_weight_over_batch_axes():
    x = an.randn(2, 5, 3, dtype=an.float64, requires_grad=True)
    w = an.randn(3, 4, dtype=an.float64, requires_grad=True)
    assert gradcheck(lambda x, w: x @ w, (x, w))
    (x @ w).sum().backward()
    np.testing.assert_allclose(
        w.grad.numpy(), x.numpy().sum(axis=(0, 1))[:, None] * np.ones((1, 4))
    )


def test_matmul_with_a_numpy_array_and_reflected():
    w = an.ones(3, 2, requires_grad=True)
    out = np.ones((4, 3)) @ w
    assert isinstance(out, an.Tensor) and out.dtype == np.float32
    out.sum().backward()
    assert w.grad.tolist() == [[4.0, 4.0]] * 3


def test_matmul_errors_name_the_shapes():
    with pytest.raises(
        ValueError, match=r"matmul: \(3, 4\) @ \(5, 2\): inner sizes 4 and 5 differ"
    ):
        an.zeros(3, 4) @ an.zeros(5, 2)
    with pytest.raises(ValueError, match=r"matmul: \(\) @ \(3,\): 0-d operands"):
        an.tensor(1.0) @ an.zeros(3)
    with pytest.raises(ValueError, match=r"matmul: \(2, 3, 4\) @ \(5, 4, 2\): batch axes"):
        an.zeros(2, 3, 4) @ an.zeros(5, 4, 2)


@given(
    rows=st.integers(0, 4), inner=st.integers(0, 4), out=st.integers(0, 4), batch=st.integers(0, 2)
)
def test_linear_layer_form_gives_gradients_in_the_weights_layout(rows, inner, out, batch):
    """x @ W.T (a transposed view): W's gradient is right and comes back contiguous."""
    x = an.randn(*(2,) * batch, rows, inner, dtype=an.float64, requires_grad=True)
    w = an.randn(out, inner, dtype=an.float64, requires_grad=True)
    assert gradcheck(lambda x, w: x @ w.T, (x, w))
    assert gradgradcheck(lambda x, w: x @ w.T, (x, w))
    (x @ w.T).sum().backward()
    n = 2**batch * rows
    expected = np.ones((n, out)).T @ x.numpy().reshape(n, inner)
    assert_close(w.grad, expected, rtol=1e-12, atol=1e-12)
    assert w.grad.numpy().flags.c_contiguous


@given(
    lead=st.lists(st.integers(0, 3), max_size=2), inner=st.integers(0, 3),
    out=st.integers(0, 3), with_bias=st.booleans(),
)  # fmt: skip
def test_linear_primitive(lead, inner, out, with_bias):
    """an.linear(x, W, b) = x Wᵀ + b, for inputs with any leading axes (or none)."""
    x = an.randn(*lead, inner, dtype=an.float64, requires_grad=True)
    w = an.randn(out, inner, dtype=an.float64, requires_grad=True)
    b = an.randn(out, dtype=an.float64, requires_grad=True) if with_bias else None
    expected = x.numpy() @ w.numpy().T + (b.numpy() if with_bias else 0)
    y = an.linear(x, w, b)
    assert y.shape == (*lead, out) and y.grad_fn.name == "linear"
    assert_close(y, expected, rtol=1e-12, atol=1e-12)
    inputs = (x, w, b) if with_bias else (x, w)
    assert gradcheck(an.linear, inputs)
    assert gradgradcheck(an.linear, inputs)


def test_linear_shape_errors():
    with pytest.raises(ValueError, match=r"linear: input has 3 features \(shape \(2, 3\)\) but "
                       r"the weight expects 4"):  # fmt: skip
        an.nn.functional.linear(an.zeros(2, 3), an.zeros(5, 4))
    with pytest.raises(ValueError, match=r"linear: bias of shape \(4,\) does not fit weight"):
        an.nn.functional.linear(an.zeros(2, 4), an.zeros(5, 4), an.zeros(4))


@pytest.mark.parametrize("lead", [(2, 3), (4, 1, 3), (0, 3), (3, 0, 2)])
@pytest.mark.parametrize("layout", ["contiguous", "transposed view"])
def test_a_matrix_applied_over_batch_axes_is_one_folded_product(lead, layout):
    # (..., k) @ (k, m) is computed as (rows, k) @ (k, m): the same values as NumPy's
    # matmul, also for a non-contiguous operand and size-0 axes, and the same gradients
    from autonet.engine.ops.arithmetic import folded_product

    rng = np.random.default_rng(0)
    a = rng.standard_normal((*lead, 5))
    if layout == "transposed view":
        a = np.ascontiguousarray(np.swapaxes(a, 0, -2)).swapaxes(0, -2)
    b = rng.standard_normal((5, 4))
    np.testing.assert_allclose(folded_product(a, b), a @ b, rtol=1e-12, atol=1e-12)
    x = an.tensor(a, requires_grad=True)
    w = an.tensor(b, requires_grad=True)
    assert gradcheck(lambda x, w: x @ w, (x, w))
    assert gradcheck(lambda x, w: an.nn.functional.linear(x, w.T), (x, w))
