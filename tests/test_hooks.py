"""Hooks, with PyTorch's semantics: tensor hooks (``Tensor.register_hook``, ``retain_grad``),
hooks on graph nodes (``grad_fn.register_prehook`` / ``register_hook``), module hooks (forward,
forward-pre, full backward, full backward-pre, and the global ones) and their handles.

Every expected gradient is worked out by hand (the chain rule written with NumPy)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autonet as an
from autonet.testing import strategies as ast


def leaf(values) -> an.Tensor:
    """A float64 leaf that requires grad."""
    return an.tensor(values, dtype=an.float64, requires_grad=True)


def const(values) -> an.Tensor:
    """A float64 tensor that does not require grad."""
    return an.tensor(values, dtype=an.float64)


def weighted_sum(y: an.Tensor, w: np.ndarray) -> an.Tensor:
    """sum(y * w): a loss whose gradient with respect to ``y`` is ``w``."""
    return (y * const(w)).sum()


# ---- Tensor.register_hook: leaves ------------------------------------------------------------


def test_leaf_hook_return_value_is_what_is_added_to_grad():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 10)
    (x * x).sum().backward()  # d/dx sum(x²) = 2x
    np.testing.assert_allclose(x.grad, [20.0, 40.0])


def test_leaf_hook_returning_none_leaves_the_gradient_unchanged():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: None)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_leaf_hook_receives_a_tensor_that_does_not_require_grad_in_a_plain_backward():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(seen.append)
    (x * 3).sum().backward()
    assert len(seen) == 1
    assert isinstance(seen[0], an.Tensor)
    assert not seen[0].requires_grad
    np.testing.assert_allclose(seen[0], [3.0, 3.0])


def test_leaf_hook_is_called_once_with_the_summed_gradient_of_all_uses():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    (x * x + x * 3 + x.exp()).sum().backward()  # 2x + 3 + eˣ
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 2 * np.array([1.0, 2.0]) + 3 + np.exp([1.0, 2.0]))


def test_leaf_hook_does_not_change_the_gradient_already_accumulated():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()  # .grad = 3 before the hook exists
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()  # the hook scales only this pass's gradient: 3 + 30
    np.testing.assert_allclose(x.grad, [33.0, 33.0])


def test_leaf_that_is_the_output_of_backward_runs_its_hook():
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: g * 5)
    x.backward(const([1.0, -1.0]))
    np.testing.assert_allclose(x.grad, [5.0, -5.0])


def test_hook_on_a_parameter_used_by_two_module_calls_runs_once():
    layer = an.nn.Linear(2, 2, bias=False, dtype=an.float64)
    W = layer.weight.numpy().copy()
    calls = []
    layer.weight.register_hook(lambda g: calls.append(g.numpy().copy()))
    x = np.array([[1.0, -2.0]])
    layer(layer(const(x))).sum().backward()
    # y = (x Wᵀ) Wᵀ; with u = x Wᵀ and g = 1: dW = gᵀ u + (g W)ᵀ x
    u = x @ W.T
    g = np.ones((1, 2))
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], g.T @ u + (g @ W).T @ x)


# ---- Tensor.register_hook: intermediate tensors ------------------------------------------------


def test_intermediate_hook_replacement_flows_on_to_the_inputs():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.register_hook(lambda g: g * 100)
    h.sum().backward()
    np.testing.assert_allclose(x.grad, [300.0, 300.0])


def test_intermediate_hook_receives_the_gradient_with_respect_to_that_tensor():
    x = leaf([1.0, 2.0])
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h * h).sum().backward()  # d/dh sum(h²) = 2h
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [6.0, 12.0])


def test_intermediate_hook_with_several_uses_is_called_once_with_their_sum():
    x = leaf([1.0, 2.0])
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h * h + 2 * h.exp() + h).sum().backward()  # 2h + 2eʰ + 1
    hv = np.array([3.0, 6.0])
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], 2 * hv + 2 * np.exp(hv) + 1)


def test_intermediate_hook_with_several_uses_scales_the_whole_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.register_hook(lambda g: g * 0.5)
    (h * h + h).sum().backward()  # dL/dx = 3 · 0.5 · (2h + 1)
    np.testing.assert_allclose(x.grad, 1.5 * (2 * np.array([3.0, 6.0]) + 1))


def test_hook_on_the_tensor_backward_starts_from_sees_the_seed_gradient():
    x = leaf([1.0, 2.0])
    y = x * 2
    seen = []
    y.register_hook(lambda g: (seen.append(g.numpy().copy()), g * 5)[1])
    y.backward(const([1.0, 3.0]))
    np.testing.assert_allclose(seen[0], [1.0, 3.0])
    np.testing.assert_allclose(x.grad, [10.0, 30.0])


def test_intermediate_hook_runs_on_every_backward_through_a_retained_graph():
    x = leaf(2.0)
    h = x * 3
    calls = []
    h.register_hook(lambda g: calls.append(g.item()))
    loss = h * h
    loss.backward(retain_graph=True)
    loss.backward()
    assert calls == [12.0, 12.0]
    assert x.grad.item() == 72.0  # 2 · (3 · 2h)


@given(
    data=st.data(),
    shape=ast.shapes(max_dims=2, max_side=3),
    scale=st.floats(-3, 3, allow_nan=False),
)
def test_scaling_hook_on_an_intermediate_scales_every_upstream_gradient(data, shape, scale):
    a = data.draw(ast.tensors(shape=shape, requires_grad=True))
    b = data.draw(ast.tensors(shape=shape, requires_grad=True))
    an_, bn = a.numpy(), b.numpy()
    h = a * b
    h.register_hook(lambda g: g * scale)
    (h.tanh()).sum().backward()
    dh = scale * (1 - np.tanh(an_ * bn) ** 2)
    np.testing.assert_allclose(a.grad, dh * bn, atol=1e-12)
    np.testing.assert_allclose(b.grad, dh * an_, atol=1e-12)


# ---- several hooks, removal ---------------------------------------------------------------


@pytest.mark.parametrize("where", ["leaf", "intermediate"])
def test_hooks_run_in_registration_order_each_seeing_the_previous_replacement(where):
    x = leaf(1.0)
    t = x if where == "leaf" else x * 1
    seen = []

    def hook(name, factor):
        def fn(g):
            seen.append((name, g.item()))
            return g * factor

        return fn

    t.register_hook(hook("first", 2))
    t.register_hook(hook("second", 3))
    t.register_hook(hook("third", 5))
    (t * 7).backward()
    assert seen == [("first", 7.0), ("second", 14.0), ("third", 42.0)]
    assert x.grad.item() == 210.0


@pytest.mark.parametrize("where", ["leaf", "intermediate"])
def test_a_removed_hook_no_longer_runs(where):
    x = leaf(1.0)
    t = x if where == "leaf" else x * 1
    calls = []
    handle = t.register_hook(lambda g: (calls.append(1), g * 10)[1])
    handle.remove()
    (t * 2).backward()
    assert calls == []
    assert x.grad.item() == 2.0


def test_removing_one_hook_keeps_the_others():
    x = leaf(1.0)
    x.register_hook(lambda g: g * 2)
    x.register_hook(lambda g: g * 3).remove()
    x.register_hook(lambda g: g * 5)
    (x * 1).backward()
    assert x.grad.item() == 10.0


def test_a_handle_used_as_a_context_manager_removes_the_hook_at_the_end():
    x = leaf(1.0)
    with x.register_hook(lambda g: g * 10):
        (x * 2).backward()
    assert x.grad.item() == 20.0
    (x * 2).backward()
    assert x.grad.item() == 22.0


# ---- hooks under an.grad and create_graph --------------------------------------------------


def test_leaf_hook_runs_under_an_grad_and_replaces_the_returned_gradient():
    x = leaf([1.0, 2.0])
    calls = []
    x.register_hook(lambda g: (calls.append(1), g * 10)[1])
    (gx,) = an.grad((x * x).sum(), x)
    assert calls == [1]
    np.testing.assert_allclose(gx, [20.0, 40.0])
    assert x.grad is None


def test_intermediate_hook_runs_under_an_grad():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.register_hook(lambda g: g * 10)
    (gx,) = an.grad((h * h).sum(), x)  # 3 · 10 · 2h
    np.testing.assert_allclose(gx, [180.0, 360.0])


def test_an_grad_with_respect_to_a_hooked_intermediate_returns_the_hooked_gradient():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.register_hook(lambda g: g * 10)
    (gh,) = an.grad((h * h).sum(), h)  # 10 · 2h
    np.testing.assert_allclose(gh, [60.0, 120.0])


def test_under_create_graph_an_intermediate_hook_gets_a_tensor_and_its_replacement_is_recorded():
    x = leaf(2.0)
    h = x * x
    seen = []
    h.register_hook(lambda g: (seen.append(g), g * x)[1])  # the replacement depends on x
    (gx,) = an.grad(3 * h, x, create_graph=True)  # dL/dh = 3, replaced by 3x; · dh/dx = 2x
    assert isinstance(seen[0], an.Tensor)
    assert gx.requires_grad
    assert gx.item() == 24.0  # 6x² at x = 2
    (ggx,) = an.grad(gx, x)
    assert ggx.item() == 24.0  # 12x


def test_under_create_graph_a_leaf_hook_replacement_is_recorded_in_grad():
    x = leaf(2.0)
    handle = x.register_hook(lambda g: g * x)
    (x**3).backward(create_graph=True)  # 3x² · x = 3x³
    handle.remove()
    g = x.grad
    assert g.requires_grad
    assert g.item() == 24.0
    x.grad = None
    g.backward()  # d/dx 3x³ = 9x²
    assert x.grad.item() == 36.0


# ---- retain_grad ---------------------------------------------------------------------------


@pytest.mark.parametrize("retain_first", [True, False])
def test_retain_grad_keeps_the_gradient_as_changed_by_the_tensor_hooks(retain_first):
    x = leaf(2.0)
    h = x * 3
    if retain_first:
        h.retain_grad()
    h.register_hook(lambda g: g * 10)
    if not retain_first:
        h.retain_grad()
    (h * h).backward()  # 2h = 12, times 10
    assert h.grad.item() == 120.0
    assert x.grad.item() == 360.0


def test_retain_grad_keeps_the_gradient_before_the_node_prehooks():
    x = leaf(2.0)
    h = x * 3
    h.retain_grad()
    h.grad_fn.register_prehook(lambda gs: (gs[0] * 100,))
    (h * h).backward()
    assert h.grad.item() == 12.0
    assert x.grad.item() == 3600.0


def test_retains_grad_is_true_only_for_a_non_leaf_after_retain_grad():
    x = leaf(2.0)
    h = x * 3
    assert not h.retains_grad
    h.retain_grad()
    assert h.retains_grad
    x.retain_grad()  # a leaf keeps its gradient anyway
    assert not x.retains_grad


def test_register_hook_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        const([1.0, 2.0]).register_hook(lambda g: g)


@pytest.mark.parametrize("where", ["leaf", "intermediate"])
def test_a_hook_returning_a_gradient_of_another_shape_raises(where):
    x = leaf([1.0, 2.0])
    t = x if where == "leaf" else x * 2
    t.register_hook(lambda g: an.ones(3, dtype=an.float64))
    with pytest.raises(RuntimeError):
        (t * 1).sum().backward()


# ---- hooks on nodes (grad_fn) ----------------------------------------------------------------


def test_node_prehook_receives_the_gradient_with_respect_to_the_output():
    a, b = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    y = a * b
    w = np.array([0.5, 4.0])
    seen = []
    y.grad_fn.register_prehook(seen.append)
    weighted_sum(y, w).backward()
    assert len(seen) == 1
    assert len(seen[0]) == 1
    np.testing.assert_allclose(seen[0][0], w)


def test_node_hook_receives_grad_inputs_and_grad_outputs_by_the_chain_rule():
    an_, bn = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    a, b = leaf(an_), leaf(bn)
    y = a * b
    w = np.array([0.5, 4.0])
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append((gi, go)))
    weighted_sum(y, w).backward()
    (grad_inputs, grad_outputs) = seen[0]
    assert len(grad_inputs) == 2 and len(grad_outputs) == 1
    np.testing.assert_allclose(grad_inputs[0], w * bn)
    np.testing.assert_allclose(grad_inputs[1], w * an_)
    np.testing.assert_allclose(grad_outputs[0], w)


def test_node_hook_gets_none_for_an_input_that_does_not_require_grad():
    a = leaf([1.0, 2.0])
    y = a * const([3.0, 5.0])
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append(gi))
    y.sum().backward()
    np.testing.assert_allclose(seen[0][0], [3.0, 5.0])
    assert seen[0][1] is None


@given(shapes=ast.broadcastable_shapes(2, max_dims=3, max_side=3), op=st.sampled_from(["+", "*"]))
def test_node_hook_grad_inputs_have_their_inputs_shapes_under_broadcasting(shapes, op):
    a = leaf(np.full(shapes[0], 2.0))
    b = leaf(np.full(shapes[1], 3.0))
    y = a + b if op == "+" else a * b
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append([g.shape for g in gi]))
    y.sum().backward()
    assert seen == [[a.shape, b.shape]]


def test_node_prehook_replacement_is_what_the_node_differentiates():
    x = leaf([1.0, 2.0])
    y = x * x
    y.grad_fn.register_prehook(lambda gs: (gs[0] * 0.5,))
    y.sum().backward()  # 0.5 · 2x
    np.testing.assert_allclose(x.grad, [1.0, 2.0])


def test_node_hook_replacement_is_what_reaches_the_inputs():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = a * b
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10, None))
    y.sum().backward()
    np.testing.assert_allclose(a.grad, [30.0, 40.0])
    assert b.grad is None


def test_node_hook_returning_none_keeps_the_gradients():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = a * b
    y.grad_fn.register_hook(lambda gi, go: None)
    y.grad_fn.register_prehook(lambda go: None)
    y.sum().backward()
    np.testing.assert_allclose(a.grad, [3.0, 4.0])
    np.testing.assert_allclose(b.grad, [1.0, 2.0])


@pytest.mark.parametrize("kind", ["prehook", "hook"])
def test_a_removed_node_hook_no_longer_runs(kind):
    x = leaf([1.0, 2.0])
    y = x * x
    calls = []
    if kind == "prehook":
        handle = y.grad_fn.register_prehook(lambda go: (calls.append(1), (go[0] * 0,))[1])
    else:
        handle = y.grad_fn.register_hook(lambda gi, go: (calls.append(1), (gi[0] * 0, None))[1])
    handle.remove()
    y.sum().backward()
    assert calls == []
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_node_prehook_returning_the_wrong_number_of_gradients_raises():
    x = leaf([1.0, 2.0])
    y = x * x
    y.grad_fn.register_prehook(lambda go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients, expected 1"):
        y.sum().backward()


def test_node_hook_returning_the_wrong_number_of_gradients_raises():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = a * b
    y.grad_fn.register_hook(lambda gi, go: (gi[0],))
    with pytest.raises(RuntimeError, match="returned 1 gradients, expected 2"):
        y.sum().backward()


def test_grad_inputs_seen_by_a_node_hook_are_not_changed_by_later_accumulation():
    x = leaf([1.0, 2.0])
    a = x * x  # recorded first, so differentiated after y: its gradient is added later
    y = x * 3
    seen = []
    y.grad_fn.register_hook(lambda gi, go: seen.append(gi[0]))
    (a + y).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(x.grad, [5.0, 7.0])


def test_a_tensor_returned_by_a_node_hook_is_not_modified():
    x = leaf([1.0, 2.0])
    replacement = const([10.0, 10.0])
    a = x * x
    y = x * 3
    y.grad_fn.register_hook(lambda gi, go: (replacement, None))
    (a + y).sum().backward()
    np.testing.assert_allclose(replacement, [10.0, 10.0])
    np.testing.assert_allclose(x.grad, [12.0, 14.0])


def test_an_grad_with_respect_to_an_intermediate_is_taken_before_its_node_prehooks():
    # the gradient with respect to h is what its tensor hooks leave (what retain_grad keeps);
    # a pre-hook of h's node changes only what that node differentiates
    x = leaf([1.0, 2.0])
    h = x * 3
    h.grad_fn.register_prehook(lambda gs: (gs[0] * 10,))
    (gh,) = an.grad((h * h).sum(), h)
    np.testing.assert_allclose(gh, [6.0, 12.0])


# ---- module forward hooks ------------------------------------------------------------------


class Mul(an.nn.Module):
    """y = a · b: a module with two tensor inputs."""

    def forward(self, a, b):
        return a * b


class ProductAndSum(an.nn.Module):
    """(a · b, a + b): a module returning a tuple of tensors."""

    def forward(self, a, b):
        return a * b, a + b


class Scale(an.nn.Module):
    """y = x · k with k a Python number."""

    def forward(self, x, k):
        return x * k


def test_forward_pre_hook_tuple_replaces_the_arguments():
    m = Mul()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append(args) or (args[0], const(10.0)))
    out = m(const(2.0), const(3.0))
    assert out.item() == 20.0
    assert seen[0][0].item() == 2.0 and seen[0][1].item() == 3.0


def test_forward_pre_hook_non_tuple_return_is_the_single_argument():
    ident = an.nn.Identity()
    ident.register_forward_pre_hook(lambda mod, args: args[0] * 2)
    np.testing.assert_allclose(ident(const([1.0, 2.0])), [2.0, 4.0])


def test_forward_pre_hook_returning_none_keeps_the_arguments_and_gets_the_module():
    m = Mul()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: seen.append(mod))
    assert m(const(2.0), const(3.0)).item() == 6.0
    assert seen == [m]


def test_forward_hook_gets_the_arguments_after_the_pre_hooks_and_the_output():
    m = Mul()
    seen = []
    m.register_forward_pre_hook(lambda mod, args: (args[0], const(10.0)))
    m.register_forward_hook(lambda mod, args, out: seen.append((mod, args, out)))
    out = m(const(2.0), const(3.0))
    mod, args, seen_out = seen[0]
    assert mod is m
    assert [a.item() for a in args] == [2.0, 10.0]
    assert seen_out is out


def test_forward_hook_return_value_replaces_the_output():
    layer = an.nn.Identity()
    layer.register_forward_hook(lambda mod, args, out: out + 1)
    np.testing.assert_allclose(layer(const([1.0, 2.0])), [2.0, 3.0])


def test_forward_hooks_run_in_registration_order_each_seeing_the_previous_output():
    layer = an.nn.Identity()
    seen = []
    layer.register_forward_hook(lambda mod, args, out: (seen.append(out.item()), out * 2)[1])
    layer.register_forward_hook(lambda mod, args, out: (seen.append(out.item()), out + 1)[1])
    assert layer(const(3.0)).item() == 7.0
    assert seen == [3.0, 6.0]


def test_removed_forward_hooks_no_longer_run():
    layer = an.nn.Identity()
    calls = []
    pre = layer.register_forward_pre_hook(lambda mod, args: calls.append("pre"))
    post = layer.register_forward_hook(lambda mod, args, out: calls.append("post"))
    layer(const(1.0))
    pre.remove()
    post.remove()
    layer(const(1.0))
    assert calls == ["pre", "post"]


def test_global_forward_hooks_see_every_module_call_in_order():
    model = an.nn.Sequential(an.nn.Linear(2, 3), an.nn.Tanh(), an.nn.Linear(3, 1))
    calls = []
    pre = an.nn.register_module_forward_pre_hook(
        lambda mod, args: calls.append(("pre", type(mod).__name__))
    )
    post = an.nn.register_module_forward_hook(
        lambda mod, args, out: calls.append(("post", type(mod).__name__))
    )
    try:
        model(an.ones(4, 2))
    finally:
        pre.remove()
        post.remove()
    assert calls == [
        ("pre", "Sequential"),
        ("pre", "Linear"), ("post", "Linear"),
        ("pre", "Tanh"), ("post", "Tanh"),
        ("pre", "Linear"), ("post", "Linear"),
        ("post", "Sequential"),
    ]  # fmt: skip


def test_removed_global_forward_hooks_no_longer_run():
    calls = []
    pre = an.nn.register_module_forward_pre_hook(lambda mod, args: calls.append("pre"))
    post = an.nn.register_module_forward_hook(lambda mod, args, out: calls.append("post"))
    pre.remove()
    post.remove()
    an.nn.Identity()(const(1.0))
    assert calls == []


def test_global_forward_hooks_run_before_the_modules_own():
    layer = an.nn.Identity()
    calls = []
    layer.register_forward_pre_hook(lambda mod, args: calls.append("own pre"))
    layer.register_forward_hook(lambda mod, args, out: calls.append("own"))
    with (
        an.nn.register_module_forward_pre_hook(lambda mod, args: calls.append("global pre")),
        an.nn.register_module_forward_hook(lambda mod, args, out: calls.append("global")),
    ):
        layer(const(1.0))
    assert calls == ["global pre", "own pre", "global", "own"]


# ---- module backward hooks -----------------------------------------------------------------


def record_backward_hooks(module: an.nn.Module) -> list:
    """Register both full backward hooks on ``module``; returns the list they append to:
    ("pre", grad_output) and ("hook", grad_input, grad_output)."""
    calls: list = []
    module.register_full_backward_pre_hook(lambda mod, go: calls.append(("pre", go)))
    module.register_full_backward_hook(lambda mod, gi, go: calls.append(("hook", gi, go)))
    return calls


@given(
    batch=st.integers(1, 4),
    n_in=st.integers(1, 4),
    n_out=st.integers(1, 3),
    data=st.data(),
)
def test_linear_backward_hooks_see_the_chain_rule_gradients(batch, n_in, n_out, data):
    layer = an.nn.Linear(n_in, n_out, dtype=an.float64)
    W = layer.weight.numpy().copy()  # (n_out, n_in)
    x = data.draw(ast.tensors(shape=(batch, n_in), requires_grad=True))
    w = data.draw(ast.tensors(shape=(batch, n_out))).numpy()
    calls = record_backward_hooks(layer)
    weighted_sum(layer(x), w).backward()
    assert [c[0] for c in calls] == ["pre", "hook"]
    (_, pre_go), (_, gi, go) = calls
    assert len(pre_go) == 1 and len(gi) == 1 and len(go) == 1
    np.testing.assert_allclose(pre_go[0], w)  # dL/dy
    np.testing.assert_allclose(go[0], w)
    np.testing.assert_allclose(gi[0], w @ W, atol=1e-12)  # dL/dx = dL/dy · W
    np.testing.assert_allclose(x.grad, w @ W, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, w.T @ x.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, w.sum(0), atol=1e-12)


@pytest.mark.parametrize("inner", [0, 1, 2])
def test_backward_hooks_on_a_layer_inside_sequential(inner):
    model = an.nn.Sequential(
        an.nn.Linear(3, 4, dtype=an.float64), an.nn.Tanh(), an.nn.Linear(4, 2, dtype=an.float64)
    )
    W1, b1 = model[0].weight.numpy().copy(), model[0].bias.numpy().copy()
    W2 = model[2].weight.numpy().copy()
    xn = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    calls = record_backward_hooks(model[inner])
    weighted_sum(model(leaf(xn)), w).backward()
    # forward: z = x W1ᵀ + b1, t = tanh z, y = t W2ᵀ + b2; backward from dL/dy = w
    z = xn @ W1.T + b1
    dt = w @ W2
    dz = dt * (1 - np.tanh(z) ** 2)
    dx = dz @ W1
    grad_output, grad_input = {0: (dz, dx), 1: (dt, dz), 2: (w, dt)}[inner]
    (_, gi, go) = calls[1]
    np.testing.assert_allclose(go[0], grad_output, atol=1e-12)
    np.testing.assert_allclose(gi[0], grad_input, atol=1e-12)


def test_backward_hook_gets_none_for_an_input_that_does_not_require_grad():
    layer = an.nn.Linear(3, 2, dtype=an.float64)
    calls = record_backward_hooks(layer)
    w = np.array([[1.0, 2.0]])
    weighted_sum(layer(const([[1.0, 2.0, 3.0]])), w).backward()
    hook_calls = [c for c in calls if c[0] == "hook"]
    assert len(hook_calls) == 1
    (_, gi, go) = hook_calls[0]
    assert gi == (None,)
    np.testing.assert_allclose(go[0], w)
    np.testing.assert_allclose(layer.weight.grad, w.T @ np.array([[1.0, 2.0, 3.0]]))


def test_backward_hooks_of_a_module_with_two_tensor_inputs():
    an_, bn = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    a, b = leaf(an_), leaf(bn)
    m = Mul()
    calls = record_backward_hooks(m)
    w = np.array([2.0, -1.0])
    weighted_sum(m(a, b), w).backward()
    (_, gi, go) = calls[1]
    assert len(gi) == 2
    np.testing.assert_allclose(gi[0], w * bn)
    np.testing.assert_allclose(gi[1], w * an_)
    np.testing.assert_allclose(go[0], w)


def test_backward_hook_gets_none_for_the_one_input_that_does_not_require_grad():
    a = leaf([1.0, 2.0])
    m = Mul()
    calls = record_backward_hooks(m)
    m(a, const([3.0, 5.0])).sum().backward()
    (_, gi, _) = calls[1]
    np.testing.assert_allclose(gi[0], [3.0, 5.0])
    assert gi[1] is None


def test_backward_hook_gets_none_for_an_argument_that_is_not_a_tensor():
    x = leaf([1.0, 2.0])
    m = Scale()
    calls = record_backward_hooks(m)
    m(x, 3.0).sum().backward()
    (_, gi, _) = calls[1]
    np.testing.assert_allclose(gi[0], [3.0, 3.0])
    assert gi[1] is None


def test_backward_hooks_of_a_module_returning_a_tuple_of_tensors():
    an_, bn = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    a, b = leaf(an_), leaf(bn)
    m = ProductAndSum()
    calls = record_backward_hooks(m)
    p, s = m(a, b)
    wp, ws = np.array([2.0, -1.0]), np.array([0.5, 4.0])
    (weighted_sum(p, wp) + weighted_sum(s, ws)).backward()
    (_, pre_go), (_, gi, go) = calls
    for grads in (pre_go, go):
        assert len(grads) == 2
        np.testing.assert_allclose(grads[0], wp)
        np.testing.assert_allclose(grads[1], ws)
    np.testing.assert_allclose(gi[0], wp * bn + ws)
    np.testing.assert_allclose(gi[1], wp * an_ + ws)


def test_grad_output_has_none_for_an_output_that_does_not_require_grad():
    class ConstantAndDouble(an.nn.Module):
        def forward(self, x):
            return const([1.0]), x * 2

    m = ConstantAndDouble()
    calls = record_backward_hooks(m)
    _, y = m(leaf([1.0, 2.0]))
    weighted_sum(y, np.array([3.0, 4.0])).backward()
    (_, gi, go) = calls[1]
    assert len(go) == 2
    assert go[0] is None
    np.testing.assert_allclose(go[1], [3.0, 4.0])
    np.testing.assert_allclose(gi[0], [6.0, 8.0])


def test_backward_pre_hook_on_an_output_used_twice_runs_once_with_the_sum():
    m = Scale()
    calls = record_backward_hooks(m)
    y = m(leaf([1.0, 2.0]), 3.0)  # y = 3x = [3, 6]
    (y * y + y).sum().backward()  # dL/dy = 2y + 1
    pre_calls = [c for c in calls if c[0] == "pre"]
    assert len(pre_calls) == 1
    np.testing.assert_allclose(pre_calls[0][1][0], [7.0, 13.0])


def test_backward_hooks_run_once_per_module_call():
    layer = an.nn.Linear(2, 2, dtype=an.float64)
    calls = record_backward_hooks(layer)
    layer(layer(leaf([[1.0, 2.0]]))).sum().backward()
    assert [c[0] for c in calls] == ["pre", "hook", "pre", "hook"]


def test_replacing_grad_input_changes_the_leafs_grad():
    layer = an.nn.Linear(3, 2, dtype=an.float64)
    xn = np.array([[1.0, 2.0, 3.0]])
    x = leaf(xn)
    layer.register_full_backward_hook(lambda mod, gi, go: (an.full((1, 3), 7.0, dtype=an.float64),))
    (layer(x).sum() + (x * x).sum()).backward()  # the replaced 7 plus 2x from the other use
    np.testing.assert_allclose(x.grad, 7.0 + 2 * xn)
    np.testing.assert_allclose(layer.weight.grad, np.ones((2, 1)) @ xn)  # parameters unchanged


def test_replacing_grad_output_changes_every_gradient_below_the_module():
    layer = an.nn.Linear(3, 2, dtype=an.float64)
    W = layer.weight.numpy().copy()
    xn = np.array([[1.0, 2.0, 3.0]])
    x = leaf(xn)
    layer.register_full_backward_pre_hook(lambda mod, go: (go[0] * 2,))
    seen = []
    layer.register_full_backward_hook(lambda mod, gi, go: seen.append(go))
    layer(x).sum().backward()
    g = 2 * np.ones((1, 2))
    np.testing.assert_allclose(seen[0][0], g)  # the backward hook sees the replacement
    np.testing.assert_allclose(x.grad, g @ W)
    np.testing.assert_allclose(layer.weight.grad, g.T @ xn)
    np.testing.assert_allclose(layer.bias.grad, g.sum(0))


def test_removed_backward_hooks_no_longer_run():
    layer = an.nn.Linear(2, 2, dtype=an.float64)
    calls = []
    pre = layer.register_full_backward_pre_hook(lambda mod, go: calls.append("pre"))
    hook = layer.register_full_backward_hook(lambda mod, gi, go: calls.append("hook"))
    x = leaf([[1.0, 2.0]])
    layer(x).sum().backward()
    pre.remove()
    hook.remove()
    layer(x).sum().backward()
    assert calls == ["pre", "hook"]


def test_observing_backward_hooks_leave_every_gradient_unchanged():
    def make():
        return an.nn.Sequential(
            an.nn.Linear(3, 4, dtype=an.float64), an.nn.Tanh(), an.nn.Linear(4, 2, dtype=an.float64)
        )

    plain, hooked = make(), make()
    hooked.load_state_dict(plain.state_dict())
    for m in [hooked, *hooked]:
        record_backward_hooks(m)
    xn = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    w = np.array([[1.0, -2.0], [0.5, 3.0]])
    x_plain, x_hooked = leaf(xn), leaf(xn)
    weighted_sum(plain(x_plain), w).backward()
    weighted_sum(hooked(x_hooked), w).backward()
    np.testing.assert_allclose(x_hooked.grad, x_plain.grad, rtol=1e-15)
    for (name, p), (_, q) in zip(plain.named_parameters(), hooked.named_parameters()):
        np.testing.assert_allclose(q.grad, p.grad, rtol=1e-15, err_msg=name)


def test_backward_hook_returning_the_wrong_number_of_gradients_raises():
    layer = an.nn.Linear(2, 2, dtype=an.float64)
    layer.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 gradients, expected 1"):
        layer(leaf([[1.0, 2.0]])).sum().backward()


def test_backward_hooks_under_create_graph_give_a_differentiable_gradient():
    layer = an.nn.Linear(2, 1, bias=False, dtype=an.float64)
    W = layer.weight.numpy().copy()  # (1, 2)
    record_backward_hooks(layer)
    xn = np.array([[1.0, -2.0]])
    x = leaf(xn)
    (gx,) = an.grad((layer(x) ** 2).sum(), x, create_graph=True)  # 2 (x Wᵀ) W
    np.testing.assert_allclose(gx, 2 * (xn @ W.T) @ W)
    (ggx,) = an.grad(gx.sum(), x)  # d/dx sum(2 (x Wᵀ) W) = 2 (sum W) W
    np.testing.assert_allclose(ggx, 2 * W.sum() * W)


def test_a_module_with_backward_hooks_runs_under_no_grad():
    layer = an.nn.Linear(2, 2, dtype=an.float64)
    calls = record_backward_hooks(layer)
    with an.no_grad():
        out = layer(leaf([[1.0, 2.0]]))
    assert not out.requires_grad
    assert calls == []


# ---- handles -------------------------------------------------------------------------------


def test_handle_ids_are_distinct_across_every_kind_of_registration():
    x = leaf([1.0, 2.0])
    y = x * 2
    layer = an.nn.Identity()
    handles = []
    for _ in range(20):
        handles += [
            x.register_hook(lambda g: None),
            y.register_hook(lambda g: None),
            y.grad_fn.register_prehook(lambda go: None),
            y.grad_fn.register_hook(lambda gi, go: None),
            layer.register_forward_pre_hook(lambda mod, args: None),
            layer.register_forward_hook(lambda mod, args, out: None),
            layer.register_full_backward_pre_hook(lambda mod, go: None),
            layer.register_full_backward_hook(lambda mod, gi, go: None),
        ]
    with (
        an.nn.register_module_forward_pre_hook(lambda mod, args: None) as g1,
        an.nn.register_module_forward_hook(lambda mod, args, out: None) as g2,
    ):
        handles += [g1, g2]
    ids = [h.id for h in handles]
    assert all(isinstance(i, int) for i in ids)
    assert len(set(ids)) == len(ids)


def test_removing_a_handle_twice_is_harmless_and_leaves_other_hooks():
    x = leaf(1.0)
    x.register_hook(lambda g: g * 3)
    handle = x.register_hook(lambda g: g * 100)
    handle.remove()
    handle.remove()
    (x * 2).backward()
    assert x.grad.item() == 6.0
