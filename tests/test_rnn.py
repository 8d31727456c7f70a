"""RNN, LSTM, GRU and their cells: PyTorch's parameters and initialization, values against
plain NumPy loops for every option, gradients against finite differences, state dicts, and the
drawing of a recurrence (one box per time step, folded)."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
from references import arrays, check_parameter_gradients, recurrent

import autonet as an
from autonet.testing import gradcheck, gradgradcheck

F = an.nn.functional
KINDS = ["RNN", "LSTM", "GRU"]
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def make(kind: str, *args, **kwargs) -> an.nn.Module:
    return getattr(an.nn, kind)(*args, **kwargs).double()


def f64(a) -> an.Tensor:
    return an.tensor(a, dtype=an.float64)


@pytest.mark.parametrize("kind", KINDS)
def test_parameters_follow_pytorch(kind):
    an.manual_seed(0)
    model = getattr(an.nn, kind)(10, 20, num_layers=2, bidirectional=True)
    rows = GATES[kind] * 20
    expected = []
    for layer, suffix in itertools.product(range(2), ["", "_reverse"]):
        n_in = 10 if layer == 0 else 40
        expected += [
            (f"weight_ih_l{layer}{suffix}", (rows, n_in)),
            (f"weight_hh_l{layer}{suffix}", (rows, 20)),
            (f"bias_ih_l{layer}{suffix}", (rows,)),
            (f"bias_hh_l{layer}{suffix}", (rows,)),
        ]
    assert [(k, v.shape) for k, v in model.state_dict().items()] == expected
    bound = 1 / math.sqrt(20)  # every parameter from U(-1/√hidden, 1/√hidden)
    values = np.concatenate([p.numpy().ravel() for p in model.parameters()])
    assert np.abs(values).max() <= bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    no_bias = getattr(an.nn, kind)(3, 4, bias=False)
    assert list(no_bias.state_dict()) == ["weight_ih_l0", "weight_hh_l0"]
    cell = getattr(an.nn, f"{kind}Cell")(3, 4)
    assert [(k, v.shape) for k, v in cell.state_dict().items()] == [
        ("weight_ih", (GATES[kind] * 4, 3)), ("weight_hh", (GATES[kind] * 4, 4)),
        ("bias_ih", (GATES[kind] * 4,)), ("bias_hh", (GATES[kind] * 4,)),
    ]  # fmt: skip


def test_reprs_read_as_pytorch_prints_them():
    assert repr(an.nn.LSTM(10, 20)) == "LSTM(10, 20)"
    assert repr(an.nn.GRU(10, 20, num_layers=2, batch_first=True, bidirectional=True)) == (
        "GRU(10, 20, num_layers=2, batch_first=True, bidirectional=True)"
    )
    assert repr(an.nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == (
        "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    )


OPTIONS = [  # (num_layers, bidirectional, batch_first, bias, one sequence, given state)
    (1, False, False, True, False, False),
    (2, False, True, True, False, True),
    (1, True, False, False, False, True),
    (2, True, True, True, False, False),
    (2, True, False, True, True, True),
    (1, False, True, True, True, False),
]


@pytest.mark.parametrize("kind", [*KINDS, "RNN relu"])
@pytest.mark.parametrize(("layers", "bidirectional", "batch_first", "bias", "single", "given"),
                         OPTIONS)  # fmt: skip
def test_values_match_the_reference(kind, layers, bidirectional, batch_first, bias, single,
                                    given):  # fmt: skip
    rng = np.random.default_rng(0)
    T, N, n_in, H = 6, 3, 4, 5
    name, nonlinearity = (kind.split() + ["tanh"])[:2]
    extra = {"nonlinearity": nonlinearity} if name == "RNN" else {}
    model = make(name, n_in, H, num_layers=layers, bias=bias, batch_first=batch_first,
                 bidirectional=bidirectional, **extra)  # fmt: skip
    D = 2 if bidirectional else 1
    x = rng.standard_normal((T, N, n_in))  # time-major for the reference
    h0 = rng.standard_normal((layers * D, N, H)) if given else None
    c0 = rng.standard_normal((layers * D, N, H)) if given else None
    expected, h_n, c_n = recurrent(name, arrays(model), x, layers, bidirectional, h0, c0,
                                   nonlinearity)  # fmt: skip
    x_in = x[:, 0] if single else x.transpose(1, 0, 2) if batch_first else x
    state = None
    if given:
        h, c = (h0[:, 0], c0[:, 0]) if single else (h0, c0)
        state = (f64(h), f64(c)) if name == "LSTM" else f64(h)
    output, final = model(f64(x_in), state)
    if single:
        expected, h_n, c_n = expected[:, 0], h_n[:, 0], c_n[:, 0]
    elif batch_first:
        expected = expected.transpose(1, 0, 2)
    np.testing.assert_allclose(output.numpy(), expected, rtol=1e-10, atol=1e-12)
    if name == "LSTM":
        np.testing.assert_allclose(final[0].numpy(), h_n, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(final[1].numpy(), c_n, rtol=1e-10, atol=1e-12)
    else:
        np.testing.assert_allclose(final.numpy(), h_n, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_one_step_of_the_reference(kind):
    rng = np.random.default_rng(1)
    cell = make(kind, 3, 4)
    w = {k + "_l0": v for k, v in arrays(cell).items()}
    name = kind.removesuffix("Cell")
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    out = cell(f64(x), (f64(h), f64(c)) if name == "LSTM" else f64(h))
    expected = recurrent(name, w, x[None], 1, False, h[None], c[None])
    if name == "LSTM":
        out, c1 = out
        np.testing.assert_allclose(c1.numpy(), expected[2][0], rtol=1e-10)
    np.testing.assert_allclose(out.numpy(), expected[0][0], rtol=1e-10)
    zero_state = cell(f64(x))  # no state: zeros
    zero = recurrent(name, w, x[None], 1, False)[0][0]
    np.testing.assert_allclose((zero_state[0] if name == "LSTM" else zero_state).numpy(), zero)
    single = cell(f64(x[0]))  # one input without a batch axis
    assert (single[0] if name == "LSTM" else single).shape == (4,)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_finite_differences(kind):
    # two layers both ways over 6 steps (more than 4: the input is cut in blocks of steps)
    rng = np.random.default_rng(2)
    model = make(kind, 2, 3, num_layers=2, bidirectional=True, batch_first=True)
    x = f64(rng.standard_normal((2, 6, 2))).requires_grad_()
    h0 = f64(rng.standard_normal((4, 2, 3))).requires_grad_()
    c0 = f64(rng.standard_normal((4, 2, 3))).requires_grad_()

    def run(x, h0, c0):
        out, final = model(x, (h0, c0) if kind == "LSTM" else h0)
        return out.sum() + sum(t.sum() for t in (final if kind == "LSTM" else (final,)))

    assert gradcheck(run, (x, h0, c0 if kind == "LSTM" else c0.detach()))
    check_parameter_gradients(model, lambda: run(x, h0, c0))


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_modules_gradients(kind):
    rng = np.random.default_rng(5)
    cell = make(kind, 3, 2)
    x = f64(rng.standard_normal((2, 3))).requires_grad_()
    h = f64(rng.standard_normal((2, 2))).requires_grad_()
    c = f64(rng.standard_normal((2, 2))).requires_grad_()

    def step(x, h, c):
        out = cell(x, (h, c) if kind == "LSTMCell" else h)
        return out[0] * out[1] if kind == "LSTMCell" else out

    assert gradcheck(step, (x, h, c if kind == "LSTMCell" else c.detach()))
    check_parameter_gradients(cell, lambda: (step(x, h, c) ** 2).sum())


@pytest.mark.parametrize(
    ("cell", "state_count", "gates"),
    [(F.rnn_tanh_cell, 1, 1), (F.rnn_relu_cell, 1, 1), (F.lstm_cell, 2, 4), (F.gru_cell, 1, 3)],
)
def test_cell_functions_have_first_and_second_derivatives(cell, state_count, gates):
    rng = np.random.default_rng(3)

    def leaf(*shape):
        # NOTE: away from 0, where ReLU has a kink that finite differences straddle
        values = rng.uniform(0.2, 1.0, shape) * rng.choice([-1, 1], shape)
        return f64(values).requires_grad_()

    x, h, c = leaf(2, 3), leaf(2, 2), leaf(2, 2)
    weights = (leaf(gates * 2, 3), leaf(gates * 2, 2), leaf(gates * 2), leaf(gates * 2))

    def step(x, h, c, *w):
        out = cell(x, (h, c) if state_count == 2 else h, *w)
        return out[0] * out[1] if state_count == 2 else out

    inputs = (x, h, c if state_count == 2 else c.detach(), *weights)
    assert gradcheck(step, inputs)
    assert gradgradcheck(step, inputs)


def test_dropout_between_layers_only_in_training():
    rng = np.random.default_rng(4)
    with pytest.warns(UserWarning, match="dropout is applied between layers"):
        an.nn.GRU(2, 3, dropout=0.5)
    model = make("GRU", 2, 3, num_layers=3, dropout=1.0)  # p = 1: every value dropped
    x = rng.standard_normal((4, 2, 2))
    w = arrays(model)
    dropped, _, _ = recurrent("GRU", w, x, 3, False, between=lambda layer, z: np.zeros_like(z))
    np.testing.assert_allclose(model(f64(x))[0].numpy(), dropped, atol=1e-12)
    model.eval()
    kept, _, _ = recurrent("GRU", w, x, 3, False)
    np.testing.assert_allclose(model(f64(x))[0].numpy(), kept, atol=1e-12)


def test_state_dict_round_trip(tmp_path):
    an.manual_seed(0)
    model = an.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    an.save(model.state_dict(), tmp_path / "lstm.safetensors")
    an.manual_seed(1)
    twin = an.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    x = an.randn(2, 5, 3)
    assert not np.allclose(twin(x)[0].numpy(), model(x)[0].numpy())
    twin.load_state_dict(an.load(tmp_path / "lstm.safetensors"))
    (out, (h, c)), (out2, (h2, c2)) = model(x), twin(x)
    for a, b in [(out, out2), (h, h2), (c, c2)]:
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(RuntimeError, match="weight_ih_l0_reverse"):
        an.nn.LSTM(3, 4, num_layers=2).load_state_dict(model.state_dict())


def test_errors_name_the_shapes():
    lstm = an.nn.LSTM(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"LSTM: expected input of shape \(N, L, 3\)"):
        lstm(an.zeros(2, 5, 7))
    with pytest.raises(ValueError, match=r"LSTM: expected h_0 of shape \(1, 2, 4\), got \(2, 4\)"):
        lstm(an.zeros(2, 5, 3), (an.zeros(2, 4), an.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="hx must be a pair"):
        lstm(an.zeros(2, 5, 3), an.zeros(1, 2, 4))
    with pytest.raises(ValueError, match=r"GRUCell: expected input of shape \(N, 3\)"):
        an.nn.GRUCell(3, 4)(an.zeros(2, 5))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        an.nn.RNN(3, 4, nonlinearity="sigmoid")


def boxes(dot) -> list[str]:
    """The first line of every box of a drawing (a module call drawn as one node)."""
    return [label.split("\n")[0] for label in re.findall(r'call\d+ \[label="([^"]*)"', dot.source)]


def test_the_drawing_shows_one_box_per_time_step_folded():
    pytest.importorskip("graphviz")

    class Tagger(an.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = an.nn.LSTM(3, 4, num_layers=2, batch_first=True)
            self.head = an.nn.Linear(4, 2)

        def forward(self, x):
            return self.head(self.lstm(x)[0])

    model = Tagger()
    with an.viz.trace():
        loss = model(an.randn(2, 7, 3)).sum()
    layers = an.viz.draw_graph(loss, model=model, depth=1, show_data=False)
    assert boxes(layers) == ["lstm: LSTM(3, 4)", "head: Linear(4, 2)"]
    steps = an.viz.draw_graph(loss, model=model, depth=2, show_data=False)
    assert boxes(steps) == ["LSTMCell(3, 4) ×7", "LSTMCell(4, 4) ×7"]
    assert "144 parameters" in steps.source  # the cell's own, not 7 times them


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_a_cell_given_its_input_product_steps_as_from_the_input(kind):
    # how the sequence modules run: W_ih x + b_ih for every step at once, then the cell
    cell = getattr(an.nn, kind)(3, 4)
    x, h = an.randn(2, 3), an.randn(2, 4)
    state = (h, an.randn(2, 4)) if kind == "LSTMCell" else h
    product = an.nn.functional.linear(x, cell.weight_ih, cell.bias_ih)
    direct, projected = cell(x, state), cell(product, state, projected=True)
    for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (direct, projected))):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    with pytest.raises(
        ValueError, match=rf"{kind}: expected input of shape \(N, {cell.gates * 4}\)"
    ):
        cell(x, state, projected=True)
