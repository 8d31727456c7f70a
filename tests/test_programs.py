"""Random programs over op_db: readable, run in autonet, and checked against finite
differences and (when it is installed) PyTorch."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given

import autonet as an
from autonet.testing import strategies as ast
from autonet.testing.op_db import OpInfo, entry, unary_samples
from autonet.testing.programs import Program, ProgramMismatch, Step

HAS_TORCH = importlib.util.find_spec("torch") is not None


@given(ast.programs())
def test_programs_match_finite_differences(program):
    program.check_against("finite differences")


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (it is not a dependency)")
@given(ast.programs())
def test_programs_match_pytorch(program):
    program.check_against("torch")


def example() -> Program:
    a = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    b = np.array([1.0, 2.0, -1.0])
    return Program((a, b), (
        Step(entry("mul"), (0, 1)),
        Step(entry("tanh"), (2,)),
        Step(entry("sum"), (3,), {"axis": 1, "keepdims": False}),
    ))  # fmt: skip


def test_a_program_prints_as_its_steps():
    assert str(example()) == (
        "a = input of shape (2, 3)\n"
        "b = input of shape (3,)\n"
        "t1 = mul(a, b)\n"
        "t2 = tanh(t1)\n"
        "t3 = sum(t2, axis=1, keepdims=False)\n"
        "result: t3"
    )


def test_a_program_runs_in_autonet():
    p = example()
    a, b = p.tensors()
    y = p(a, b)
    np.testing.assert_allclose(y.numpy(), np.tanh(p.inputs[0] * p.inputs[1]).sum(axis=1))
    assert y.grad_fn.name == "sum"
    p.check_against("finite differences")


class WrongTanh(an.Function):
    """tanh with a deliberately wrong derivative: 1 - y instead of 1 - y²."""

    name = "wrong_tanh"
    saves_output = True
    saves_inputs = "nothing"

    def forward(self, x):
        return np.tanh(x)

    def backward(self, g, y, x):
        return (g * (1 - y),)


WRONG = OpInfo("wrong_tanh", WrongTanh.apply, np.tanh, unary_samples(), kind="unary",
               torch=lambda torch, x: torch.tanh(x))  # fmt: skip


def wrong_program() -> Program:
    p = example()
    return Program(p.inputs, (p.steps[0], Step(WRONG, (2,)), p.steps[2]))


def test_a_wrong_gradient_is_caught_by_finite_differences_and_the_program_shown():
    with pytest.raises(
        ProgramMismatch, match=r"(?s)the gradient of input 0 .*t2 = wrong_tanh\(t1\)"
    ):
        wrong_program().check_against("finite differences")


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed (it is not a dependency)")
def test_a_wrong_gradient_is_caught_by_pytorch_naming_the_input():
    with pytest.raises(
        ProgramMismatch, match=r"the gradient with respect to a: autonet and PyTorch"
    ):
        wrong_program().check_against("torch")


def test_a_wrong_value_names_the_step():
    wrong = OpInfo("sin_called_tanh", an.sin, np.tanh, unary_samples(), kind="unary")
    p = example()
    bad = Program(p.inputs, (p.steps[0], Step(wrong, (2,)), p.steps[2]))
    with pytest.raises(
        ProgramMismatch, match=r"step t2 = sin_called_tanh\(t1\): autonet and NumPy"
    ):
        bad.check_against("finite differences")


@given(ast.programs(min_inputs=2, max_inputs=2, min_steps=3, max_steps=3))
def test_programs_respect_their_bounds(program):
    assert len(program.inputs) == 2 and len(program.steps) == 3
    np.broadcast_shapes(*[x.shape for x in program.inputs])
    assert all(1 <= n <= 3 for x in program.inputs for n in x.shape)
