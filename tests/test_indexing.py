"""Indexing: repeated indices accumulate, ellipsis and newaxis, errors, iteration (values and
gradients of every order for basic, integer-array, mask and mixed indices: tests/test_op_db.py)."""

from __future__ import annotations

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
