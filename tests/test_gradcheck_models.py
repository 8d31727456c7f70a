"""gradcheck with respect to a model's parameters (named as in its state_dict, with the
element's index), its fast mode, and what it leaves behind."""

from __future__ import annotations

import time

import numpy as np
import pytest

import autonet as an
from autonet.testing import GradcheckError, gradcheck


class SkewedProduct(an.Function):
    """y = x @ wᵀ whose weight gradient is deliberately doubled at one element (3, 1)."""

    name = "skewed_product"
    saves_inputs = "for others"

    def forward(self, x, w):
        return x @ w.T

    def backward(self, g, y, x, w):
        gw = g.T @ x
        skew = np.ones(w.shape)
        skew[3, 1] = 2.0
        return g @ w, gw * skew


class SkewedLinear(an.nn.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = an.nn.Parameter(an.randn(n_out, n_in) * 0.5)

    def forward(self, x):
        return SkewedProduct.apply(x, self.weight)


class Net(an.nn.Module):
    def __init__(self, last: an.nn.Module) -> None:
        super().__init__()
        self.layers = an.nn.Sequential(an.nn.Linear(3, 5), an.nn.Tanh(), last)

    def forward(self, x):
        return self.layers(x)


def test_a_right_model_passes_element_by_element_and_in_fast_mode():
    model = Net(an.nn.Linear(5, 4))
    x = an.randn(6, 3)
    assert gradcheck(model, (x,), wrt="parameters")
    assert gradcheck(model, (x,), wrt="parameters", fast_mode=True)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_the_failing_parameter_and_element_are_named(fast_mode):
    model = Net(SkewedLinear(5, 4))
    with pytest.raises(GradcheckError, match=r"the gradient of layers\.2\.weight\[3, 1\] is .* by "
                       r"the engine but .* by finite differences"):  # fmt: skip
        gradcheck(model, (an.randn(6, 3),), wrt="parameters", fast_mode=fast_mode)


def test_parameters_come_back_as_they_were_even_after_a_failure():
    model = Net(SkewedLinear(5, 4))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    with pytest.raises(GradcheckError):
        gradcheck(model, (an.randn(6, 3),), wrt="parameters")
    for k, v in model.state_dict().items():
        assert v.dtype == np.float32 and np.array_equal(v.numpy(), before[k]), k
        assert v.grad is None, k


def test_dropout_draws_the_same_mask_in_every_evaluation_and_the_generator_is_left_alone():
    model = an.nn.Sequential(an.nn.Linear(4, 8), an.nn.Dropout(0.5), an.nn.Linear(8, 2))
    model.train()
    x = an.randn(5, 4)
    state = an.default_generator().bit_generator.state
    assert gradcheck(model, (x,), wrt="parameters")
    assert an.default_generator().bit_generator.state == state


def test_fast_mode_checks_thousands_of_parameters_quickly():
    model = an.nn.Sequential(an.nn.Linear(64, 128), an.nn.Tanh(), an.nn.Linear(128, 32))
    assert sum(p.size for p in model.parameters()) > 10_000
    start = time.perf_counter()
    assert gradcheck(model, (an.randn(8, 64),), wrt="parameters", fast_mode=True)
    assert time.perf_counter() - start < 2.0


class WrongAt01(an.Function):
    """y = Σ w with the gradient of w[0, 1] given as 0."""

    name = "wrong_at_0_1"
    saves_inputs = "shape"

    def forward(self, w):
        return w.sum()

    def backward(self, g, y, w):
        mask = np.ones(w.shape)
        mask[0, 1] = 0
        return (g * mask,)


def test_named_tensors_and_inputs_together():
    w = an.tensor([[0.5, -1.0], [2.0, 0.3]], requires_grad=True)
    x = an.tensor([1.0, -0.5], requires_grad=True)
    assert gradcheck(lambda x: (w @ x).tanh(), (x,), wrt={"w": w})
    assert gradcheck(lambda x: (w @ x).sin(), (x,), wrt="all")
    with pytest.raises(
        GradcheckError, match=r"the gradient of w\[0, 1\] is 0.0 by the engine"
    ) as e:
        gradcheck(lambda x: WrongAt01.apply(w) + x.sum(), (x,), wrt={"w": w})
    # the two values are fields of the error too, for code that acts on them
    assert e.value.engine == 0.0 and e.value.numeric == pytest.approx(1.0)


def test_a_nan_gradient_is_a_failure_even_beside_a_right_one():
    class HalfNaN(an.Function):
        name = "half_nan"
        broadcasts = True
        saves_inputs = "nothing"

        def forward(self, a, b):
            return a + b

        def backward(self, g, y, a, b):
            return g, g * np.nan

    a, b = an.tensor([1.0, 2.0], requires_grad=True), an.tensor([3.0, 4.0], requires_grad=True)
    with pytest.raises(GradcheckError, match=r"input 1 .* is nan by the engine") as e:
        gradcheck(HalfNaN.apply, (a, b))
    assert np.isnan(e.value.engine) and repr(e.value.numeric) in str(e.value)
