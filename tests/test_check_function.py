"""check_function catches each kind of broken primitive, for the smallest example Hypothesis
finds, and says what is wrong, where, and both values; correct functions pass."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import strategies as st

import autonet as an
from autonet.testing import CheckFunctionError, check_function
from autonet.testing import strategies as ast


class Cube(an.Function):
    """y = x³;  dy/dx = 3x²."""

    name = "cube"

    def forward(self, x):
        return x**3

    def backward(self, g, y, x):
        return (g * 3 * x * x,)


class WrongCube(Cube):
    """y = x³ with a deliberately wrong derivative, 2x² instead of 3x²."""

    name = "wrong_cube"

    def backward(self, g, y, x):
        return (g * 2 * x * x,)


class UndeclaredProduct(an.Function):
    """y = a·b, declared as keeping each factor only for the other's gradient, but the
    backward computes both gradients whether they are needed or not, reading b when only b
    requires grad (and b is then not kept)."""

    name = "undeclared_product"
    broadcasts = True
    saves_inputs = "for others"

    def forward(self, a, b):
        return a * b

    def backward(self, g, y, a, b):
        return g * b, g * a  # NOTE: ignores self.needs_input_grad


class ReadsItsOutput(an.Function):
    """y = eˣ whose backward reads y without declaring saves_output."""

    name = "reads_its_output"
    saves_inputs = "nothing"

    def forward(self, x):
        return np.exp(x)

    def backward(self, g, y, x):
        return (g * y,)


class LeaksFloat64(an.Function):
    """y = 2x computed with a float64 array: float32 inputs give float64."""

    name = "leaks_float64"
    saves_inputs = "nothing"

    def forward(self, x):
        return x * np.full(x.shape, 2.0)

    def backward(self, g, y, x):
        return (g * 2,)


class Mutates(an.Function):
    """y = 2x that doubles its input in place."""

    name = "mutates"
    saves_inputs = "nothing"

    def forward(self, x):
        x *= 2
        return x.copy()

    def backward(self, g, y, x):
        return (g * 2,)


class NudgesInput(an.Function):
    """y = x that moves its input in place by less than np.isclose would notice."""

    name = "nudges"
    saves_inputs = "nothing"

    def forward(self, x):
        x += 1e-12 * (1 + np.abs(x))
        return x.copy()

    def backward(self, g, y, x):
        return (g,)


class OpaqueCube(Cube):
    """y = x³ whose derivative is computed outside the graph: right to first order, but the
    backward cannot be differentiated."""

    name = "opaque_cube"

    def backward(self, g, y, x):
        return (g * (3 * np.asarray(x) ** 2),)


def failure(f, *inputs, **options) -> str:
    with pytest.raises(CheckFunctionError) as info:
        check_function(f, *inputs, **options)
    return str(info.value)


def test_a_right_primitive_and_a_composite_pass():
    check_function(Cube, elements=(-3, 3))
    check_function(lambda a, b: (a * b).tanh() + a, elementwise=True)


def test_a_wrong_derivative_is_caught_with_the_shrunk_example_and_both_values():
    message = failure(WrongCube)
    assert message.startswith("check_function(WrongCube): the gradient disagrees")
    assert (
        "the smallest failing example Hypothesis found:\n    input 0 = tensor(1., dtype=float64)"
        in message
    )
    assert "input 0 (shape ()) at index () is 2.0 by the engine but 2.99999" in message


def test_reading_an_input_that_was_not_kept_is_caught():
    message = failure(UndeclaredProduct, elementwise=True)
    assert "backward reads something its declaration does not keep" in message
    assert "saves_inputs = 'for others'" in message
    assert "when only input(s) 1 require grad" in message


def test_reading_the_output_without_saves_output_is_caught():
    message = failure(ReadsItsOutput)
    assert "backward reads something its declaration does not keep" in message
    assert "saves_output = False" in message


def test_a_float64_leak_is_caught():
    message = failure(LeaksFloat64)
    assert "output 0 is float64 for float32 inputs: a float64 leak" in message


def test_changing_an_input_in_place_is_caught():
    message = failure(Mutates)
    assert (
        "the forward pass changed input 0 in place: at index () it was 1.0 and is now 2.0"
        in message
    )


def test_changing_an_input_by_a_hair_is_caught():
    message = failure(NudgesInput)
    assert "the forward pass changed input 0 in place: at index" in message


def test_a_backward_that_does_not_record_fails_second_order_only():
    message = failure(OpaqueCube)
    assert "the second derivative disagrees" in message
    check_function(OpaqueCube, smooth=False)


def test_recording_under_no_grad_is_caught():
    def sneaky(x):
        with an.enable_grad():  # records even when the caller asked for no_grad
            return x * 2

    assert "under no_grad it recorded mul" in failure(sneaky)


def test_inputs_as_strategies_shapes_and_fixed_tensors():
    w = an.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=an.float64)
    check_function(lambda x, w: (x @ w).sin(), (3, 2), w, max_examples=5)
    check_function(
        lambda x: x.logsumexp(axis=-1), ast.tensors(shape=ast.shapes(min_dims=1, min_side=1))
    )
    check_function(an.log, elements=st.floats(0.5, 4))
    check_function(an.relu, elements=ast.away_from_zero(), smooth=False)


def test_a_kink_inside_the_domain_is_reported_as_such():
    message = failure(an.relu, elements=st.sampled_from([-1.0, 0.0, 1.0]))
    assert "the gradient disagrees with finite differences" in message
    assert "input 0 = tensor(0., dtype=float64)" in message


def test_errors_are_assertion_errors_for_pytest():
    assert issubclass(CheckFunctionError, AssertionError)


def test_autonet_imports_without_hypothesis_and_loads_the_toolkit_when_used():
    """Hypothesis is a test extra: autonet, gradcheck and an.func work without it."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'hypothesis':\n"
        "            raise ImportError('no hypothesis here')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import autonet as an\n"
        "x = an.tensor([1.0, 2.0], requires_grad=True)\n"
        "assert an.testing.gradcheck(an.exp, (x,))\n"
        "assert an.func.jacobian(an.exp, x.detach()).shape == (2, 2)\n"
        "try:\n"
        "    an.testing.check_function\n"
        "except ImportError:\n"
        "    print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr
