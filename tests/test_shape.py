"""Shape operations: PyTorch's spellings and the errors (values against NumPy and gradients,
including 0-d and empty tensors, for every shape operation: tests/test_op_db.py)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given

import autonet as an
from autonet.testing import gradcheck
from autonet.testing import strategies as ast


@given(ast.tensors(shape=ast.shapes(min_dims=2), requires_grad=True))
def test_two_axes_swap_as_in_pytorch(x):
    assert_close(x.transpose(0, -1), np.swapaxes(x.numpy(), 0, -1))
    assert_close(x.swapaxes(0, 1), np.swapaxes(x.numpy(), 0, 1))
    assert_close(x.T, x.numpy().T)
    assert gradcheck(lambda t: t.transpose(0, -1), (x,))


def test_expand_keeps_minus_one_axes():
    assert an.zeros(3, 1).expand(2, -1, 4).shape == (2, 3, 4)


def test_flatten_from_a_start_axis():
    assert an.zeros(2, 3, 4, 5).flatten(1, 2).shape == (2, 12, 5)
    assert an.zeros(2, 3, 4).flatten(start_dim=1).shape == (2, 12)


def test_squeeze_leaves_axes_that_are_not_size_one():
    assert an.zeros(2, 1).squeeze(0).shape == (2, 1)


def test_shape_errors_name_the_operation_and_shapes():
    with pytest.raises(
        ValueError, match=r"reshape: cannot reshape \(3, 4\) \(12 elements\) into \(5, 2\)"
    ):
        an.zeros(3, 4).reshape(5, 2)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3, 2\) to \(3, 4\)"):
        an.zeros(3, 2).expand(3, 4)
    with pytest.raises(
        ValueError, match=r"concatenate: shapes \(2, 3\), \(3, 4\) must agree except along axis 1"
    ):
        an.concatenate([an.zeros(2, 3), an.zeros(3, 4)], axis=1)
    with pytest.raises(ValueError, match=r"stack: all shapes must be equal"):
        an.stack([an.zeros(2), an.zeros(3)])
