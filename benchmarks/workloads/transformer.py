"""transformer: one Transformer encoder layer's forward and backward.

A batch of 16 sequences of 64 positions, width 128, 4 heads, a feed-forward layer of 512
(4 × width), ReLU, post-norm (PyTorch's defaults otherwise), no dropout, float32, batch first;
the loss is Σ y·G for a fixed random G, and backward gives the gradients of the twelve
parameters and of the input. The floor is the layer written by hand in NumPy: the attention's
softmax and its gradient, the two layer norms and their gradients, with every matrix product
batched over the heads.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, Target, assert_close, check_all

NAME = "transformer"
B, L, E, HEADS, FF = 16, 64, 128, 4, 512
D = E // HEADS
EPS = 1e-5


def make_layer() -> an.nn.TransformerEncoderLayer:
    an.manual_seed(0)
    return an.nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=FF, dropout=0.0,
                                         batch_first=True)  # fmt: skip


def inputs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((B, L, E), dtype=np.float32),
            rng.standard_normal((B, L, E), dtype=np.float32))  # fmt: skip


# ---- the floor ------------------------------------------------------------------------------
def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, Any]:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    rstd = 1 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + EPS)
    xhat = centred * rstd
    return xhat * w + b, (xhat, rstd, w)


def layer_norm_backward(dy: np.ndarray, saved: Any) -> tuple[np.ndarray, ...]:
    xhat, rstd, w = saved
    dxhat = dy * w
    dx = rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))  # fmt: skip
    return dx, (dy * xhat).sum(axis=0), dy.sum(axis=0)


def heads(z: np.ndarray) -> np.ndarray:
    """(B·L, E) rows -> (B, HEADS, L, D), contiguous (a matrix product of strided views is
    slower)."""
    return np.ascontiguousarray(z.reshape(B, L, HEADS, D).transpose(0, 2, 1, 3))


def merged(z: np.ndarray) -> np.ndarray:
    """(B, HEADS, L, D) -> (B·L, E) rows."""
    return z.transpose(0, 2, 1, 3).reshape(B * L, E)


def floor_forward(p: list[np.ndarray], x: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """The output (B, L, E) and what backward needs; every linear map on (B·L, ·) rows."""
    w_in, b_in, w_o, b_o, w1, c1, w2, c2, g1, n1, g2, n2 = p
    rows = x.reshape(B * L, E)
    qkv = rows @ w_in.T + b_in  # (B·L, 3E)
    q, k, v = (heads(qkv[:, j * E : (j + 1) * E]) for j in range(3))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(D)  # (B, HEADS, L, L)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs = e / e.sum(axis=-1, keepdims=True)
    a = merged(probs @ v)  # (B·L, E)
    y1, ln1 = layer_norm(rows + a @ w_o.T + b_o, g1, n1)
    hidden = np.maximum(y1 @ w1.T + c1, 0)  # (B·L, FF)
    y, ln2 = layer_norm(y1 + hidden @ w2.T + c2, g2, n2)
    saved = {"rows": rows, "q": q, "k": k, "v": v, "probs": probs, "a": a, "y1": y1,
             "hidden": hidden, "ln1": ln1, "ln2": ln2}  # fmt: skip
    return y.reshape(B, L, E), saved


def floor_step(p: list[np.ndarray], x: np.ndarray, grad: np.ndarray) -> list[np.ndarray]:
    """Forward, then the gradients [dx, then every parameter's, in the layer's order]."""
    w_in, w_o, w1, w2 = p[0], p[2], p[4], p[6]
    y, s = floor_forward(p, x)
    _ = (y * grad).sum()  # the loss, as the other sides compute it
    dr2, dg2, dn2 = layer_norm_backward(grad.reshape(B * L, E), s["ln2"])
    dw2 = dr2.T @ s["hidden"]
    dc2 = dr2.sum(axis=0)
    dhidden = (dr2 @ w2) * (s["hidden"] > 0)
    dw1 = dhidden.T @ s["y1"]
    dc1 = dhidden.sum(axis=0)
    dr1, dg1, dn1 = layer_norm_backward(dr2 + dhidden @ w1, s["ln1"])
    dw_o = dr1.T @ s["a"]
    db_o = dr1.sum(axis=0)
    da = heads(dr1 @ w_o)  # (B, HEADS, L, D)
    probs, q, k, v = s["probs"], s["q"], s["k"], s["v"]
    dprobs = da @ v.transpose(0, 1, 3, 2)
    dv = probs.transpose(0, 1, 3, 2) @ da
    dscores = probs * (dprobs - (dprobs * probs).sum(axis=-1, keepdims=True)) / math.sqrt(D)
    dq = dscores @ k
    dk = dscores.transpose(0, 1, 3, 2) @ q
    dqkv = np.concatenate([merged(dq), merged(dk), merged(dv)], axis=1)  # (B·L, 3E)
    dw_in = dqkv.T @ s["rows"]
    db_in = dqkv.sum(axis=0)
    dx = (dr1 + dqkv @ w_in).reshape(B, L, E)
    return [dx, dw_in, db_in, dw_o, db_o, dw1, dc1, dw2, dc2, dg1, dn1, dg2, dn2]


def run(bench: Bench) -> list[Row]:
    torch = bench.config.torch
    layer = make_layer()
    params = [p.numpy().copy() for p in layer.parameters()]
    x0, g0 = inputs()
    x = an.tensor(x0, requires_grad=True)
    g = an.tensor(g0)

    def autonet_step() -> list[Any]:
        x.grad = None
        layer.zero_grad()
        (layer(x) * g).sum().backward()
        return [x.grad, *(p.grad for p in layer.parameters())]

    if torch:
        tlayer = torch.nn.TransformerEncoderLayer(E, HEADS, dim_feedforward=FF, dropout=0.0,
                                                  batch_first=True)  # fmt: skip
        tlayer.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                                for k, v in layer.state_dict().items()})  # fmt: skip
        tx, tg = torch.tensor(x0, requires_grad=True), torch.from_numpy(g0)

        def torch_step() -> list[Any]:
            tx.grad = None
            tlayer.zero_grad()
            (tlayer(tx) * tg).sum().backward()
            return [tx.grad, *(p.grad for p in tlayer.parameters())]

    expected = floor_step(params, x0, g0)
    rel = assert_close("transformer: output", layer(x).data, floor_forward(params, x0)[0],
                       1e-3, 1e-4)  # fmt: skip
    got = [t.data for t in autonet_step()]
    rel = max(rel, check_all("transformer: gradients (x, then parameters)", got, expected,
                             1e-2, 1e-3))  # fmt: skip
    if torch:
        check_all("transformer: torch gradients", [t.numpy() for t in torch_step()], expected,
                  1e-2, 1e-3)  # fmt: skip
    check = f"ok (max rel. diff {rel:.1g})"
    sides = {"autonet": autonet_step, "floor": lambda: floor_step(params, x0, g0)}
    if torch:
        sides["torch"] = torch_step
    medians, spreads = bench.time("transformer", sides, bench.config.pick(15, 4), warmup=1)
    ms = {side: t * 1e3 for side, t in medians.items()}
    case = f"batch {B}, length {L}, width {E}, {HEADS} heads, ff {FF}, forward + backward"
    target = Target(1.5, against="torch") if torch else None
    return [Row(NAME, case, "ms/step", ms, target, check, spreads=spreads)]
