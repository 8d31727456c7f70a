"""an.func: jacobians against finite differences, and the transforms against each other (jvp
against J v, vjp against uᵀJ, forward against reverse mode, the Hessian symmetric and equal
to the Jacobian of the gradient, hvp against H v), on random smooth programs; then how they
compose and what they return."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autonet as an
from autonet.testing import strategies as ast

func = an.func
small_programs = ast.programs(max_inputs=2, max_steps=3, max_side=2)


def numeric_jacobian(f, xs: list[np.ndarray], i: int, eps: float = 1e-6) -> np.ndarray:
    """∂f/∂xᵢ by central differences: shape f's + xᵢ's."""
    x = xs[i]
    y = f(*xs)
    out = np.zeros(y.shape + x.shape)
    for j in np.ndindex(*x.shape):
        plus = [a.copy() for a in xs]
        minus = [a.copy() for a in xs]
        plus[i][j] += eps
        minus[i][j] -= eps
        out[(..., *j)] = (f(*plus) - f(*minus)) / (2 * eps)
    return out


def as_numpy(program):
    return lambda *arrays: program(*[an.tensor(a, dtype=an.float64) for a in arrays]).numpy()


def close(a, b, rtol=1e-6, atol=1e-8):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


@given(small_programs)
def test_jacobian_matches_finite_differences(program):
    xs = program.tensors(requires_grad=False)
    argnums = tuple(range(len(xs)))
    jacobians = func.jacobian(program, tuple(xs), argnums)
    for i, jac in enumerate(jacobians):
        expected = numeric_jacobian(as_numpy(program), list(program.inputs), i)
        close(jac, expected, rtol=1e-4, atol=1e-6)


@given(small_programs)
def test_forward_and_reverse_mode_jacobians_agree(program):
    xs = tuple(program.tensors(requires_grad=False))
    argnums = tuple(range(len(xs)))
    for rev, fwd in zip(func.jacobian(program, xs, argnums),
                        func.jacobian(program, xs, argnums, mode="fwd")):  # fmt: skip
        close(rev, fwd)


@given(small_programs, st.data())
def test_jvp_is_the_jacobian_times_v_and_vjp_is_u_times_the_jacobian(program, data):
    xs = tuple(program.tensors(requires_grad=False))
    vs = tuple(data.draw(ast.tensors(shape=x.shape)) for x in xs)
    y, jv = func.jvp(program, xs, vs)
    jacobians = func.jacobian(program, xs, tuple(range(len(xs))))
    expected = sum(np.tensordot(j.numpy(), v.numpy(), axes=v.ndim) for j, v in zip(jacobians, vs))
    close(jv, expected)
    close(y, program(*xs))
    u = data.draw(ast.tensors(shape=y.shape))
    _, vjp_fn = func.vjp(program, *xs)
    for g, j in zip(vjp_fn(u), jacobians):
        close(g, np.tensordot(u.numpy(), j.numpy(), axes=u.ndim))


@given(small_programs, st.data())
def test_the_hessian_is_symmetric_and_the_jacobian_of_the_gradient(program, data):
    def f(*xs):
        return program(*xs).sum()

    xs = tuple(program.tensors(requires_grad=False))
    n = len(xs)
    argnums = tuple(range(n))
    h = func.hessian(f, xs, argnums)
    jg = func.jacobian(func.grad(f, argnums), xs, argnums, mode="fwd")
    for i in range(n):
        for j in range(n):
            close(h[i][j], jg[i][j])
            hij = h[i][j].numpy().reshape(xs[i].size, xs[j].size)
            hji = h[j][i].numpy().reshape(xs[j].size, xs[i].size)
            close(hij, hji.T)
    vs = tuple(data.draw(ast.tensors(shape=x.shape)) for x in xs)
    value, hv = func.hvp(f, xs, vs)
    close(value, f(*xs))
    for i in range(n):
        expected = sum(
            h[i][j].numpy().reshape(xs[i].shape + (-1,)) @ vs[j].numpy().reshape(-1)
            for j in range(n)
        )
        close(hv[i], expected)


@given(small_programs)
def test_grad_and_value_and_grad_agree_with_the_engine(program):
    def f(*xs):
        return program(*xs).sum()

    xs = program.tensors()
    argnums = tuple(range(len(xs)))
    expected = an.grad(f(*xs), xs, allow_unused=True)
    plain = [x.detach() for x in xs]
    value, grads = func.value_and_grad(f, argnums)(*plain)
    close(value, f(*plain))
    for g, e in zip(grads, expected):
        close(g, np.zeros(g.shape) if e is None else e)
    for g, e in zip(func.grad(f, argnums)(*plain), grads):
        close(g, e)


# ---- composition and results -------------------------------------------------------------


def test_grad_of_grad_is_the_second_derivative():
    x = an.tensor([0.3, -1.2, 2.0], dtype=an.float64)
    d2 = func.grad(lambda t: func.grad(lambda s: (s**3).sum())(t).sum())(x)
    close(d2, 6 * x.numpy())
    third = func.grad(func.grad(func.grad(an.sin)))
    close(third(an.tensor(0.7, dtype=an.float64)), -np.cos(0.7))


def test_results_are_plain_tensors_unless_something_requires_grad():
    x = an.tensor([1.0, 2.0])
    g = func.grad(lambda t: (t**2).sum())(x)
    assert not g.requires_grad and g.grad_fn is None
    y, vjp_fn = func.vjp(an.exp, x)
    assert not y.requires_grad and not vjp_fn(an.ones(2))[0].requires_grad
    assert not func.jacobian(an.exp, x).requires_grad


def test_a_gradient_stays_differentiable_when_its_input_requires_grad():
    """A gradient penalty: d/dx Σ (∂f/∂x)², through func.grad as through an.grad."""
    x = an.tensor([0.5, -1.0], dtype=an.float64, requires_grad=True)

    def f(t):
        return (t.sin() * t).sum()

    penalty = (func.grad(f)(x) ** 2).sum()
    (ours,) = an.grad(penalty, x)
    (g,) = an.grad(f(x), x, create_graph=True)
    (expected,) = an.grad((g**2).sum(), x)
    close(ours, expected)


def test_parameters_used_by_f_get_gradients_through_the_transform():
    an.manual_seed(0)
    layer = an.nn.Linear(3, 1).double()
    x = an.randn(3, dtype=an.float64)
    input_gradient = func.grad(lambda t: layer(t).tanh().sum())(x)
    assert input_gradient.requires_grad  # it depends on the weights
    input_gradient.sum().backward()
    w = layer.weight.detach().numpy()[0]
    s = 1 - np.tanh(w @ x.numpy() + layer.bias.detach().numpy()[0]) ** 2
    assert layer.weight.grad is not None and np.isfinite(layer.weight.grad.numpy()).all()
    close(input_gradient, s * w)


def test_transforms_work_under_no_grad_and_return_plain_tensors():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    with an.no_grad():
        g = func.grad(lambda t: (t**3).sum())(x)
        h = func.hessian(lambda t: (t**3).sum(), x)
    close(g, [3.0, 12.0])
    close(h, np.diag([6.0, 12.0]))
    assert not g.requires_grad and not h.requires_grad


def test_several_outputs_and_arguments_and_aux():
    a, b = an.tensor([1.0, 2.0]), an.tensor(3.0)
    # one block per output, and in it one per argument
    (dab_da, dab_db), (dsum_da, dsum_db) = func.jacobian(
        lambda a, b: (a * b, a.sum()), (a, b), argnums=(0, 1)
    )
    close(dab_da, np.diag([3.0, 3.0]))
    close(dab_db, [1.0, 2.0])
    close(dsum_da, [1.0, 1.0])
    close(dsum_db, 0.0)
    (value, aux), grads = func.value_and_grad(lambda a, b: ((a * b).sum(), a * 2),
                                              argnums=(0, 1), has_aux=True)(a, b)  # fmt: skip
    close(value, 9.0)
    close(aux, [2.0, 4.0])
    close(grads[0], [3.0, 3.0])
    close(grads[1], 3.0)
    _, fn, aux = func.vjp(lambda t: (t * 2, "note"), a, has_aux=True)
    assert aux == "note"
    close(fn(an.ones(2))[0], [2.0, 2.0])


def test_a_function_that_ignores_its_input_has_zero_derivatives():
    x = an.tensor([1.0, 2.0])
    close(func.grad(lambda t: an.tensor(5.0))(x), [0.0, 0.0])
    close(func.jacobian(lambda t: an.ones(3), x), np.zeros((3, 2)))
    close(func.jvp(lambda t: an.ones(3), x, an.ones(2))[1], np.zeros(3))
    close(func.hvp(lambda t: t.sum(), x, an.ones(2))[1], [0.0, 0.0])


def test_errors_say_what_is_wrong():
    with pytest.raises(
        ValueError, match=r"grad: f must return a tensor with one element, got \(2,\)"
    ):
        func.grad(lambda t: t * 2)(an.tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="argument 0 must be floating"):
        func.grad(lambda t: t.sum())(an.tensor([1, 2]))
    with pytest.raises(ValueError, match="mode must be 'rev' or 'fwd'"):
        func.jacobian(an.exp, an.tensor(1.0), mode="forward")


def test_jvp_and_hvp_refuse_a_vector_of_another_shape():
    # (broadcast, a (2, 1) tangent would give a wrong answer instead)
    x, v = an.tensor([1.0, 2.0]), an.tensor([[1.0], [0.0]])
    with pytest.raises(ValueError, match=r"jvp: tangent 0 has shape \(2, 1\), but its argument"):
        an.func.jvp(lambda t: t * 3, (x,), (v,))
    with pytest.raises(ValueError, match=r"hvp: vector 0 has shape \(2, 1\)"):
        an.func.hvp(lambda t: (t**3).sum(), x, v)
    assert an.func.jvp(lambda t: t * 3, (x,), (an.tensor([1.0, 0.0]),))[1].tolist() == [3.0, 0.0]
