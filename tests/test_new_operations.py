"""The operations of issue 14 beyond what op_db checks (values against NumPy, gradients of
the first and second order: tests/test_op_db.py): PyTorch's spellings, NumPy dispatch, ties,
zeros, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import autonet as an
from autonet.testing import gradcheck, gradgradcheck


def t64(values, requires_grad=True):
    return an.tensor(values, dtype=an.float64, requires_grad=requires_grad)


# ---- NumPy functions on tensors run autonet's operations -----------------------------------

DISPATCH = [
    (np.cumsum, ()), (np.cumprod, ()), (np.sort, ()), (np.flip, ()), (np.roll, (1,)),
    (np.repeat, (2,)), (np.tile, ((2, 1),)), (np.tril, ()), (np.triu, ()), (np.diagonal, ()),
    (np.trace, ()), (np.linalg.norm, ()), (np.linalg.inv, ()), (np.linalg.det, ()),
    (np.outer, "self"), (np.einsum, "einsum"),
]  # fmt: skip


@pytest.mark.parametrize(("fn", "args"), DISPATCH, ids=[f.__name__ for f, _ in DISPATCH])
def test_numpy_functions_on_tensors_are_recorded(fn, args):
    x = t64([[2.0, 1.0], [0.5, 3.0]])
    if args == "self":
        y = fn(x, x)
    elif args == "einsum":
        y = fn("ij,jk->ik", x, x)
    else:
        y = fn(x, *args)
    expected = fn(x.numpy(), x.numpy()) if args == "self" else (
        fn("ij,jk->ik", x.numpy(), x.numpy()) if args == "einsum" else fn(x.numpy(), *args)
    )  # fmt: skip
    assert isinstance(y, an.Tensor) and y.requires_grad, fn.__name__
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)


def test_numpy_linalg_results_with_several_parts():
    a = t64([[4.0, 2.0], [2.0, 5.0]])
    sign, logabsdet = np.linalg.slogdet(a)
    assert sign.item() == 1.0 and logabsdet.requires_grad
    assert np.linalg.cholesky(a).requires_grad
    assert np.linalg.solve(a, t64([1.0, 2.0])).requires_grad
    idx = np.argsort(a, axis=1)
    assert isinstance(idx, an.Tensor) and idx.dtype == np.int64
    assert np.take_along_axis(a, idx, 1).requires_grad


# ---- scans ------------------------------------------------------------------------------------


def test_cumsum_spellings_and_flattening():
    x = an.arange(6.0).reshape(2, 3)
    assert x.cumsum(dim=1).tolist() == [[0, 1, 3], [3, 7, 12]]
    assert an.cumsum(x).shape == (6,)  # NumPy: no axis flattens
    assert an.cumsum(an.tensor(2.0), 0).shape == ()  # PyTorch: a 0-d tensor stays 0-d
    assert an.cumsum(an.arange(3), 0, dtype=an.float64).dtype == np.float64


def test_cumprod_gradient_with_zeros_is_exact():
    x = t64([[2.0, 0.0, 3.0, 0.0], [0.0, 1.5, -2.0, 4.0]])
    x.cumprod(axis=1).sum().backward()
    # dL/dx₁ = Σ_{j≥1} Π_{i≤j, i≠1} xᵢ = x₀ + x₀x₂ + x₀x₂x₃ = 2 + 6 + 0
    np.testing.assert_allclose(x.grad.numpy()[0], [1.0, 8.0, 0.0, 0.0])
    np.testing.assert_allclose(x.grad.numpy()[1], [1 + 1.5 - 3.0 - 12.0, 0, 0, 0])
    assert gradgradcheck(lambda t: t.cumprod(1), (x,))


# ---- sorting ----------------------------------------------------------------------------------


def test_sort_gives_values_for_numpy_and_values_and_indices_for_pytorch():
    x = t64([[3.0, 1.0, 2.0]])
    assert isinstance(x.sort(axis=1), an.Tensor)
    values, indices = x.sort(dim=1, descending=True)
    assert values.tolist() == [[3.0, 2.0, 1.0]] and indices.tolist() == [[0, 2, 1]]
    values.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0, 1.0]]


def test_ties_keep_their_order_and_each_value_gets_its_own_gradient():
    x = t64([2.0, 1.0, 2.0, 1.0])
    assert an.argsort(x).tolist() == [1, 3, 0, 2]
    assert an.argsort(x, descending=True).tolist() == [0, 2, 1, 3]
    values, indices = x.topk(3)
    assert indices.tolist() == [0, 2, 1]
    (values * an.tensor([1.0, 10.0, 100.0], dtype=an.float64)).sum().backward()
    assert x.grad.tolist() == [1.0, 100.0, 10.0, 0.0]


def test_topk_smallest_and_errors():
    x = t64([[5.0, 1.0, 4.0], [0.0, 2.0, 9.0]])
    values, indices = x.topk(2, dim=1, largest=False)
    assert values.tolist() == [[1.0, 4.0], [0.0, 2.0]] and indices.tolist() == [[1, 2], [0, 1]]
    with pytest.raises(ValueError, match="topk: k = 4 is out of range for dim 1 of size 3"):
        x.topk(4, dim=1)


# ---- rearranging ------------------------------------------------------------------------------


def test_repeat_is_numpys_and_the_method_repeat_is_pytorchs():
    x = an.tensor([1.0, 2.0])
    assert an.repeat(x, 2).tolist() == [1.0, 1.0, 2.0, 2.0]  # NumPy's repeat
    assert np.repeat(x, 2).tolist() == [1.0, 1.0, 2.0, 2.0]
    assert x.repeat_interleave(2).tolist() == [1.0, 1.0, 2.0, 2.0]  # PyTorch's name for it
    assert x.repeat(2).tolist() == [1.0, 2.0, 1.0, 2.0]  # PyTorch's Tensor.repeat = tile
    assert x.repeat(2, 2).shape == (2, 4) and x.tile((3,)).shape == (6,)
    with pytest.raises(ValueError, match="repeat: 3 counts for axis 0 of size 2"):
        an.repeat(x, [1, 2, 3], axis=0)


def test_flip_roll_spellings():
    x = an.arange(6.0).reshape(2, 3)
    assert x.flip(dims=(0, 1)).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert x.roll(shifts=1, dims=1).tolist() == [[2, 0, 1], [5, 3, 4]]
    assert x.roll((1, 1), (0, 1)).tolist() == np.roll(x.numpy(), (1, 1), (0, 1)).tolist()
    assert an.flip(an.tensor(3.0)).item() == 3.0


def test_masked_fill_keeps_the_dtype_and_passes_gradient_where_not_filled():
    x = t64([[1.0, -2.0], [-3.0, 4.0]])
    y = x.masked_fill(x.detach() < 0, 0.5)
    assert y.dtype == np.float64 and y.tolist() == [[1.0, 0.5], [0.5, 4.0]]
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert an.tensor([1, 2]).masked_fill(an.tensor([True, False]), 7).tolist() == [7, 2]
    value = t64(2.0)
    an.masked_fill(
        an.zeros(3, dtype=an.float64), an.tensor([True, False, True]), value
    ).sum().backward()
    assert value.grad.item() == 2.0


# ---- picking along an axis ----------------------------------------------------------------------


def test_gather_and_scatter_add_are_each_others_gradients():
    x = t64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    index = an.tensor([[2, 0], [1, 1]])
    y = x.gather(1, index)
    assert y.tolist() == [[3.0, 1.0], [5.0, 5.0]]
    y.sum().backward()
    assert x.grad.tolist() == [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]
    src = t64([[10.0, 20.0], [30.0, 40.0]])
    z = an.zeros(2, 3, dtype=an.float64).scatter_add(1, index, src)
    assert z.tolist() == [[20.0, 0.0, 10.0], [0.0, 70.0, 0.0]]
    assert gradcheck(lambda s: an.zeros(2, 3, dtype=an.float64).scatter_add(1, index, s), (src,))
    assert gradgradcheck(lambda a: a.gather(1, index) ** 2, (x,))


def test_gather_errors_name_the_shapes():
    x = an.zeros(2, 3)
    with pytest.raises(ValueError, match=r"gather: index of shape \(3, 1\) does not fit"):
        x.gather(1, an.tensor([[0], [1], [0]]))
    with pytest.raises(IndexError, match="gather"):
        x.gather(1, an.tensor([[5], [0]]))
    with pytest.raises(IndexError, match="scatter_add: index out of range"):
        x.scatter_add(0, an.tensor([[2, 0, 0]]), an.ones(1, 3))
    with pytest.raises(IndexError, match="must hold integers"):
        an.take_along_axis(x, np.zeros((2, 1)), 1)


# ---- matrices ---------------------------------------------------------------------------------


def test_triangles_diagonals_and_traces_take_pytorchs_names():
    x = an.arange(9.0).reshape(3, 3)
    assert x.tril(diagonal=-1).tolist() == np.tril(x.numpy(), -1).tolist()
    assert x.triu(diagonal=1).tolist() == np.triu(x.numpy(), 1).tolist()
    batch = an.arange(24.0).reshape(2, 3, 4)
    assert batch.diagonal(dim1=1, dim2=2).tolist() == np.diagonal(batch.numpy(), 0, 1, 2).tolist()
    assert an.trace(batch, axis1=1, axis2=2).tolist() == np.trace(batch.numpy(), 0, 1, 2).tolist()
    with pytest.raises(ValueError, match="tril: needs a matrix"):
        an.tril(an.ones(3))
    with pytest.raises(ValueError, match="diagonal: axis1 and axis2 must differ"):
        x.diagonal(0, 1, 1)


def test_outer_of_vectors_and_its_gradient():
    a, b = t64([1.0, 2.0]), t64([3.0, 4.0, 5.0])
    y = a.outer(b)
    assert y.shape == (2, 3)
    y.sum().backward()
    assert a.grad.tolist() == [12.0, 12.0] and b.grad.tolist() == [3.0, 3.0, 3.0]


# ---- einsum ----------------------------------------------------------------------------------


def test_einsum_forms():
    a, b = an.randn(2, 3, dtype=an.float64), an.randn(3, 4, dtype=an.float64)
    np.testing.assert_allclose(an.einsum("ij,jk", a, b).numpy(), a.numpy() @ b.numpy())
    np.testing.assert_allclose(an.einsum("ij,jk->ik", [a, b]).numpy(), a.numpy() @ b.numpy())
    np.testing.assert_allclose(an.einsum("i j , j k -> k i", a, b).numpy(), (a @ b).numpy().T)
    assert an.einsum("ij->", a).shape == ()
    assert "einsum(ij,jk->ik)" in repr(an.einsum("ij,jk->ik", a.requires_grad_(), b))


def test_einsum_errors():
    a = an.ones(2, 3)
    with pytest.raises(ValueError, match="names 2 operands but 1 were given"):
        an.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match=r"letter 'j' .* stands for sizes 3 and 4"):
        an.einsum("ij,jk->ik", a, an.ones(4, 2))
    with pytest.raises(ValueError, match="term 'ijk' names 3 axes but its operand has shape"):
        an.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="output letter 'z'"):
        an.einsum("ij->z", a)


# ---- linear algebra --------------------------------------------------------------------------


def test_linalg_namespace_and_methods():
    a = t64([[4.0, 1.0], [1.0, 3.0]])
    assert an.linalg.inv is an.inv and a.inverse().tolist() == np.linalg.inv(a.numpy()).tolist()
    np.testing.assert_allclose(a.det().item(), 11.0)
    np.testing.assert_allclose(a.cholesky(upper=True).numpy(), np.linalg.cholesky(a.numpy()).T)
    np.testing.assert_allclose(an.linalg.norm(a, "fro").item(), np.linalg.norm(a.numpy()))
    np.testing.assert_allclose(a.norm(p=1, dim=0).numpy(), [5.0, 4.0])


def test_linalg_errors():
    with pytest.raises(
        np.linalg.LinAlgError, match=r"inv: no result for \(2, 2\): the matrix is singular"
    ):
        an.linalg.inv(an.ones(2, 2))
    with pytest.raises(np.linalg.LinAlgError, match=r"cholesky: .* not positive definite"):
        an.linalg.cholesky(an.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"det: expected square matrices .* got shape \(2, 3\)"):
        an.linalg.det(an.ones(2, 3))
    with pytest.raises(
        ValueError, match=r"solve: a of shape \(2, 2\) and b of shape \(3,\) do not fit"
    ):
        an.linalg.solve(an.eye(2), an.ones(3))


def test_norms_from_singular_values_have_values_but_refuse_gradients():
    a = t64([[3.0, 0.0], [0.0, 4.0]], requires_grad=False)
    assert an.norm(a, "nuc").item() == pytest.approx(7.0)
    assert an.norm(a, 2).item() == pytest.approx(4.0)
    with pytest.raises(NotImplementedError, match="singular values"):
        an.norm(a.requires_grad_(), "nuc")


def test_the_two_norm_of_zero_has_gradient_zero():
    x = t64([[0.0, 0.0], [3.0, 4.0]])
    x.norm(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])


def test_det_and_slogdet_agree_and_solve_matches_the_inverse():
    a = t64([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    sign, logabsdet = a.slogdet()
    np.testing.assert_allclose((sign * logabsdet.exp()).item(), a.det().item())
    b = t64([[1.0], [2.0], [3.0]])
    np.testing.assert_allclose(an.linalg.solve(a, b).numpy(), (a.inverse() @ b).numpy())
    assert gradgradcheck(lambda m, v: an.linalg.solve(m, v), (a, b))
