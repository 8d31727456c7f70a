"""an.detect_anomaly(): the first NaN or inf, forward or backward, named where it is born."""

from __future__ import annotations

import threading
import traceback

import numpy as np
import pytest

import autonet as an
from autonet.engine.function import Function
from autonet.viz.anomaly import AnomalyError

# NumPy warns about the very values these tests make on purpose
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class Log(an.nn.Module):
    def forward(self, x):
        return an.log(x)


class Root(an.nn.Module):
    def forward(self, x):
        return an.sqrt(x)


def zero_linear(n_in: int, n_out: int) -> an.nn.Linear:
    layer = an.nn.Linear(n_in, n_out)
    layer.weight.data[:] = 0
    layer.bias.data[:] = 0
    return layer


# ---- the forward pass ---------------------------------------------------------------------------


def test_a_forward_nan_raises_at_the_operation_that_made_it():
    x = an.tensor([4.0, -1.0, 9.0], requires_grad=True)
    with pytest.raises(AnomalyError) as caught, an.detect_anomaly():
        an.sqrt(x)
    e = caught.value
    assert isinstance(e, RuntimeError)
    assert str(e) == (
        "detect_anomaly: sqrt produced NaN in the forward pass (1 of 3 elements); "
        "its input had shape (3,)"
    )
    assert (e.phase, e.op, e.module, e.input_shapes) == ("forward", "sqrt", None, [(3,)])
    # raised while the operation ran: the traceback goes through the user's line
    lines = [frame.line for frame in traceback.extract_tb(caught.tb)]
    assert "an.sqrt(x)" in lines


def test_inf_is_caught_as_well_as_nan():
    overflow = r"exp produced inf in the forward pass \(1 of 2"
    with pytest.raises(AnomalyError, match=overflow), an.detect_anomaly():
        an.exp(an.tensor([1.0, 100.0], requires_grad=True))  # float32 overflows
    with pytest.raises(AnomalyError, match=r"log produced inf"), an.detect_anomaly():
        an.log(an.tensor([0.0, 1.0], requires_grad=True))


def test_a_value_that_was_not_finite_already_is_named_where_it_comes_in():
    x = an.tensor([-1.0, 4.0], requires_grad=True)
    y = an.sqrt(x)  # NaN, recorded before the block
    with pytest.raises(AnomalyError) as caught, an.detect_anomaly():
        y * 2
    assert "mul received NaN (1 of 2 elements) in the forward pass from its input 0 (the " in str(
        caught.value
    )
    assert "output of sqrt, recorded before detect_anomaly began)" in str(caught.value)
    leaf = an.sqrt(x.detach()).requires_grad_()  # a leaf that holds NaN
    entering = r"add received NaN .* its input 1 \(a leaf tensor\)"
    with pytest.raises(AnomalyError, match=entering), an.detect_anomaly():
        an.ones(2, requires_grad=True) + leaf


def test_a_parameter_holding_nan_or_inf_is_named_with_its_module():
    for bad, kind in ((np.nan, "NaN"), (np.inf, "inf")):
        net = an.nn.MLP(2, [3], 1)
        net.layers[0].weight.data[1, 0] = bad
        with pytest.raises(AnomalyError) as caught, an.detect_anomaly():
            net(an.ones(4, 2))
        e = caught.value
        assert (e.op, e.module) == ("linear", "layers.0 (Linear)")
        assert str(e) == (
            f"detect_anomaly: linear received {kind} (1 of 6 elements) in the forward pass from "
            "its input 1 (layers.0.weight), inside layers.0 (Linear); its inputs had shapes "
            "(4, 2), (3, 2) and (3,)"
        )


def test_an_operation_inside_a_custom_module_is_named_with_the_module_path():
    net = an.nn.Sequential(an.nn.Linear(2, 2), an.nn.Sequential(an.nn.Tanh(), Log()))
    net[0].weight.data[:] = -1.0
    net[0].bias.data[:] = 0.0
    with pytest.raises(AnomalyError) as caught, an.detect_anomaly():
        net(an.ones(3, 2))  # log(tanh(-2)) = log of a negative
    assert caught.value.module == "1.1 (Log)"
    assert "log produced NaN in the forward pass (6 of 6 elements), inside 1.1 (Log)" in str(
        caught.value
    )


def test_a_constant_that_is_not_finite_is_named():
    x = an.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(AnomalyError) as caught, an.detect_anomaly():
        x * float("inf")
    assert str(caught.value).endswith(
        "mul received inf (1 of 1 element) in the forward pass from its input 1 (a constant); "
        "its inputs had shapes (2,) and the number inf"
    )


def test_operations_under_no_grad_are_not_recorded_so_not_checked():
    x = an.tensor([-1.0], requires_grad=True)
    with an.detect_anomaly(), an.no_grad():
        y = an.sqrt(x)
    assert np.isnan(y.data).all()


# ---- the backward pass --------------------------------------------------------------------------


def test_a_backward_only_nan_names_the_operation_and_where_it_was_recorded():
    x = an.tensor([0.0, 1.0, 4.0], requires_grad=True)
    with pytest.raises(AnomalyError) as caught, an.detect_anomaly():
        loss = (an.sqrt(x) * 0).sum()  # forward: all finite
        loss.backward()  # backward: 0 / (2·0) = NaN
    e = caught.value
    assert (e.phase, e.op, e.input_shapes) == ("backward", "sqrt", [(3,)])
    text = str(e)
    assert text.startswith(
        "detect_anomaly: the gradient that sqrt sends to its input 0 (a leaf tensor) in the "
        "backward pass has NaN (1 of 3 elements); sqrt was recorded by the forward pass at "
        "test_anomaly.py:"
    )
    assert "loss = (an.sqrt(x) * 0).sum()" in text
    assert "the gradient that reached its output was finite (shape (3,), min 0, max 0)" in text
    assert "Forward traceback of sqrt (most recent call last):" in text
    top = e.forward_stack[-1]
    assert (top.name, top.line) == (
        "test_a_backward_only_nan_names_the_operation_and_where_it_was_recorded",
        "loss = (an.sqrt(x) * 0).sum()  # forward: all finite",
    )


def test_a_backward_nan_inside_a_module_names_the_module_and_the_input():
    net = an.nn.Sequential(zero_linear(2, 2), Root())
    with pytest.raises(AnomalyError) as caught, an.detect_anomaly():
        (net(an.ones(3, 2)) * 0).sum().backward()
    e = caught.value
    assert (e.phase, e.op, e.module) == ("backward", "sqrt", "1 (Root)")
    assert "sends to its input 0 (the output of linear)" in str(e)
    assert ", inside 1 (Root); sqrt was recorded" in str(e)
    assert e.forward_stack[-1].name == "forward"  # Root.forward's line


def test_a_gradient_that_arrives_not_finite_is_not_reported_again():
    x = an.tensor([1.0, 4.0], requires_grad=True)
    with an.detect_anomaly():
        y = an.sqrt(x * 2).sum()
        y.backward(an.tensor(float("nan")))  # born at the seed, outside every operation
    assert np.isnan(x.grad.data).all()


def test_finite_computations_raise_nothing_and_get_the_same_gradients():
    def step():
        an.manual_seed(1)
        net = an.nn.MLP(2, [3, 3], 1, activation="tanh")
        x, y = an.randn(8, 2), an.randn(8, 1)
        loss = an.nn.functional.mse_loss(net(x), y)
        loss.backward()
        return loss.item(), [p.grad.data.copy() for p in net.parameters()]

    plain = step()
    with an.detect_anomaly():
        checked = step()
    assert plain[0] == checked[0]
    for a, b in zip(plain[1], checked[1]):
        np.testing.assert_array_equal(a, b)


def test_a_recorded_backward_is_checked_too():
    x = an.tensor([0.5, 2.0], requires_grad=True)
    with an.detect_anomaly():
        (g,) = an.grad((x**3).sum(), [x], create_graph=True)
        g.sum().backward()
    np.testing.assert_allclose(x.grad.data, 6 * x.data)


# ---- where it is on, and where not --------------------------------------------------------------


def test_outside_the_block_nothing_is_checked_and_recording_is_plain_again():
    x = an.tensor([0.0, -1.0], requires_grad=True)
    with an.detect_anomaly():
        loss = (an.sqrt(x * -1) * 0).sum()  # recorded inside, finite
    loss.backward()  # ... its backward outside the block: NaN passes silently
    assert np.isnan(x.grad.data).any()
    y = an.sqrt(x)  # the same NaN in the forward pass, silently
    assert np.isnan(y.data).any()
    assert Function.record is Function._record


def test_another_threads_nan_is_not_reported_by_this_threads_block():
    seen = []

    def other():
        try:
            x = an.tensor([0.0, -1.0], requires_grad=True)
            (an.sqrt(x) * 0).sum().backward()
            seen.append("silent")
        except Exception as e:  # pragma: no cover (only if the test fails)
            seen.append(e)

    with an.detect_anomaly():
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        with pytest.raises(AnomalyError):  # this thread's block still works
            an.sqrt(an.tensor([-1.0], requires_grad=True))
    assert seen == ["silent"]


def test_as_a_decorator_each_call_is_checked():
    @an.detect_anomaly()
    def root(values):
        return an.sqrt(an.tensor(values, requires_grad=True))

    assert root([4.0]).item() == 2.0
    with pytest.raises(AnomalyError, match="sqrt produced NaN"):
        root([-4.0])
    assert an.sqrt(an.tensor([-4.0], requires_grad=True)) is not None  # off again


def test_one_block_cannot_be_entered_twice_at_once():
    block = an.detect_anomaly()
    with block, pytest.raises(RuntimeError, match="already open"):
        block.__enter__()
    with block:  # and again afterwards
        pass
