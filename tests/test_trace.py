"""an.viz.trace(): every value and gradient of a graph, and the backward pass step by step."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest
from helpers import traced_neuron

import autonet as an
from autonet.engine.function import Function

pytest.importorskip("graphviz")
from autonet.viz import draw_graph


def records(dot):
    """The labels of the drawing's record nodes (values and leaves)."""
    return re.findall(r'label="(\{[^"]*\})"', dot.source)


def test_the_drawing_of_a_traced_backward_shows_every_value_and_gradient():
    _, o, params = traced_neuron()
    drawn = records(draw_graph(o, params=params))
    # five leaves and five operations' values, each with data and grad, no retain_grad
    assert len(drawn) == 10
    assert all("data" in lab and "grad" in lab for lab in drawn)
    source = draw_graph(o, params=params).source
    for value in ("data 0.7071", "data 0.8814", "data -6.", "grad 0.5", "grad -1.5"):
        assert value in source, value


def test_steps_follow_the_backward_pass_with_the_gradients_and_rules():
    tr, _, _ = traced_neuron()
    assert [s.label for s in tr.steps] == ["tanh", "add", "add", "mul", "mul"]
    assert [s.index for s in tr.steps] == list(range(5))
    tanh = tr.steps[0]
    assert tanh.rule == "dy/dx = 1 - tanh²x = 1 - y²"
    np.testing.assert_allclose(tanh.grad_output.array, 1.0)
    np.testing.assert_allclose(tanh.grad_inputs[0].array, 1 - 0.7071**2, atol=1e-4)
    x1_times_w1 = tr.steps[4]
    assert x1_times_w1.rule == "dy/da = b, dy/db = a"
    np.testing.assert_allclose([g.array for g in x1_times_w1.grad_inputs], [-1.5, 1.0], atol=1e-5)


def test_a_trace_keeps_large_arrays_as_statistics():
    x = an.tensor(np.arange(-6.0, 6.0).reshape(3, 4), requires_grad=True)
    with an.viz.trace(max_elements=4) as tr:
        y = (x * 2).sum()
        y.backward()
    big = tr.record_of(y.grad_fn.parents[0])
    assert big.value.array is None and big.value.shape == (3, 4)
    assert (big.value.min, big.value.max) == (-12.0, 10.0)
    assert "min -12 mean -1 max 10" in big.value.stats_text()
    assert tr.record_of(y.grad_fn).value.array is not None


def test_draw_graph_of_a_trace_draws_what_it_recorded():
    tr, _, _ = traced_neuron()
    source = draw_graph(tr).source
    assert source.count("tanh") == 1 and source.count("data 0.7071") == 1


def test_a_step_drawing_shows_gradients_only_where_they_arrived():
    tr, _, params = traced_neuron()
    first = draw_graph(tr, step=0, params=params).source
    last = draw_graph(tr, step=len(tr.steps) - 1, params=params).source
    # the loss's gradient, and the one tanh sends to its input; tanh highlighted
    assert first.count("grad ") == 2 and "#f8a5a5" in first
    assert last.count("grad ") == 10


def test_module_calls_and_names_are_noted():
    net = an.nn.MLP(2, [3], 1, activation="tanh")
    with an.viz.trace() as tr:
        loss = net(an.ones(4, 2)).sum()
    paths = ["layers.0 (Linear)", "layers.1 (Tanh)", "layers.2 (Linear)", "layers (Sequential)"]
    assert [c.path for c in tr.calls] == [*paths, "MLP"]
    assert {tr.record_of(loss.grad_fn.parents[0]).module} == {"layers.2 (Linear)"}
    assert "layers.0.weight" in tr.names.values() and "input" in tr.names.values()


def test_a_trace_sees_only_its_own_thread():
    seen = []
    with an.viz.trace() as tr:
        worker = threading.Thread(target=lambda: seen.append(an.ones(2, requires_grad=True) * 2))
        worker.start()
        worker.join()
        mine = an.ones(2, requires_grad=True) * 3
    assert [r.node for r in tr.records] == [mine.grad_fn]


def test_outside_a_trace_recording_is_the_plain_routine():
    with an.viz.trace():
        (an.ones(2, requires_grad=True) * 2).sum()
    (an.ones(2, requires_grad=True) * 2).sum()  # the first record after the trace restores it
    assert Function.record is Function._record
