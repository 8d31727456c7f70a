"""Indexing: repeated indices accumulate, ellipsis and newaxis, errors, iteration (values and
gradients of every order for basic, integer-array, mask and mixed indices: tests/test_op_db.py)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import autonet as an


def test_repeated_indices_accumulate():
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_ellipsis_and_newaxis():
    x = an.arange(24.0).reshape(2, 3, 4)
    assert x[..., 1].shape == (2, 3)
    assert x[None, :, 0].shape == (1, 2, 4)


def test_index_errors_name_the_shape():
    with pytest.raises(IndexError, match=r"getitem: .*tensor shape \(3,\)"):
        an.zeros(3)[5]
    with pytest.raises(IndexError, match="must be integer or bool"):
        an.zeros(3)[an.tensor([0.0])]


def test_iteration_gives_rows():
    x = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    total = sum(row.sum() for row in x)
    total.backward()
    assert total.item() == 10.0 and x.grad.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_slices_of_one_tensor_gather_their_gradients_in_one_array():
    # 100 slices of a 4 MB tensor: each slice's gradient is zero but for its row, and the
    # backward pass adds the rows into one array of the tensor's size instead of making one
    # per slice (which took twice the memory at the peak, and six times the time).
    x = an.zeros(100, 10000, requires_grad=True)
    loss = sum((x[t] * float(t)).sum() for t in range(100))
    tracemalloc.start()
    try:
        loss.backward()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * x.data.nbytes
    np.testing.assert_array_equal(x.grad.numpy(), np.repeat(np.arange(100.0)[:, None], 10000, 1))


def test_a_slice_gradient_meets_gradients_of_other_kinds():
    # the same tensor read whole, by slices, by a repeated integer index and by a mask
    x = an.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    mask = np.array([[True, False], [False, True], [True, True]])
    loss = (x * x).sum() + x[0].sum() + 3 * x[1:].sum() + x[[2, 2, 0]].sum() + x[mask].sum()
    loss.backward()
    expected = 2 * x.numpy() + 1.0 * np.array([[1, 1], [0, 0], [0, 0]])
    expected += 3 * np.array([[0, 0], [1, 1], [1, 1]]) + np.array([[1, 1], [0, 0], [2, 2]]) + mask
    np.testing.assert_allclose(x.grad.numpy(), expected)
