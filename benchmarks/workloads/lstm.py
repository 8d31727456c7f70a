"""lstm: one LSTM layer's forward and backward over a sequence.

A batch of 32 sequences of 50 steps, 128 input features, 128 hidden units, float32, PyTorch's
layout (time first); the loss is Σ output·G for a fixed random G (so the output gradient is G),
and backward gives the gradients of the four parameters and of the input (the input requires
grad, as in a layer inside a network). The floor is the LSTM written by hand in NumPy: the
input's projection for all steps in one matrix product, the recurrence step by step, then
back through time, the weight gradients gathered in one matrix product each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, Target, assert_close, check_all

NAME = "lstm"
T, N, IN, H = 50, 32, 128, 128  # steps, batch, input features, hidden units


def inputs(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Parameters [w_ih, w_hh, b_ih, b_hh] (PyTorch's initialization), the input and G."""
    rng = np.random.default_rng(seed)
    k = 1 / np.sqrt(H)
    shapes = [(4 * H, IN), (4 * H, H), (4 * H,), (4 * H,)]
    params = [rng.uniform(-k, k, s).astype(np.float32) for s in shapes]
    x = rng.standard_normal((T, N, IN), dtype=np.float32)
    g = rng.standard_normal((T, N, H), dtype=np.float32)
    return params, x, g


# ---- the floor ------------------------------------------------------------------------------
def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def floor_forward(params: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list[Any]]:
    """The output (T, N, H) and, for backward, each step's gates and cell state."""
    w_ih, w_hh, b_ih, b_hh = params
    xw = (x.reshape(T * N, IN) @ w_ih.T + (b_ih + b_hh)).reshape(T, N, 4 * H)
    h = np.zeros((N, H), np.float32)
    c = np.zeros((N, H), np.float32)
    out = np.empty((T, N, H), np.float32)
    saved = []
    for t in range(T):
        z = xw[t] + h @ w_hh.T  # (N, 4H): gates i, f, g, o
        i, f, o = sigmoid(z[:, :H]), sigmoid(z[:, H : 2 * H]), sigmoid(z[:, 3 * H :])
        g = np.tanh(z[:, 2 * H : 3 * H])
        c_before = c
        c = f * c + i * g
        tc = np.tanh(c)
        saved.append((i, f, g, o, c_before, tc, h))
        h = o * tc
        out[t] = h
    return out, saved


def floor_step(params: list[np.ndarray], x: np.ndarray, grad: np.ndarray) -> list[np.ndarray]:
    """Forward, then the gradients [dx, dw_ih, dw_hh, db_ih, db_hh] for the output gradient."""
    w_ih, w_hh, _, _ = params
    out, saved = floor_forward(params, x)
    _ = (out * grad).sum()  # the loss, as the other sides compute it
    dz_all = np.empty((T, N, 4 * H), np.float32)
    h_before = np.empty((T, N, H), np.float32)
    dh_next = np.zeros((N, H), np.float32)
    dc_next = np.zeros((N, H), np.float32)
    for t in reversed(range(T)):
        i, f, g, o, c_before, tc, h = saved[t]
        h_before[t] = h
        dh = grad[t] + dh_next
        dc = dc_next + dh * o * (1 - tc * tc)
        dz = dz_all[t]
        dz[:, :H] = dc * g * i * (1 - i)
        dz[:, H : 2 * H] = dc * c_before * f * (1 - f)
        dz[:, 2 * H : 3 * H] = dc * i * (1 - g * g)
        dz[:, 3 * H :] = dh * tc * o * (1 - o)
        dc_next = dc * f
        dh_next = dz @ w_hh
    dz = dz_all.reshape(T * N, 4 * H)
    db = dz.sum(axis=0)
    return [
        (dz @ w_ih).reshape(T, N, IN),
        dz.T @ x.reshape(T * N, IN),
        dz.T @ h_before.reshape(T * N, H),
        db,
        db.copy(),
    ]


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    params, x0, g0 = inputs()
    lstm = an.nn.LSTM(IN, H)
    lstm.load_state_dict(dict(zip(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"],
                                  params)))  # fmt: skip
    x = an.tensor(x0, requires_grad=True)
    g = an.tensor(g0)

    def autonet_step() -> list[Any]:
        x.grad = None
        lstm.zero_grad()
        out, _ = lstm(x)
        (out * g).sum().backward()
        return [x.grad, *(p.grad for p in lstm.parameters())]

    if torch:
        tlstm = torch.nn.LSTM(IN, H)
        with torch.no_grad():
            for p, a in zip(tlstm.parameters(), params):
                p.copy_(torch.from_numpy(a))
        tx, tg = torch.tensor(x0, requires_grad=True), torch.from_numpy(g0)

        def torch_step() -> list[Any]:
            tx.grad = None
            tlstm.zero_grad()
            out, _ = tlstm(tx)
            (out * tg).sum().backward()
            return [tx.grad, *(p.grad for p in tlstm.parameters())]

    expected = floor_step(params, x0, g0)
    rel = assert_close("lstm: output", lstm(x)[0].data, floor_forward(params, x0)[0], 1e-4, 1e-5)
    got = [t.data for t in autonet_step()]
    rel = max(rel, check_all("lstm: gradients (x, w_ih, w_hh, b_ih, b_hh)", got, expected,
                             1e-3, 1e-4))  # fmt: skip
    if torch:
        check_all("lstm: torch gradients", [t.numpy() for t in torch_step()], expected, 1e-3,
                  1e-4)  # fmt: skip
    check = f"ok (max rel. diff {rel:.1g})"
    sides = {"autonet": autonet_step, "floor": lambda: floor_step(params, x0, g0)}
    if torch:
        sides["torch"] = torch_step
    medians, spreads = bench.time("lstm", sides, bench.config.pick(15, 4), warmup=1)
    ms = {side: t * 1e3 for side, t in medians.items()}
    case = f"batch {N}, {T} steps, {IN}→{H}, forward + backward"
    target = Target(1.5, against="torch") if torch else None
    return [Row(NAME, case, "ms/step", ms, target, check, spreads=spreads)]
