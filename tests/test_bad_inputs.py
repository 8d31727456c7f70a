"""Bad inputs get a clear error at once; inputs NumPy and PyTorch accept are accepted; dtypes
stay what a float32 model expects."""

from __future__ import annotations

import numpy as np
import pytest

import autonet as an

F = an.nn.functional


# ---- powers of integers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "power",
    [lambda x: x**-1, lambda x: x ** an.tensor([-1, 2]), lambda x: 2 ** an.tensor([-1, 2])],
    ids=["int ** -1", "int ** int tensor", "2 ** int tensor"],
)
def test_integers_to_negative_integer_powers_say_so(power):
    with pytest.raises(ValueError, match="integers to negative integer powers are not allowed"):
        power(an.tensor([1, 2]))


def test_other_power_errors_still_name_the_shapes():
    with pytest.raises(ValueError, match=r"power: shapes \(2,\) and \(3,\) cannot be broadcast"):
        an.tensor([1.0, 2.0]) ** an.tensor([1.0, 2.0, 3.0])
    assert (an.tensor([1, 2]) ** 2).tolist() == [1, 4]
    assert (an.tensor([1, 2]).float() ** -1).tolist() == [1.0, 0.5]


# ---- reductions of a 0-d tensor, softmax over an empty axis ---------------------------------


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod", "logsumexp", "std", "var"])
@pytest.mark.parametrize("axis", [0, -1])
def test_a_0d_tensor_reduces_over_axis_0_as_in_numpy(name, axis):
    x = an.tensor(3.0, requires_grad=True)
    y = getattr(x, name)(axis=axis)
    assert y.shape == () and y.item() == (0.0 if name in ("std", "var") else 3.0)
    y.backward()
    assert x.grad.shape == ()


def test_a_0d_tensor_keeps_its_shape_with_keepdims_and_gives_indices_with_dim():
    x = an.tensor(3.0, requires_grad=True)
    assert x.sum(axis=0, keepdims=True).shape == ()  # NumPy: ()
    values, indices = x.max(dim=0)
    assert values.item() == 3.0 and indices.item() == 0
    with pytest.raises(ValueError, match="axis 1 is out of range for a tensor with 0 dimensions"):
        x.sum(axis=1)


@pytest.mark.parametrize("fn", [F.softmax, F.log_softmax])
@pytest.mark.parametrize(("shape", "axis"), [((2, 0), 1), ((2, 0), 0), ((0,), 0), ((0, 3), 1)])
def test_softmax_over_an_empty_axis_is_empty(fn, shape, axis):
    x = an.zeros(*shape, requires_grad=True)
    y = fn(x, axis)
    assert y.shape == shape and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.shape == shape


# ---- assigning .grad ------------------------------------------------------------------------


def test_a_gradient_of_the_wrong_shape_is_refused_at_assignment():
    x = an.zeros(2, 3, requires_grad=True)
    with pytest.raises(
        ValueError, match=r"the assigned gradient has shape \(3, 2\), but the tensor has shape "
        r"\(2, 3\)"
    ):  # fmt: skip
        x.grad = an.ones(3, 2)
    assert x.grad is None


def test_a_gradient_of_the_wrong_dtype_or_kind_is_refused_at_assignment():
    x = an.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="has dtype float64, but the tensor has dtype float32"):
        x.grad = an.ones(2, dtype=an.float64)
    with pytest.raises(TypeError, match="must be a Tensor or None, not ndarray"):
        x.grad = np.ones(2, np.float32)
    x.grad = an.ones(2)
    x.grad = None
    assert x.grad is None


def test_gradients_the_engine_writes_are_unchanged():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()  # accumulates
    assert x.grad.tolist() == [5.0, 7.0]
    x.zero_grad(set_to_none=False)
    assert x.grad.tolist() == [0.0, 0.0]


# ---- dtypes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["int first", "float first"])
def test_where_of_int64_and_float32_gives_float32(order):
    mask = an.tensor([True, False])
    i, f = an.tensor([1, 2]), an.tensor([1.5, 2.5], requires_grad=True)
    out = an.where(mask, i, f) if order == "int first" else an.where(mask, f, i)
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    ("module", "shape"),
    [(lambda: an.nn.Linear(2, 3), (4, 2)), (lambda: an.nn.Conv2d(1, 2, 3), (1, 1, 5, 5)),
     (lambda: an.nn.Conv1d(2, 3, 3), (1, 2, 5)), (lambda: an.nn.MLP(2, [3], 1), (4, 2))],
    ids=["Linear", "Conv2d", "Conv1d", "MLP"],
)  # fmt: skip
def test_integer_inputs_take_the_modules_floating_dtype(module, shape):
    m = module()
    for x in (np.ones(shape, dtype=np.int64), an.ones(*shape, dtype=an.int64)):
        out = m(x)
        assert out.dtype == np.float32
        assert F.mse_loss(out, np.zeros(out.shape, dtype=np.int64)).dtype == np.float32
    assert module().double()(np.ones(shape, dtype=np.int64)).dtype == np.float64


# ---- losses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [1.5, -0.2])
def test_binary_cross_entropy_refuses_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match=rf"the input holds {p}, but it must hold probabilities"):
        F.binary_cross_entropy(an.tensor([0.5, p]), an.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits"):
        an.nn.BCELoss()(an.tensor([p]), an.tensor([1.0]))


def test_binary_cross_entropy_of_nan_is_nan_not_a_clamped_number():
    loss = F.binary_cross_entropy(an.tensor([np.nan, 0.5]), an.tensor([1.0, 0.0]))
    assert np.isnan(loss.item())
    edges = F.binary_cross_entropy(an.tensor([0.0, 1.0]), an.tensor([1.0, 0.0]))
    assert edges.item() == pytest.approx(100.0)  # ln clamped at -100, as before


@pytest.mark.parametrize(("logits", "labels"), [((3, 4), (3,)), ((3, 4, 5), (3, 5))])
def test_cross_entropy_with_float_class_labels_says_they_must_be_integers(logits, labels):
    with pytest.raises(TypeError, match=r"looks like class labels, which must be integers"):
        F.cross_entropy(an.randn(*logits), an.zeros(*labels))


def test_cross_entropy_with_probabilities_still_works():
    logits = an.tensor([[2.0, 0.0], [0.0, 2.0]])
    soft = F.cross_entropy(logits, an.tensor([[1.0, 0.0], [0.0, 1.0]]))
    assert soft.item() == pytest.approx(F.cross_entropy(logits, an.tensor([0, 1])).item())


# ---- optimizers -------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [an.optim.SGD, an.optim.Adam])
def test_optimizers_refuse_results_of_operations(make):
    A = an.randn(2, 2, requires_grad=True)
    with pytest.raises(ValueError, match=r"is the result of an operation \(not a leaf\)"):
        make([A * 2], lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        make([{"params": [A.T]}], lr=0.1)
