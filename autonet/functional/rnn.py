"""One time step of the recurrent cells, written as forward code over engine operations.

Each function takes the input at one time step ``x`` (N, input_size), or (input_size,) for a
single sequence, the state of the step before, and the cell's weights laid out as PyTorch's:
``w_ih`` (G·hidden_size, input_size), ``w_hh`` (G·hidden_size, hidden_size), and the biases
``b_ih``, ``b_hh`` (G·hidden_size,) or ``None``, where G is the number of gates (1 for the
plain RNN, 4 for the LSTM, 3 for the GRU), stacked in PyTorch's order. The modules of
:mod:`autonet.nn.rnn` apply them at every time step; their gradients come from the engine.

With ``projected=True``, ``x`` is already the input's product ``W_ih x + b_ih`` (N,
G·hidden_size), and ``w_ih``, ``b_ih`` are not read: the modules compute that product for every
step of a sequence at once (one large matrix product instead of one small one per step), as
it does not depend on the state.
"""

from __future__ import annotations

from autonet.engine import ops
from autonet.engine.tensor import Tensor

__all__ = ["gru_cell", "lstm_cell", "rnn_relu_cell", "rnn_tanh_cell"]


def rnn_tanh_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None, *, projected: bool = False) -> Tensor:  # fmt: skip
    """Elman's recurrent step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh).

    >>> import autonet as an
    >>> F = an.nn.functional
    >>> F.rnn_tanh_cell(an.ones(1, 2), an.zeros(1, 1), an.tensor([[0.5, 0.5]]), an.ones(1, 1))
    tensor([[0.7616]])
    """
    return ops.tanh(_input_product(x, w_ih, b_ih, projected) + ops.linear(h, w_hh, b_hh))


def rnn_relu_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
                  b_hh: Tensor | None = None, *, projected: bool = False) -> Tensor:  # fmt: skip
    """The recurrent step with ReLU: h' = max(0, W_ih x + b_ih + W_hh h + b_hh).

    >>> import autonet as an
    >>> F = an.nn.functional
    >>> F.rnn_relu_cell(an.ones(1, 2), an.ones(1, 1), an.tensor([[-1.0, 0.5]]), an.ones(1, 1))
    tensor([[0.5]])
    """
    return ops.relu(_input_product(x, w_ih, b_ih, projected) + ops.linear(h, w_hh, b_hh))


def lstm_cell(x: Tensor, state: tuple[Tensor, Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Tensor | None = None, b_hh: Tensor | None = None, *, projected: bool = False
              ) -> tuple[Tensor, Tensor]:  # fmt: skip
    """One step of the LSTM (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et
    al., 2000), from ``state = (h, c)`` to ``(h', c')``. The four gates are stacked in
    PyTorch's order i, f, g, o in the rows of the weights:

        i = σ(W_ii x + b_ii + W_hi h + b_hi)      input gate: how much of g to write
        f = σ(W_if x + b_if + W_hf h + b_hf)      forget gate: how much of c to keep
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)   the candidate values
        o = σ(W_io x + b_io + W_ho h + b_ho)      output gate: how much of the cell to show
        c' = f ⊙ c + i ⊙ g
        h' = o ⊙ tanh(c')

    >>> import autonet as an
    >>> h, c = an.nn.functional.lstm_cell(an.ones(1, 3), (an.zeros(1, 2), an.zeros(1, 2)),
    ...                                   an.zeros(8, 3), an.zeros(8, 2))
    >>> h, c   # every gate at σ(0) = 0.5 and g = tanh(0) = 0: nothing is written
    (tensor([[0., 0.]]), tensor([[0., 0.]]))
    """
    h, c = state
    gates = _input_product(x, w_ih, b_ih, projected) + ops.linear(h, w_hh, b_hh)  # (N, 4·hidden)
    i, f, g, o = ops.chunk(gates, 4, axis=-1)  # (N, hidden) each
    i, f, g, o = ops.sigmoid(i), ops.sigmoid(f), ops.tanh(g), ops.sigmoid(o)
    c = f * c + i * g
    h = o * ops.tanh(c)
    return h, c


def gru_cell(x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
             b_hh: Tensor | None = None, *, projected: bool = False) -> Tensor:  # fmt: skip
    """One step of the GRU (Cho et al., 2014), gates stacked in PyTorch's order r, z, n:

        r = σ(W_ir x + b_ir + W_hr h + b_hr)              reset gate
        z = σ(W_iz x + b_iz + W_hz h + b_hz)              update gate
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))     the candidate state
        h' = (1 - z) ⊙ n + z ⊙ h

    NOTE: the reset gate multiplies W_hn h + b_hn, after the product (as PyTorch and cuDNN do),
    not h before it (as the paper does).

    >>> import autonet as an
    >>> an.nn.functional.gru_cell(an.ones(1, 2), an.ones(1, 1), an.zeros(3, 2), an.zeros(3, 1))
    tensor([[0.5]])
    """
    x_r, x_z, x_n = ops.chunk(_input_product(x, w_ih, b_ih, projected), 3, axis=-1)  # (N, hidden)
    h_r, h_z, h_n = ops.chunk(ops.linear(h, w_hh, b_hh), 3, axis=-1)
    r = ops.sigmoid(x_r + h_r)
    z = ops.sigmoid(x_z + h_z)
    n = ops.tanh(x_n + r * h_n)
    return n + z * (h - n)  # = (1 - z)·n + z·h, one operation fewer


def _input_product(x: Tensor, w_ih: Tensor, b_ih: Tensor | None, projected: bool) -> Tensor:
    """W_ih x + b_ih, unless x is that already."""
    return x if projected else ops.linear(x, w_ih, b_ih)
