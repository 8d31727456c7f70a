"""Recurrent layers: RNN, LSTM and GRU, and the cells they apply at each time step.

PyTorch's arguments, parameter names (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``,
``bias_hh_l0``, and ``..._reverse`` for the backward direction), shapes, gate order (i, f, g, o
for the LSTM; r, z, n for the GRU) and initialization (every parameter from U(-1/√hidden,
1/√hidden)), so a state dict moves between autonet and PyTorch both ways.

A recurrent layer is its cell applied at every time step: ``LSTM`` calls an ``LSTMCell`` that
shares its parameters, once per step of each layer and direction. So a traced drawing shows one
box per time step (``draw_graph(..., depth=2)``), and folds a layer's steps into one box marked
×T. The math of each cell is in :mod:`autonet.functional.rnn`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from autonet import functional as F
from autonet.engine import ops
from autonet.engine.factories import empty, zeros
from autonet.engine.tensor import Tensor, as_tensor
from autonet.nn import init
from autonet.nn.module import Module
from autonet.nn.parameter import Parameter

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNCell"]

State = Any  # a cell's state: h (RNN, GRU) or the pair (h, c) (LSTM)


# ---- cells: one time step -------------------------------------------------------------------


class RNNCellBase(Module):
    """What the cells share: ``weight_ih`` (gates·hidden_size, input_size), ``weight_hh``
    (gates·hidden_size, hidden_size), ``bias_ih`` and ``bias_hh`` (gates·hidden_size,), all
    drawn from U(-1/√hidden_size, 1/√hidden_size); inputs (N, input_size) or (input_size,)."""

    gates = 1  # how many blocks of hidden_size rows the weights stack

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        rows = self.gates * hidden_size
        self.weight_ih = Parameter(empty(rows, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(rows, hidden_size, dtype=dtype))
        self.register_parameter("bias_ih", Parameter(empty(rows, dtype=dtype)) if bias else None)
        self.register_parameter("bias_hh", Parameter(empty(rows, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        reset_uniform(self, self.hidden_size)

    @classmethod
    def sharing(cls, weight_ih: Parameter, weight_hh: Parameter, bias_ih: Parameter | None,
                bias_hh: Parameter | None, **settings: Any) -> RNNCellBase:  # fmt: skip
        """A cell that uses these parameters (the same tensors, not copies): how RNN, LSTM and
        GRU apply a layer's weights at every time step.

        >>> import autonet as an
        >>> lstm = an.nn.LSTM(3, 5)
        >>> cell = an.nn.LSTMCell.sharing(lstm.weight_ih_l0, lstm.weight_hh_l0,
        ...                               lstm.bias_ih_l0, lstm.bias_hh_l0)
        >>> cell, cell.weight_hh is lstm.weight_hh_l0
        (LSTMCell(3, 5), True)
        """
        cell = cls.__new__(cls)
        Module.__init__(cell)
        cell.input_size = weight_ih.shape[1]
        cell.hidden_size = weight_hh.shape[1]
        cell.bias = bias_ih is not None
        for name, p in (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih),
                        ("bias_hh", bias_hh)):  # fmt: skip
            cell.register_parameter(name, p)
        for name, value in settings.items():
            setattr(cell, name, value)
        return cell

    def step(self, x: Tensor, state: State, projected: bool = False) -> State:
        """The cell's function of a batch of inputs (N, input_size) and the state before
        (``projected``: x is already W_ih x + b_ih, see :mod:`autonet.nn.functional.rnn`)."""
        raise NotImplementedError

    def forward(self, input: Any, hx: State | None = None, *, projected: bool = False) -> State:
        """The next state. With ``projected=True`` the input is already ``weight_ih``'s
        product with it plus ``bias_ih`` (N, gates·hidden_size): how RNN, LSTM and GRU run a
        sequence, one product for all its steps."""
        x = as_tensor(input)
        size = self.gates * self.hidden_size if projected else self.input_size
        if x.ndim not in (1, 2) or x.shape[-1] != size:
            raise ValueError(
                f"{type(self).__name__}: expected input of shape (N, {size}) or ({size},), "
                f"got {x.shape}"
            )
        batch = x.shape[0] if x.ndim == 2 else None
        hx = self.initial_state(batch, x.dtype) if hx is None else hx
        if batch is not None:
            return self.step(x, hx, projected)
        state = _map_state(hx, lambda t: as_tensor(t).unsqueeze(0))
        return _map_state(self.step(x.unsqueeze(0), state, projected), lambda t: t.squeeze(0))

    def initial_state(self, batch: int | None, dtype: Any) -> State:
        """Zeros: the state a sequence starts from unless one is given."""
        return zeros(*(() if batch is None else (batch,)), self.hidden_size, dtype=dtype)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


class RNNCell(RNNCellBase):
    """Elman's recurrent cell: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or ReLU with
    ``nonlinearity="relu"``). Called with (input, h) where h defaults to zeros; returns h'.

    >>> import autonet as an
    >>> cell = an.nn.RNNCell(3, 4)
    >>> cell.weight_ih.shape, cell.weight_hh.shape, cell(an.zeros(2, 3)).shape
    ((4, 3), (4, 4), (2, 4))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: Any = None) -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def step(self, x: Tensor, state: Tensor, projected: bool = False) -> Tensor:
        cell = F.rnn_tanh_cell if self.nonlinearity == "tanh" else F.rnn_relu_cell
        return cell(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                    projected=projected)  # fmt: skip


class LSTMCell(RNNCellBase):
    """The LSTM cell: from (input, (h, c)) to (h', c'), with the gates i, f, g, o stacked in
    that order in the rows of ``weight_ih`` (4·hidden_size, input_size) and ``weight_hh``
    (4·hidden_size, hidden_size). See :func:`autonet.nn.functional.lstm_cell` for the math.

    >>> import autonet as an
    >>> cell = an.nn.LSTMCell(3, 4)
    >>> h, c = cell(an.zeros(2, 3))   # (h, c) start at zeros unless given
    >>> cell.weight_hh.shape, h.shape, c.shape
    ((16, 4), (2, 4), (2, 4))
    """

    gates = 4

    def step(self, x: Tensor, state: tuple[Tensor, Tensor],
             projected: bool = False) -> tuple[Tensor, Tensor]:  # fmt: skip
        return F.lstm_cell(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                           projected=projected)  # fmt: skip

    def initial_state(self, batch: int | None, dtype: Any) -> tuple[Tensor, Tensor]:
        h = super().initial_state(batch, dtype)
        return h, zeros(h.shape, dtype=dtype)


class GRUCell(RNNCellBase):
    """The GRU cell: from (input, h) to h', with the gates r, z, n stacked in that order in the
    rows of ``weight_ih`` (3·hidden_size, input_size) and ``weight_hh`` (3·hidden_size,
    hidden_size). See :func:`autonet.nn.functional.gru_cell` for the math.

    >>> import autonet as an
    >>> cell = an.nn.GRUCell(3, 4)
    >>> cell.bias_hh.shape, cell(an.zeros(3), an.zeros(4)).shape   # one sequence: no batch axis
    ((12,), (4,))
    """

    gates = 3

    def step(self, x: Tensor, state: Tensor, projected: bool = False) -> Tensor:
        return F.gru_cell(x, state, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh,
                          projected=projected)  # fmt: skip


def reset_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's initialization of recurrent layers: every parameter from U(-k, k) with
    k = 1/√hidden_size."""
    bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _map_state(state: State, fn: Any) -> State:
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


# ---- layers: whole sequences -----------------------------------------------------------------


class RNNBase(Module):
    """What RNN, LSTM and GRU share: ``num_layers`` stacked layers of ``cell`` (each layer's
    outputs are the next one's inputs, with dropout between them while training), each run
    forward in time and, when ``bidirectional``, also backward (its outputs are concatenated
    to the forward ones). Inputs are (L, N, input_size), (N, L, input_size) with
    ``batch_first``, or (L, input_size) for one sequence."""

    cell: type[RNNCellBase] = RNNCell

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        name = type(self).__name__
        if not (isinstance(hidden_size, int) and hidden_size > 0):
            raise ValueError(f"{name}: hidden_size must be a positive int, got {hidden_size!r}")
        if not (isinstance(num_layers, int) and num_layers > 0):
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if not 0 <= dropout <= 1 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout is applied between layers, so dropout={dropout} does nothing "
                "with num_layers=1",
                stacklevel=2,
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        rows = self.cell.gates * hidden_size
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * self.directions
            for direction in range(self.directions):
                names = self.parameter_names(layer, direction)
                shapes = [(rows, n_in), (rows, hidden_size), (rows,), (rows,)]
                for name, shape in zip(names, shapes[: len(names)]):
                    setattr(self, name, Parameter(empty(*shape, dtype=dtype)))
        self.reset_parameters()

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    def parameter_names(self, layer: int, direction: int) -> list[str]:
        """PyTorch's names of one layer's parameters in one direction.

        >>> import autonet as an
        >>> an.nn.GRU(2, 3, bidirectional=True).parameter_names(0, 1)
        ['weight_ih_l0_reverse', 'weight_hh_l0_reverse', 'bias_ih_l0_reverse', 'bias_hh_l0_reverse']
        """
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        kinds = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        return [kind + suffix for kind in kinds]

    def reset_parameters(self) -> None:
        reset_uniform(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """Nothing to do (PyTorch packs the weights for cuDNN here); kept so that code written
        for PyTorch runs unchanged."""

    def cell_for(self, layer: int, direction: int) -> RNNCellBase:
        """The cell that runs one layer in one direction, on this layer's parameters."""
        weights = [getattr(self, name) for name in self.parameter_names(layer, direction)]
        biases = weights[2:] or [None, None]
        return self.cell.sharing(weights[0], weights[1], *biases, **self.cell_settings())

    def cell_settings(self) -> dict[str, Any]:
        return {}

    def forward(self, input: Any, hx: State | None = None) -> tuple[Tensor, State]:
        """Run every layer over the sequence; return the last layer's outputs at every step,
        (L, N, D·hidden_size) (batch first with ``batch_first``; D = 2 when bidirectional),
        and the final state of every layer and direction, (num_layers·D, N, hidden_size)."""
        x = as_tensor(input)
        name = type(self).__name__
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(N, L, {0})" if self.batch_first else "(L, N, {0})"
            raise ValueError(
                f"{name}: expected input of shape {layout.format(self.input_size)} or "
                f"(L, {self.input_size}), got {x.shape}"
            )
        batched = x.ndim == 3
        time_axis = 1 if self.batch_first and batched else 0
        if not batched:
            x = x.unsqueeze(1)  # (L, 1, input_size)
        length, batch = x.shape[time_axis], x.shape[1 - time_axis]
        if length == 0:
            raise ValueError(f"{name}: the sequence is empty (input shape {x.shape})")
        cells = [self.cell_for(layer, direction) for layer in range(self.num_layers)
                 for direction in range(self.directions)]  # fmt: skip
        if hx is None:
            states = [cell.initial_state(batch, x.dtype) for cell in cells]
        else:
            states = self.initial_states(hx, batch, batched)  # one per layer and direction
        finals = []
        for layer in range(self.num_layers):
            runs = []
            for direction in range(self.directions):
                cell = cells[layer * self.directions + direction]
                state = states[layer * self.directions + direction]
                # NOTE: W_ih x_t + b_ih does not depend on the state: one product for all steps
                products = time_steps(ops.linear(x, cell.weight_ih, cell.bias_ih), time_axis)
                outputs: list[Tensor] = [None] * length  # type: ignore[list-item]
                for t in range(length) if direction == 0 else reversed(range(length)):
                    state = cell(products[t], state, projected=True)
                    outputs[t] = state[0] if isinstance(state, tuple) else state  # h
                runs.append(outputs)
                finals.append(state)
            # (N, D·hidden) at each step, stacked: the output, and the next layer's input
            steps = runs[0] if len(runs) == 1 else [ops.cat(hs, axis=-1) for hs in zip(*runs)]
            x = ops.stack(steps, axis=time_axis)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout)
        output = x
        final = self.final_state(finals)
        if not batched:
            output = output.squeeze(1)
            final = _map_state(final, lambda t: t.squeeze(1))
        return output, final

    def initial_states(self, hx: State, batch: int, batched: bool) -> list[State]:
        """The state each layer and direction starts from, taken from ``hx``."""
        h = self.checked_state(hx, "hx", batch, batched)
        return [h[k] for k in range(h.shape[0])]

    def checked_state(self, state: Any, what: str, batch: int, batched: bool) -> Tensor:
        """``state`` as a tensor (num_layers·D, N, hidden_size), or an error naming both
        shapes."""
        state = as_tensor(state)
        count = self.num_layers * self.directions
        expected = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        if state.shape != expected:
            raise ValueError(
                f"{type(self).__name__}: expected {what} of shape {expected}, got {state.shape}"
            )
        return state if batched else state.unsqueeze(1)

    def final_state(self, finals: list[State]) -> State:
        return ops.stack(finals, axis=0)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0,
                    "bidirectional": False, "nonlinearity": "tanh"}  # fmt: skip
        for key, default in defaults.items():
            value = getattr(self, key, default)
            if value != default:
                text += f", {key}={value}"
        return text


def time_steps(x: Tensor, axis: int) -> list[Tensor]:
    """The slices of ``x`` along ``axis``, in order (the time steps of a sequence).

    NOTE: the gradient of each slice is zero but for the slice; the backward pass adds the
    slices' gradients into one array of x's size (see autonet.engine.function.Scattered), so
    a sequence of L steps costs one such array, not L.

    >>> import autonet as an
    >>> [t.tolist() for t in time_steps(an.arange(6.0).reshape(3, 2), 0)]
    [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    """
    before = (slice(None),) * axis
    return [x[before + (t,)] for t in range(x.shape[axis])]


class RNN(RNNBase):
    """A multi-layer Elman RNN: at every step h_t = tanh(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)
    (or ReLU with ``nonlinearity="relu"``). ``forward(input, h_0=None)`` returns
    ``(output, h_n)``: the last layer's h_t at every step, and every layer's last h.

    >>> import autonet as an
    >>> rnn = an.nn.RNN(10, 20, num_layers=2)
    >>> output, h_n = rnn(an.zeros(5, 3, 10))        # (L, N, input_size)
    >>> output.shape, h_n.shape, [n for n, _ in rnn.named_parameters()][:4]
    ((5, 3, 20), (2, 3, 20), ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0'])
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False,
                 dtype: Any = None) -> None:  # fmt: skip
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)  # fmt: skip

    def cell_settings(self) -> dict[str, Any]:
        return {"nonlinearity": self.nonlinearity}


class LSTM(RNNBase):
    """A multi-layer LSTM: an :class:`LSTMCell` at every step of every layer.
    ``forward(input, (h_0, c_0)=None)`` returns ``(output, (h_n, c_n))``: the last layer's h_t
    at every step, and every layer's last h and c, each (num_layers·D, N, hidden_size).

    >>> import autonet as an
    >>> lstm = an.nn.LSTM(8, 16, num_layers=2, batch_first=True, bidirectional=True)
    >>> output, (h_n, c_n) = lstm(an.zeros(4, 7, 8))    # (N, L, input_size)
    >>> output.shape, h_n.shape, lstm.weight_ih_l1_reverse.shape
    ((4, 7, 32), (4, 4, 16), (64, 32))
    """

    cell = LSTMCell

    def initial_states(self, hx: State, batch: int, batched: bool) -> list[State]:
        if not (isinstance(hx, (tuple, list)) and len(hx) == 2):
            raise ValueError("LSTM: hx must be a pair (h_0, c_0)")
        h = self.checked_state(hx[0], "h_0", batch, batched)
        c = self.checked_state(hx[1], "c_0", batch, batched)
        return [(h[k], c[k]) for k in range(h.shape[0])]

    def final_state(self, finals: list[State]) -> State:
        return ops.stack([h for h, _ in finals]), ops.stack([c for _, c in finals])


class GRU(RNNBase):
    """A multi-layer GRU: a :class:`GRUCell` at every step of every layer.
    ``forward(input, h_0=None)`` returns ``(output, h_n)``.

    >>> import autonet as an
    >>> gru = an.nn.GRU(8, 16)
    >>> output, h_n = gru(an.zeros(7, 8))     # one sequence (L, input_size)
    >>> output.shape, h_n.shape, gru.weight_hh_l0.shape
    ((7, 16), (1, 16), (48, 16))
    """

    cell = GRUCell
