"""The backward pass: accumulation, released graphs, grad modes, an.grad, deep graphs, memory."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import autonet as an


def test_scalar_worked_example():
    a = an.tensor(2.0, requires_grad=True)
    b = an.tensor(-3.0, requires_grad=True)
    c = an.tensor(10.0, requires_grad=True)
    f = an.tensor(-2.0, requires_grad=True)
    e = a * b
    d = e + c
    L = d * f
    L.backward()
    assert L.item() == -8.0
    assert (a.grad.item(), b.grad.item(), c.grad.item(), f.grad.item()) == (6.0, -4.0, -2.0, 4.0)


def test_gradients_accumulate_across_backward_calls():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    x.zero_grad(set_to_none=False)
    assert x.grad.tolist() == [0.0, 0.0]


def test_fan_out_and_repeated_inputs_add_up():
    x = an.tensor(3.0, requires_grad=True)
    y = x * x  # x twice in one operation
    z = y + y * x + x  # y used twice, x used again
    z.backward()
    assert x.grad.item() == pytest.approx(2 * 3 + 3 * 9 + 1)


def test_shared_gradient_buffers_are_not_aliased():
    a = an.tensor([1.0, 2.0], requires_grad=True)
    b = an.tensor([3.0, 4.0], requires_grad=True)
    g = np.array([1.0, 1.0], dtype=np.float32)
    (a + b).backward(g)  # add passes the same gradient to both inputs
    a.grad += 10
    assert b.grad.tolist() == [1.0, 1.0] and g.tolist() == [1.0, 1.0]
    (a + b).backward(g)
    assert a.grad.tolist() == [12.0, 12.0] and b.grad.tolist() == [2.0, 2.0]


def test_backward_needs_a_gradient_for_non_scalar_outputs():
    x = an.ones(3, 2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"the output has shape \(3, 2\); reduce it first"):
        y.backward()
    y.backward(an.ones(3, 2))
    assert x.grad.tolist() == [[2.0, 2.0]] * 3
    with pytest.raises(
        ValueError, match=r"gradient has shape \(2,\) but the output has shape \(3, 2\)"
    ):
        (x * 2).backward(np.ones(2))


def test_backward_on_something_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        an.ones(2).sum().backward()


def test_second_backward_through_a_released_graph_is_an_error():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * 2).sum()
    y.backward()
    assert y.grad_fn.released
    with pytest.raises(RuntimeError, match=r"backpropagate a second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    y = (x.tanh() * 2).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_backward_of_a_leaf():
    x = an.tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_backward_for_several_outputs():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    an.backward([x.sum(), (x * 2).sum()])
    assert x.grad.tolist() == [3.0, 3.0]


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    y = (h * h).sum()
    y.backward()
    assert h.grad.tolist() == [6.0, 12.0] and x.grad.tolist() == [18.0, 36.0]
    assert (x * 2).grad is None


def test_constants_and_data_tensors_receive_no_gradient():
    x = an.tensor([1.0, 2.0])
    w = an.tensor([3.0, 4.0], requires_grad=True)
    (x * w + 1.0).sum().backward()
    assert x.grad is None and w.grad.tolist() == [1.0, 2.0]


# ---- grad modes ------------------------------------------------------------------------------


def test_no_grad_records_nothing():
    w = an.ones(2, requires_grad=True)
    with an.no_grad():
        y = w * 2 + 1
        assert not an.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad and an.is_grad_enabled()


def test_no_grad_and_enable_grad_as_decorators():
    w = an.ones(2, requires_grad=True)

    @an.no_grad()
    def evaluate():
        return w * 2

    @an.enable_grad()
    def train_step():
        return w * 2

    assert not evaluate().requires_grad
    with an.no_grad():
        assert train_step().requires_grad
        with an.set_grad_enabled(True):
            assert (w * 1).requires_grad
    assert an.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError), an.no_grad():
        _ = 1 / 0
    assert an.is_grad_enabled()


# ---- an.grad ---------------------------------------------------------------------------------


def test_grad_returns_gradients_without_touching_dot_grad():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    w = an.tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    (gx, gh) = an.grad((h * h).sum(), [x, h])
    assert gx.tolist() == [18.0, 64.0] and gh.tolist() == [6.0, 16.0]
    assert x.grad is None and w.grad is None


def test_grad_with_grad_outputs_and_unused_inputs():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    unused = an.tensor(1.0, requires_grad=True)
    y = x * 2
    (gx,) = an.grad(y, x, grad_outputs=[an.tensor([1.0, 10.0])])
    assert gx.tolist() == [2.0, 20.0]
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(\)\) was not used"):
        an.grad((x * 2).sum(), [x, unused])
    gx, gu = an.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None
    with pytest.raises(RuntimeError, match="input 0 does not require grad"):
        an.grad((x * 2).sum(), [an.ones(2)])


# ---- deep graphs and memory ------------------------------------------------------------------


def test_a_chain_of_100_000_operations_backpropagates():
    x = an.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0001
        y = y + 0.0
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001**50_000, rel=1e-2)


def test_building_and_discarding_10_000_graphs_does_not_grow_memory():
    w = an.randn(8, 8, requires_grad=True)
    x = an.randn(4, 8)

    def step():
        loss = ((x @ w).tanh() ** 2).mean()
        loss.backward()
        w.grad = None

    for _ in range(200):
        step()
    gc.collect()
    gc.disable()  # nothing may depend on the cycle collector: graphs must be freed by refcount
    try:
        tracemalloc.start()
        for _ in range(1000):
            step()
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(10_000):
            step()
        grown = tracemalloc.get_traced_memory()[0] - baseline
        tracemalloc.stop()
    finally:
        gc.enable()
    assert grown < 50_000, f"memory grew by {grown} bytes over 10 000 graphs"


def test_backward_releases_saved_arrays():
    x = an.randn(1000, requires_grad=True)
    y = x.exp()
    z = y.sum()
    node = y.grad_fn
    z.backward()
    assert node.inputs is None and node.out is None


def test_branches_that_rejoin_after_chains_of_different_lengths():
    # the pass takes a lone waiting node without its heap: a node must still wait for every
    # gradient, also one arriving from a longer branch recorded later
    x = an.tensor([0.3, -0.7], requires_grad=True)
    short = x.tanh()
    long = x
    for _ in range(5):
        long = long * 1.1 + 0.1
    (short * long).sum().backward()
    v = x.numpy().astype(np.float64)
    t, lv = np.tanh(v), v.copy()
    for _ in range(5):
        lv = lv * 1.1 + 0.1
    expected = (1 - t * t) * lv + t * 1.1**5
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_a_number_operand_gives_what_numpy_gives(dtype):
    # numbers become 0-d arrays of the tensor's dtype, made once; the values, signs of zero,
    # infinities and overflows must be NumPy's own with the number
    a = np.array([1.5, -2.25, 0.0, 3e4], dtype)
    numbers = [1.01, -0.0, 0.0, 0, 3, -1, 1e6, 2**70, float("inf"), float("nan")]
    with np.errstate(all="ignore"):
        for c in numbers + numbers:  # (twice: made, then looked up)
            x = an.tensor(a, dtype=dtype)
            for got, want in [
                (x * c, a * c),
                (c - x, c - a),
                (x / c, a / c),
                (an.maximum(x, c), np.maximum(a, c)),
            ]:
                assert got.dtype == want.dtype, (c, got.dtype)
                np.testing.assert_array_equal(got.numpy(), want)
                np.testing.assert_array_equal(np.signbit(got.numpy()), np.signbit(want))
