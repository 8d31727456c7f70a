"""What a recorded node keeps: only the arrays its backward reads (``saves_output`` and
``saves_inputs``), stand-ins for the shapes of the rest.

The table below applies every primitive with every choice of which inputs require grad and
compares the gradients with finite differences. A primitive that declared too little would read
a stand-in (NaN) or ``None`` and fail here.
"""

from __future__ import annotations

import gc
import itertools
import weakref

import numpy as np
import pytest

import autonet as an
from autonet.engine.function import stand_in
from autonet.testing import gradcheck, gradgradcheck

F = an.nn.functional
RNG = np.random.default_rng(7)


def data(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def spread(*shape):
    """Distinct values 0.1 apart, none within 0.03 of 0 or of ±0.2: no ties for max and
    min, no kinks of relu or clip(-0.2, 0.2) within reach of finite differences."""
    n = int(np.prod(shape))
    return ((RNG.permutation(n) - n // 2) * 0.1 + 0.03).reshape(shape)


# name -> (function of tensors, input arrays)
CASES = {
    "add (broadcast)": (lambda a, b: a + b, [data(3, 1), data(4)]),
    "sub (broadcast)": (lambda a, b: a - b, [data(2, 3), data(3)]),
    "mul (broadcast)": (lambda a, b: a * b, [data(2, 3), data(2, 1)]),
    "mul by a number": (lambda a: a * 1.5, [data(3)]),
    "div (broadcast)": (lambda a, b: a / b, [data(2, 3), positive(3)]),
    "number / tensor": (lambda a: 2.0 / a, [positive(3)]),
    "neg": (lambda a: -a, [data(3)]),
    "pow": (lambda a: a**3, [data(2, 2)]),
    "power": (lambda a, b: a**b, [positive(3), data(3)]),
    "matmul": (lambda a, b: a @ b, [data(2, 3), data(3, 4)]),
    "matmul, vector": (lambda a, b: a @ b, [data(3), data(3, 2)]),
    "matmul, batch": (lambda a, b: a @ b, [data(2, 2, 3), data(3, 2)]),
    "linear": (lambda x, w, b: F.linear(x, w, b), [data(4, 3), data(2, 3), data(2)]),
    "linear, no bias": (lambda x, w: F.linear(x, w), [data(2, 4, 3), data(2, 3)]),
    "clone": (lambda a: a.clone() * 2, [data(3)]),
    "exp": (lambda a: a.exp(), [data(3)]),
    "log": (lambda a: a.log(), [positive(3)]),
    "sqrt": (lambda a: a.sqrt(), [positive(3)]),
    "abs": (lambda a: a.abs(), [spread(4)]),
    "sin": (lambda a: a.sin(), [data(3)]),
    "cos": (lambda a: a.cos(), [data(3)]),
    "tanh": (lambda a: a.tanh(), [data(3)]),
    "sigmoid": (lambda a: a.sigmoid(), [data(3)]),
    "relu": (lambda a: a.relu(), [spread(5)]),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), [spread(5)]),
    "elu": (lambda a: a.elu(), [spread(5)]),
    "gelu": (lambda a: a.gelu(), [data(3)]),
    "softplus": (lambda a: a.softplus(), [data(3)]),
    "erf": (lambda a: a.erf(), [data(3)]),
    "clip": (lambda a: a.clip(-0.2, 0.2), [spread(6)]),
    "maximum": (lambda a, b: an.maximum(a, b), [spread(4), spread(4)[::-1].copy()]),
    "minimum": (lambda a, b: an.minimum(a, b), [spread(4), spread(4)[::-1].copy()]),
    "where": (lambda a, b: an.where(a > 0, a, b), [spread(4), data(4)]),
    "sum": (lambda a: a.sum(axis=0), [data(2, 3)]),
    "mean": (lambda a: a.mean(axis=1, keepdims=True), [data(2, 3)]),
    "max": (lambda a: a.max(axis=1), [spread(2, 3)]),
    "min": (lambda a: a.min(), [spread(2, 3)]),
    "prod": (lambda a: a.prod(axis=0), [data(3, 2)]),
    "logsumexp": (lambda a: a.logsumexp(axis=1), [data(2, 3)]),
    "var": (lambda a: a.var(axis=0), [data(3, 2)]),
    "reshape": (lambda a: a.reshape(3, 2) * a.reshape(3, 2), [data(2, 3)]),
    "transpose": (lambda a: a.T @ a, [data(2, 3)]),
    "expand": (lambda a: a.expand(2, 3) * 2, [data(1, 3)]),
    "concatenate": (lambda a, b: an.concatenate([a, b], axis=1), [data(2, 1), data(2, 3)]),
    "stack": (lambda a, b: an.stack([a, b]), [data(3), data(3)]),
    "pad": (lambda a: an.pad(a, ((1, 0), (0, 2))), [data(2, 2)]),
    "getitem": (lambda a: a[[0, 0, 1], 1:], [data(2, 3)]),
    "softmax": (lambda a: a.softmax(axis=1), [data(2, 3)]),
    "log_softmax": (lambda a: a.log_softmax(axis=0), [data(2, 3)]),
    "unfold": (lambda a: an.unfold(a, 2), [data(1, 3, 3)]),
    "cross_entropy": (lambda a: F.cross_entropy(a, an.tensor([2, 0, 2, 1])), [data(4, 3)]),
    "conv2d": (lambda x, w: F.conv2d(x, w, padding=1), [data(1, 2, 3, 3), data(2, 2, 2, 2)]),
}


def patterns(n):
    """Every non-empty choice of which of ``n`` inputs require grad."""
    return [flags for flags in itertools.product([False, True], repeat=n) if any(flags)]


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_with_every_choice_of_inputs_that_require_grad(name):
    fn, arrays = CASES[name]
    for flags in patterns(len(arrays)):
        xs = [an.tensor(a, dtype=an.float64, requires_grad=f) for a, f in zip(arrays, flags)]
        assert gradcheck(fn, xs), f"{name} with requires_grad={flags}"


@pytest.mark.parametrize("name", ["mul (broadcast)", "div (broadcast)", "linear", "tanh",
                                  "sum", "where", "log_softmax", "cross_entropy"])  # fmt: skip
def test_second_derivatives_read_only_what_was_saved(name):
    fn, arrays = CASES[name]
    for flags in patterns(len(arrays)):
        xs = [an.tensor(a, dtype=an.float64, requires_grad=f) for a, f in zip(arrays, flags)]
        assert gradgradcheck(fn, xs), f"{name} with requires_grad={flags}"


def test_intermediate_arrays_are_freed_when_backward_does_not_need_them():
    """tanh(x·2 + 1): the product and the sum are not needed by any derivative (d(x·2)/dx is
    2, d(u + 1)/du is 1, tanh needs only its output), so once the user lets go of them their
    arrays are gone, while the graph still backpropagates."""
    x = an.randn(1000, requires_grad=True)
    u = x * 2
    v = u + 1
    y = v.tanh()
    kept = [weakref.ref(u.data), weakref.ref(v.data), weakref.ref(y.data)]
    del u, v
    gc.collect()
    assert [r() is None for r in kept] == [True, True, False]
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (1 - y.numpy() ** 2), rtol=1e-6)


def test_a_product_keeps_each_factor_only_for_the_other_gradient():
    w = an.randn(3, requires_grad=True)
    x = an.randn(3)  # data: needs no gradient, so w need not be kept
    node = (w * x).grad_fn
    assert node.inputs[1] is x.data and node.inputs[0] is None and node.out is None


def test_a_sum_keeps_a_stand_in_for_its_input():
    x = an.randn(100, 100, requires_grad=True)
    (s,) = (x * 3).sum().grad_fn.inputs
    assert s.shape == (100, 100) and s.dtype == np.float32 and s.strides == (0, 0)
    assert s is stand_in(x.data)  # one per shape and dtype, shared


def test_changing_an_input_in_place_is_refused_only_where_it_was_saved():
    x = an.ones(3, requires_grad=True)
    shifted = (x + 1).sum()  # the sum does not need x's values
    squared = (x * x).sum()  # the product does
    with an.no_grad():
        x.add_(1)
    shifted.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones(3))
    with pytest.raises(RuntimeError, match="changed in place"):
        squared.backward()


def test_a_conversion_keeps_only_the_dtype_to_convert_the_gradient_back():
    x = an.tensor(data(3), dtype=an.float64, requires_grad=True)
    y = x.astype(an.float32)
    assert y.grad_fn.inputs[0].strides == (0,)  # a stand-in
    (y * 2).sum().backward()
    assert x.grad.dtype == an.float64
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_a_square_gives_its_gradient_once():
    x = an.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])
