"""What a recorded node keeps: only the arrays its backward reads (``saves_output`` and
``saves_inputs``), stand-ins for the shapes of the rest, and the memory that frees.

That each primitive's declaration is honest is tested for every operation in
autonet.testing.op_db (tests/test_op_db.py): gradients against finite differences with every
choice of which inputs require grad, so that a primitive that declared too little reads a
stand-in (NaN) or ``None`` and fails.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import autonet as an
from autonet.engine.function import stand_in

F = an.nn.functional
RNG = np.random.default_rng(7)


def data(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape)


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
