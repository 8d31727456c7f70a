"""The Tensor itself: construction and dtypes, attributes, repr, conversions, factories, NumPy
interoperability and in-place rules."""

from __future__ import annotations

import numpy as np
import pytest

import autonet as an

# ---- dtypes ----------------------------------------------------------------------------------


def test_floats_default_to_float32_and_ints_to_int64():
    assert an.tensor([1.0, 2.0]).dtype == np.float32
    assert an.tensor(np.zeros(3)).dtype == np.float32  # float64 data too, unless asked
    assert an.tensor([1, 2]).dtype == np.int64
    assert an.tensor([True, False]).dtype == np.bool_
    assert an.tensor([1.0], dtype=an.float64).dtype == np.float64
    assert an.tensor([1.0], dtype="float64").dtype == np.float64


def test_set_default_dtype():
    an.set_default_dtype(an.float64)
    assert an.tensor([1.0]).dtype == np.float64
    assert an.zeros(2).dtype == np.float64
    assert an.randn(2).dtype == np.float64
    with pytest.raises(TypeError, match="floating dtype"):
        an.set_default_dtype(an.int64)


def test_python_and_numpy_scalars_never_upcast_float32():
    x = an.ones(3)
    for other in (2, 2.5, np.float64(2.5), np.float32(2.5), np.array(2.5), np.int64(3)):
        assert (x * other).dtype == np.float32, type(other)
        assert (other * x).dtype == np.float32, type(other)
        assert (x + other).dtype == np.float32
        assert (x / other).dtype == np.float32
        assert (x - other).dtype == np.float32
    assert (x * np.ones(3)).dtype == np.float32  # a float64 array adopts the tensor's dtype
    assert (x**2.0).dtype == np.float32


def test_integer_and_float_tensors_combine_as_in_pytorch():
    assert (an.arange(3) * an.ones(3)).dtype == np.float32
    assert (an.arange(3) + 1).dtype == np.int64
    assert (an.ones(3, dtype=an.float64) + an.ones(3)).dtype == np.float64


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="only floating-point tensors can require grad, not int64"):
        an.tensor([1, 2], requires_grad=True)
    t = an.tensor([1, 2])
    with pytest.raises(TypeError, match="not int64"):
        t.requires_grad_()


def test_complex_and_object_data_are_refused():
    with pytest.raises(TypeError, match="complex"):
        an.tensor([1j])
    with pytest.raises(TypeError, match="cannot make an array"):
        an.tensor([[1.0], [1.0, 2.0]])


# ---- attributes ------------------------------------------------------------------------------


def test_attributes():
    t = an.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and t.ndim == 2 and t.dtype == np.float32
    assert t.size == 6 and t.size() == (2, 3) and t.size(1) == 3 and t.numel() == 6
    assert len(t) == 2 and t.dim() == 2 and t.device == "cpu"
    assert t.T.shape == (3, 2)
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert t[1, 2].item() == 6.0 and isinstance(t[1, 2].item(), float)
    assert t.numpy() is t.data


def test_zero_d_tensors():
    t = an.tensor(3.5)
    assert t.shape == () and t.item() == 3.5 and float(t) == 3.5 and f"{t:.1f}" == "3.5"
    with pytest.raises(TypeError, match="0-d"):
        len(t)


def test_truth_value_of_many_elements_is_ambiguous():
    assert bool(an.tensor([1.0]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(an.tensor([1.0, 2.0]))


def test_item_of_many_elements_is_an_error():
    with pytest.raises(ValueError, match="item: tensor has 2 elements"):
        an.zeros(2).item()


def test_repr():
    assert repr(an.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(an.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(an.tensor([1.0], dtype=an.float64)) == "tensor([1.], dtype=float64)"
    assert repr(an.tensor([1, 2])) == "tensor([1, 2])"
    x = an.tensor([1.0], requires_grad=True)
    assert repr(x * 2) == "tensor([2.], grad_fn=<mul>)"
    assert repr(x.sum(axis=0)) == "tensor(1., grad_fn=<sum(axis=0)>)"
    assert repr(x**2) == "tensor([1.], grad_fn=<pow(2)>)"
    assert repr(an.zeros(0, 3)) == "tensor([], size=(0, 3))"


def test_detach_and_leaf_status():
    x = an.tensor([1.0], requires_grad=True)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.data is y.data
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False


def test_conversions():
    x = an.tensor([1.7, -2.2])
    assert x.long().tolist() == [1, -2] and x.long().dtype == np.int64
    assert x.double().dtype == np.float64 and x.float() is x
    assert x.to(an.float64).dtype == np.float64 and x.to("cpu") is x
    assert (x > 0).dtype == np.bool_ and (x > 0).float().tolist() == [1.0, 0.0]
    assert x.int().dtype == np.int32


def test_float_casts_pass_gradients_back():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]
    assert not x.long().requires_grad


# ---- factories -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [an.zeros, an.ones, an.rand, an.randn, an.empty])
def test_shapes_as_ints_or_tuple(make):
    assert make(3, 4).shape == (3, 4)
    assert make((3, 4)).shape == (3, 4)
    assert make([2]).shape == (2,)
    assert make(()).shape == ()
    assert make(2, dtype=an.float64).dtype == np.float64
    assert make(2, requires_grad=True).requires_grad


def test_factory_values():
    assert an.zeros(2).tolist() == [0.0, 0.0]
    assert an.full((2,), 3).tolist() == [3, 3] and an.full((2,), 3.0).dtype == np.float32
    assert an.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert an.arange(3).dtype == np.int64 and an.arange(0.0, 1.0, 0.5).tolist() == [0.0, 0.5]
    assert an.arange(1, 7, 2).tolist() == [1, 3, 5]
    assert an.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    like = an.tensor([[1, 2]])
    assert an.zeros_like(like).dtype == np.int64 and an.ones_like(like).shape == (1, 2)
    assert an.full_like(like, 7).tolist() == [[7, 7]]
    assert an.rand_like(an.zeros(2, dtype=an.float64)).dtype == np.float64
    assert an.randn_like(like).dtype == np.float32


def test_random_factories_follow_manual_seed():
    an.manual_seed(123)
    a = (an.rand(3), an.randn(3), an.randint(0, 10, (3,)))
    an.manual_seed(123)
    b = (an.rand(3), an.randn(3), an.randint(0, 10, (3,)))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    r = an.randint(5, (1000,))
    assert r.dtype == np.int64 and r.min().item() >= 0 and r.max().item() < 5
    u = an.rand(10000)
    assert 0.45 < u.mean().item() < 0.55


def test_negative_shapes_are_refused():
    with pytest.raises(
        ValueError, match=r"zeros: a shape is made of non-negative ints, got \(3, -1\)"
    ):
        an.zeros(3, -1)


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.zeros(3)
    t = an.from_numpy(a)
    a[0] = 5
    assert t.dtype == np.float64 and t[0].item() == 5.0


# ---- NumPy interoperability ------------------------------------------------------------------


def test_numpy_sees_tensors_as_arrays():
    t = an.tensor([1.0, 2.0])
    assert isinstance(np.asarray(t), np.ndarray) and np.asarray(t).tolist() == [1.0, 2.0]
    assert np.array(t, dtype=np.float64).dtype == np.float64


def test_numpy_operands_give_tensors():
    w = an.ones(2, requires_grad=True)
    for out in (
        w + np.ones(2),
        np.ones(2) * w,
        np.float32(2) * w,
        np.float64(2) * w,
        np.ones(2) - w,
        np.ones(2) / w,
        np.exp(w),
        np.sum(w * w),
    ):
        assert isinstance(out, an.Tensor) and out.requires_grad and out.dtype == np.float32
    y = np.concatenate([w, np.ones(2) * w])
    assert isinstance(y, an.Tensor) and y.shape == (4,)
    np.sum(y).backward()
    assert w.grad.tolist() == [2.0, 2.0]


def test_numpy_functions_without_gradient_refuse_to_drop_one():
    w = an.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"np\.diff is not differentiable in autonet"):
        np.diff(w)
    assert np.diff(w.detach()).tolist() == [0.0, 0.0]
    assert np.allclose(w, 1.0)  # results without a gradient are fine
    assert np.argsort(w).dtype == np.int64


def test_comparisons_give_bool_tensors_without_grad():
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for m in (x < 2, x <= 2, x > 2, x >= 2, x == 2, x != 2, (x > 1) & (x < 3), ~(x > 1)):
        assert m.dtype == np.bool_ and not m.requires_grad
    assert (x == 2).tolist() == [False, True, False]
    assert ((x > 2) | (x < 2)).tolist() == [True, False, True]
    assert {x: 1}[x] == 1  # hashable by identity


# ---- in-place changes ------------------------------------------------------------------------


def test_in_place_on_plain_tensors():
    t = an.zeros(3)
    t += 1
    t *= 3
    t[0] = 7
    t.sub_(1).div_(2)
    assert t.tolist() == [3.0, 1.0, 1.0]
    t.zero_()
    assert t.tolist() == [0.0, 0.0, 0.0]
    t.fill_(2.0).add_(an.ones(3), alpha=0.5)
    assert t.tolist() == [2.5, 2.5, 2.5]


def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad():
    w = an.ones(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"\+=: a leaf tensor that requires grad \(shape \(2,\)\) cannot be changed",
    ):
        w += 1
    with pytest.raises(RuntimeError, match="setitem"):
        w[0] = 3.0
    with an.no_grad():
        w -= 0.5
        w[1] = 3.0
    assert w.tolist() == [0.5, 3.0] and w.requires_grad


def test_augmented_assignment_on_results_is_out_of_place():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    total = 0
    for _ in range(3):
        total += (x * x).sum()
    total.backward()
    assert x.grad.tolist() == [6.0, 12.0]


def test_in_place_change_before_backward_is_detected():
    w = an.ones(2, requires_grad=True)
    x = an.tensor([1.0, 2.0])
    y = (x * w).sum()
    x += 1  # x was saved by the multiplication
    with pytest.raises(
        RuntimeError, match=r"input 0 of <mul> \(shape \(2,\)\) was changed in place"
    ):
        y.backward()


def test_optimizer_style_update_is_detected_by_a_retained_graph():
    w = an.ones(2, requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    with an.no_grad():
        w.sub_(0.1 * w.grad)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()
