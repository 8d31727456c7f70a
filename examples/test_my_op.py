"""Testing your gradients, as a pytest file: a new primitive, a wrong derivative caught, a
model checked parameter by parameter, random programs against a reference.

    python -m pytest examples/test_my_op.py          # HYPOTHESIS_PROFILE=thorough: more examples

(README.md, "Testing your gradients", tells the same story.)
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import given

import autonet as an
from autonet.testing import CheckFunctionError, check_function, gradcheck, profiles
from autonet.testing import strategies as ast

# 20 examples per test, the same every run; HYPOTHESIS_PROFILE=thorough for 200 new ones
profiles.load(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


# ---- a new primitive ------------------------------------------------------------------------


class SiLU(an.Function):
    """y = x·σ(x);  dy/dx = σ(x)·(1 + x·(1 - σ(x)))."""

    name = "silu"

    def forward(self, x):
        return x / (1 + np.exp(-x))

    def backward(self, g, y, x):
        s = 1 / (1 + np.exp(-x))
        return (g * s * (1 + x * (1 - s)),)


def silu(x: an.Tensor) -> an.Tensor:
    """x·σ(x), the activation also called swish."""
    return SiLU.apply(x)


def test_silu():
    """Gradients and second derivatives against finite differences, float32 kept, inputs
    left alone, nothing recorded under no_grad, what it saves honest: on every example."""
    check_function(SiLU)


def test_silu_in_a_composite_of_two_inputs_that_broadcast():
    check_function(lambda a, b: silu(a * b) + a, elementwise=True)


# ---- a wrong derivative is caught -----------------------------------------------------------


class WrongSiLU(SiLU):
    """The product rule forgotten: σ(x) alone."""

    def backward(self, g, y, x):
        return (g / (1 + np.exp(-x)),)


def test_a_wrong_derivative_is_caught_with_the_smallest_example():
    with pytest.raises(CheckFunctionError) as failure:
        check_function(WrongSiLU)
    message = str(failure.value)
    assert "input 0 = tensor(1., dtype=float64)" in message  # the example, shrunk
    assert "is 0.7310585786300049 by the engine but 0.92767051" in message  # σ(1) vs σ'·1 + σ


# ---- a model ----------------------------------------------------------------------------------


class SiLULayer(an.nn.Module):
    def __init__(self, function: type[an.Function] = SiLU) -> None:
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function.apply(x)


def test_a_model_parameter_by_parameter():
    an.manual_seed(0)
    model = an.nn.Sequential(an.nn.Linear(3, 8), SiLULayer(), an.nn.Linear(8, 2))
    x = an.randn(16, 3)
    assert gradcheck(model, x, wrt="parameters")
    assert gradcheck(model, x, wrt="parameters", fast_mode=True)


def test_a_wrong_layer_is_named_by_the_parameter_it_spoils():
    an.manual_seed(0)
    broken = an.nn.Sequential(an.nn.Linear(3, 8), SiLULayer(WrongSiLU), an.nn.Linear(8, 2))
    with pytest.raises(AssertionError, match=r"the gradient of 0\.weight\[\d, \d\]"):
        gradcheck(broken, an.randn(16, 3), wrt="parameters", fast_mode=True)


# ---- random programs against a reference ----------------------------------------------------


@given(ast.programs())
def test_random_programs_against_finite_differences(program):
    program.check_against("finite differences")


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
@given(ast.programs())
def test_random_programs_against_pytorch(program):
    program.check_against("torch")
