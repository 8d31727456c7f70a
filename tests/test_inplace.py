"""In-place changes and the gradients they would corrupt (autonet.engine.versions).

A node keeps some arrays for its backward pass. Every in-place change made through autonet is
numbered on the clock the nodes are recorded on, per block of memory (a tensor, its views and
``detach()`` share one), and backward refuses a node that saved an array whose memory changed
after the node was recorded, naming the operation and the shape. PyTorch raises in every case
refused here; the cases allowed here are allowed there too.

In-place changes that could not be checked at backward are refused when they are made:
on a result of a recorded operation, on a leaf that requires grad, or on a view of such a
leaf, while gradients are recorded.
"""

from __future__ import annotations

import operator
import re

import numpy as np
import pytest

import autonet as an

CHANGED = "was changed in place"
VIEW_MADE_WITHOUT_GRAD = "is a view, made under no_grad, of a tensor that requires grad"

# Every in-place method, applied to a float tensor of shape (2,).
METHODS = {
    "add_": lambda t: t.add_(1.0),
    "sub_": lambda t: t.sub_(1.0),
    "mul_": lambda t: t.mul_(2.0),
    "div_": lambda t: t.div_(2.0),
    "copy_": lambda t: t.copy_(an.tensor([5.0, 6.0])),
    "fill_": lambda t: t.fill_(7.0),
    "zero_": lambda t: t.zero_(),
    "uniform_": lambda t: t.uniform_(),
    "normal_": lambda t: t.normal_(),
}
AUGMENTED = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
}
# ... and every other way of changing a tensor in place: assignment and augmented operators.
CHANGES = {
    **METHODS,
    "setitem": lambda t: t.__setitem__(0, 9.0),
    **{op: (lambda t, f=f: f(t, 2.0)) for op, f in AUGMENTED.items()},
}


def cases(table):
    return pytest.mark.parametrize("change", list(table.values()), ids=list(table))


# ---- detected at backward ------------------------------------------------------------------


@cases(CHANGES)
def test_every_in_place_change_of_a_saved_tensor_is_detected(change):
    x = an.tensor([1.0, 2.0], requires_grad=True)
    c = an.tensor([3.0, 4.0])
    y = (x * c).sum()  # the product keeps c for x's gradient
    change(c)
    with pytest.raises(RuntimeError, match=rf"input 1 of <mul> \(shape \(2,\)\) {CHANGED}"):
        y.backward()


def test_a_leaf_changed_under_no_grad_after_its_slices_were_multiplied_is_detected():
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x[:2] * x[:2]).sum()  # the product keeps x[:2], a view of x
    with an.no_grad():
        x.mul_(10)
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(2,\)\) {CHANGED}"):
        y.backward()


def test_a_weight_changed_after_its_transpose_was_used_in_a_matmul_is_detected():
    W = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = an.ones(1, 2, requires_grad=True)
    y = (h @ W.T).sum()  # the matmul keeps W.T (a view of W) for h's gradient
    with an.no_grad():
        W.sub_(1.0)  # an optimizer step before backward
    with pytest.raises(RuntimeError, match=rf"input 1 of <matmul> \(shape \(2, 2\)\) {CHANGED}"):
        y.backward()


def test_a_result_changed_through_detach_is_detected_rather_than_giving_a_wrong_gradient():
    x = an.tensor(2.0, requires_grad=True)
    y = x * 3
    z = y * y  # dz/dx = 18x = 36; with y changed to 7 it would read 42
    y.detach().add_(1)
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(\)\) {CHANGED}"):
        z.backward()
    assert x.grad is None


def test_an_output_saved_by_its_node_and_changed_through_detach_is_detected():
    x = an.tensor([0.5, 1.0], requires_grad=True)
    y = x.tanh()  # tanh keeps its output: dy/dx = 1 - y²
    loss = y.sum()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match=rf"output of <tanh> \(shape \(2,\)\) {CHANGED}"):
        loss.backward()


def test_a_leaf_changed_through_detach_is_detected():
    w = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (w * w).sum()
    w.detach().add_(1.0)  # allowed in grad mode, but y's product kept w
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(3,\)\) {CHANGED}"):
        y.backward()


def test_a_leaf_changed_through_a_view_under_no_grad_is_detected():
    w = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (w * w).sum()
    with an.no_grad():
        w[1:].add_(1.0)
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(3,\)\) {CHANGED}"):
        y.backward()


@pytest.mark.parametrize(
    "change",
    [lambda mask: mask.__setitem__(0, False), lambda mask: mask.fill_(True)],
    ids=["setitem", "fill_"],
)
def test_a_mask_changed_after_where_used_it_is_detected(change):
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = an.tensor([True, False, True])
    y = an.where(mask, x, an.zeros(3)).sum()  # where keeps the mask for x's gradient
    change(mask)
    with pytest.raises(RuntimeError, match=rf"input 0 of <where> \(shape \(3,\)\) {CHANGED}"):
        y.backward()


def test_a_mask_changed_after_where_used_it_with_a_number_is_detected():
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x.detach() > 1.5
    y = an.where(mask, x, 0.0).sum()
    mask[0] = True
    with pytest.raises(RuntimeError, match=rf"<where> \(shape \(3,\)\) {CHANGED}"):
        y.backward()


@pytest.mark.parametrize(
    "pick, index",
    [
        (lambda x, i: x[i], [0, 1]),
        (lambda x, i: x[:, i], [0, 1]),
        (lambda x, i: x[i], [[True, False, True], [False, True, False]]),
    ],
    ids=["integer array", "integer array in a tuple", "bool mask"],
)
def test_an_index_tensor_changed_after_indexing_is_detected(pick, index):
    x = an.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    idx = an.tensor(index)
    y = pick(x, idx).sum()  # the node keeps the index to put the gradient back
    idx[0] = idx[1]
    with pytest.raises(RuntimeError, match=rf"index of <getitem\[.*\]> .* {CHANGED}"):
        y.backward()


def test_an_integer_index_changed_after_use_would_have_misplaced_the_gradient():
    x = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx = an.tensor([0, 1])
    y = x[idx].sum()
    idx[0] = 2  # the gradient would land on x[2] instead of x[0]
    with pytest.raises(RuntimeError, match=rf"<getitem\[<int64 array \(2,\)>\]> .* {CHANGED}"):
        y.backward()


@pytest.mark.parametrize(
    "view",
    [lambda h: h.T, lambda h: h.reshape(4), lambda h: h[1:], lambda h: h[:, 0]],
    ids=["transpose", "reshape", "slice", "column"],
)
def test_a_change_through_a_view_of_a_results_detach_is_detected(view):
    x = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 2
    loss = (h * h).sum()  # the product keeps h
    v = view(h.detach())
    assert np.shares_memory(v.numpy(), h.numpy())
    v.add_(1.0)
    with pytest.raises(RuntimeError, match=rf"input 0 of <mul> \(shape \(2, 2\)\) {CHANGED}"):
        loss.backward()


def test_a_change_anywhere_in_the_block_is_detected_even_outside_the_saved_part():
    x = an.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    h = x * 1
    first = h[:2]
    loss = (first * first).sum()  # keeps h[:2] only
    h.detach()[2:].zero_()  # one block, one clock (one version counter per storage in PyTorch)
    with pytest.raises(RuntimeError, match=CHANGED):
        loss.backward()


def test_retain_graph_then_an_in_place_change_refuses_the_second_backward():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    with an.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(2,\)\) {CHANGED}"):
        y.backward()
    assert x.grad.tolist() == [2.0, 4.0]  # the first backward's gradient only


def test_grad_refuses_as_backward_does():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    with an.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(2,\)\) {CHANGED}"):
        an.grad(y, x)


# ---- optimizers, modules, gradients ------------------------------------------------------


def test_an_optimizer_step_between_forward_and_backward_is_detected():
    w = an.tensor([1.0, 2.0], requires_grad=True)
    opt = an.optim.SGD([w], lr=0.1)
    first = (w * w).sum()
    second = (w * w * w).sum()
    first.backward()
    opt.step()  # changes w, which the products of `second` kept
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(2,\)\) {CHANGED}"):
        second.backward()


def test_an_optimizer_step_after_backward_is_fine_and_the_next_iteration_works():
    w = an.tensor([1.0, 2.0], requires_grad=True)
    opt = an.optim.SGD([w], lr=0.25)
    (w * w).sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]
    opt.step()  # w ← w − 0.25 · 2w = w / 2
    opt.zero_grad()
    assert w.tolist() == [0.5, 1.0]
    (w * w).sum().backward()
    assert w.grad.tolist() == [1.0, 2.0]


def test_load_state_dict_after_a_forward_is_detected_at_backward():
    model = an.nn.Linear(2, 1)
    x = an.tensor([[1.0, 2.0]], requires_grad=True)  # its gradient needs the weight
    loss = model(x).sum()
    model.load_state_dict({"weight": an.ones(1, 2), "bias": an.zeros(1)})
    with pytest.raises(RuntimeError, match=rf"<linear> \(shape \(1, 2\)\) {CHANGED}"):
        loss.backward()


def test_load_state_dict_after_backward_is_fine():
    model = an.nn.Linear(2, 1)
    x = an.tensor([[1.0, 2.0]], requires_grad=True)
    model(x).sum().backward()
    model.load_state_dict({"weight": an.tensor([[3.0, 4.0]]), "bias": an.zeros(1)})
    x.grad = None
    model(x).sum().backward()
    assert x.grad.tolist() == [[3.0, 4.0]]


def test_accumulating_into_a_grad_that_a_node_saved_is_detected():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()  # x.grad = [2, 4]
    w = an.tensor([1.0, 1.0], requires_grad=True)
    y = (w * x.grad).sum()  # keeps x.grad for w's gradient
    (x * x).sum().backward()  # x.grad += [2, 4], in place
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(2,\)\) {CHANGED}"):
        y.backward()  # w.grad would be [4, 8], not the [2, 4] y was computed with


def test_zero_grad_without_set_to_none_on_a_grad_that_a_node_saved_is_detected():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    w = an.tensor([1.0, 1.0], requires_grad=True)
    y = (w * x.grad).sum()
    x.zero_grad(set_to_none=False)  # fills x.grad with zeros in place
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(2,\)\) {CHANGED}"):
        y.backward()


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda ps: an.optim.SGD(ps, lr=0.1, momentum=0.9), "momentum_buffer"),
        (lambda ps: an.optim.Adam(ps, lr=0.1), "exp_avg"),
        (lambda ps: an.optim.RMSprop(ps, lr=0.1), "square_avg"),
        (lambda ps: an.optim.Adagrad(ps, lr=0.1), "sum"),
    ],
    ids=["SGD", "Adam", "RMSprop", "Adagrad"],
)
def test_optimizer_state_updated_by_a_step_is_detected_where_a_node_saved_it(make, name):
    p = an.tensor([1.0, 2.0], requires_grad=True)
    opt = make([p])
    (p * p).sum().backward()
    opt.step()
    state = opt.state[p][name]
    w = an.tensor([1.0, 1.0], requires_grad=True)
    y = (w * state).sum()  # keeps the state tensor for w's gradient
    opt.step()  # updates the state in place
    with pytest.raises(RuntimeError, match=rf"<mul> \(shape \(2,\)\) {CHANGED}"):
        y.backward()


# ---- allowed changes, and right gradients after them ------------------------------------


@pytest.mark.parametrize(
    "f, expected",
    [
        (lambda x: (x + 1).sum(), lambda x: np.ones_like(x)),
        (lambda x: (x * 3).sum(), lambda x: np.full_like(x, 3.0)),
        (lambda x: x.sum(), lambda x: np.ones_like(x)),
        (lambda x: x.tanh().sum(), lambda x: 1 - np.tanh(x) ** 2),  # keeps its output, not x
    ],
    ids=["add a number", "times a number", "sum", "tanh"],
)
def test_changing_an_input_the_node_did_not_save_is_allowed_and_the_gradient_is_right(f, expected):
    before = np.array([0.5, -1.0], np.float32)
    x = an.tensor(before, requires_grad=True)
    y = f(x)
    with an.no_grad():
        x.add_(10.0)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), expected(before), rtol=1e-6)


def test_a_change_made_before_the_node_was_recorded_is_fine():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    with an.no_grad():
        x.add_(1.0)
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 6.0]


def test_a_change_to_another_block_of_memory_is_fine():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    c = an.tensor([3.0, 4.0])
    y = (x * c).sum()
    c.clone().add_(1.0)  # a copy: c itself is unchanged
    an.tensor([3.0, 4.0]).add_(1.0)  # equal values, other memory
    y.backward()
    assert x.grad.tolist() == [3.0, 4.0]


def test_a_reshape_that_copies_is_not_a_view_and_its_change_is_fine():
    x = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 2
    loss = (h * h).sum()
    copied = h.detach().T.reshape(4)  # not contiguous: reshape must copy
    assert not np.shares_memory(copied.numpy(), h.numpy())
    copied.add_(1.0)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), 8 * x.detach().numpy())  # d(2x)²/dx = 8x


# ---- refused when made ---------------------------------------------------------------------


@cases(CHANGES)
def test_in_place_on_a_view_of_a_leaf_that_requires_grad_is_refused_in_grad_mode(change):
    w = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with an.no_grad():
        v = w[:2]
    with pytest.raises(RuntimeError, match=VIEW_MADE_WITHOUT_GRAD):
        change(v)
    assert w.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "view",
    [lambda w: w.T, lambda w: w.reshape(4), lambda w: w[0], lambda w: w[:, 1]],
    ids=["transpose", "reshape", "row", "column"],
)
def test_in_place_on_any_view_of_a_leaf_that_requires_grad_is_refused_in_grad_mode(view):
    w = an.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with an.no_grad():
        v = view(w)
    with pytest.raises(RuntimeError, match="view"):
        v.zero_()
    assert w.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_is_allowed_under_no_grad():
    w = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with an.no_grad():
        v = w[:2]
        v.add_(10.0)
        w[2:].mul_(2.0)
    assert w.tolist() == [11.0, 12.0, 6.0]
    assert w.requires_grad and w.is_leaf


def test_a_view_of_a_parameter_stays_guarded_after_the_module_changes_its_dtype():
    model = an.nn.Linear(2, 2).double()  # gives each parameter a new float64 array
    with an.no_grad():
        row = model.weight[0]
    with pytest.raises(RuntimeError, match=VIEW_MADE_WITHOUT_GRAD):
        row.add_(1.0)


def test_detach_then_zero_is_allowed_in_grad_mode_and_changes_the_leaf():
    w = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.detach().zero_()
    assert w.tolist() == [0.0, 0.0, 0.0]
    assert w.requires_grad and w.is_leaf


def test_a_slice_of_detach_is_no_view_of_a_leaf_and_may_be_changed_in_grad_mode():
    # PyTorch: w.detach() does not require grad, so neither do its views; changing them is fine.
    w = an.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w.detach()[1:].add_(1.0)
    assert w.tolist() == [1.0, 3.0, 4.0]


@cases(METHODS)
def test_in_place_on_a_result_of_a_recorded_operation_is_refused(change):
    x = an.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    with pytest.raises(RuntimeError, match="cannot change in place a tensor produced by a"):
        change(h)
    assert h.tolist() == [2.0, 4.0]


@pytest.mark.parametrize("op", list(AUGMENTED))
def test_augmented_assignment_on_a_leaf_that_requires_grad_is_refused_in_grad_mode(op):
    w = an.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=re.escape(op) + ": a leaf tensor that requires grad .* cannot be"
    ):
        AUGMENTED[op](w, 2.0)
    assert w.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "target, value",
    [
        (lambda: an.tensor([1.0, 2.0], requires_grad=True), lambda: 5.0),
        (lambda: an.tensor([1.0, 2.0], requires_grad=True) * 1, lambda: 5.0),
        (lambda: an.tensor([1.0, 2.0]), lambda: an.tensor(5.0, requires_grad=True)),
    ],
    ids=["into a leaf that requires grad", "into a result", "a value that requires grad"],
)
def test_setitem_involving_grad_is_refused_in_grad_mode(target, value):
    t = target()
    before = t.tolist()
    with pytest.raises(RuntimeError, match="setitem: assignment into a tensor is not recorded"):
        t[0] = value()
    assert t.tolist() == before
