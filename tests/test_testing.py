"""autonet.testing: gradcheck and gradgradcheck catch wrong derivatives; the strategies make
what they promise."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autonet as an
from autonet.testing import GradcheckError, gradcheck, gradgradcheck
from autonet.testing import strategies as ast


class WrongCube(an.Function):
    """y = x³ with a deliberately wrong derivative (2x² instead of 3x²)."""

    name = "wrong_cube"

    def forward(self, x):
        return x**3

    def backward(self, g, y, x):
        return (g * 2 * x * x,)


class OpaqueCube(an.Function):
    """y = x³ with the right derivative computed outside the graph: first order is right,
    second order is not (the backward cannot be differentiated)."""

    name = "opaque_cube"

    def forward(self, x):
        return x**3

    def backward(self, g, y, x):
        return (g * (3 * np.asarray(x) ** 2),)


def test_gradcheck_accepts_a_right_gradient():
    x = an.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    w = an.tensor([1.5, -0.5], requires_grad=True)
    assert gradcheck(lambda x, w: (x @ w).tanh(), (x, w))


def test_gradcheck_perturbs_a_tensor_laid_out_transposed():
    # the finite differences change x where it is: a flat copy of a transposed array would
    # leave x as it was and give a numeric gradient of 0
    x = an.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    x.data = x.data.T  # (3, 2), not contiguous
    assert not x.data.flags.c_contiguous
    assert an.testing.gradcheck(lambda x: (x * x * x).sum(), (x,))


def test_gradcheck_names_the_input_the_element_and_both_values():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongCube.apply, (x,))
    message = str(info.value)
    assert "input 0 (shape (2,))" in message and "at index (1,)" in message
    assert "by the engine but" in message and "by finite differences" in message
    assert gradcheck(WrongCube.apply, (x,), raise_exception=False) is False


def test_gradcheck_checks_only_inputs_that_require_grad_and_passes_others_through():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    c = an.tensor([3.0, 4.0])  # a constant: WrongCube applied to it is not checked
    assert gradcheck(lambda x, c, k: x * k + WrongCube.apply(c), (x, c, 2.0))
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(an.exp, (c,))


def test_gradcheck_works_in_float64_whatever_the_inputs():
    x = an.tensor([0.1, 0.2], requires_grad=True)  # float32
    assert gradcheck(lambda t: t.exp() * t, (x,), atol=1e-9)


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable():
    x = an.tensor([0.5, 1.5], requires_grad=True)
    assert gradcheck(OpaqueCube.apply, (x,))
    with pytest.raises(GradcheckError):
        gradgradcheck(OpaqueCube.apply, (x,))
    assert gradgradcheck(lambda t: t**3, (x,))


def test_a_function_of_several_outputs():
    x = an.tensor([0.5, 1.5, -1.0], requires_grad=True)
    assert gradcheck(lambda t: (t.sin(), t.cos() * t), (x,))


# ---- strategies --------------------------------------------------------------------------


@given(ast.shapes(min_dims=1, max_dims=2, min_side=2, max_side=3))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 2 and all(2 <= n <= 3 for n in shape)


@given(ast.broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@given(ast.tensors(shape=(2, 3), dtype=np.float32, requires_grad=True))
def test_tensors(t):
    assert isinstance(t, an.Tensor) and t.shape == (2, 3) and t.dtype == np.float32
    assert t.requires_grad and np.isfinite(t.numpy()).all() and np.abs(t.numpy()).max() <= 10


@given(ast.tensors(shape=(6,), elements=st.integers(0, 100).map(float), unique=True))
def test_unique_tensors(t):
    assert len(set(t.tolist())) == 6


@given(data=st.data())
def test_axes_are_valid_for_reductions(data):
    x = data.draw(ast.tensors())
    axis = data.draw(ast.axes(x.ndim))
    np.testing.assert_allclose(x.sum(axis=axis).numpy(), np.sum(x.numpy(), axis=axis))
