"""Plain NumPy references for the recurrent, attention and Transformer modules, written from
the equations of PyTorch's documentation with explicit loops over layers, directions, time
steps, batch items and heads (nothing shared with autonet's code), and a finite-difference
check of a module's parameter gradients."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

import autonet as an


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def gelu(z: np.ndarray) -> np.ndarray:
    return z * 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def arrays(module: an.nn.Module) -> dict[str, np.ndarray]:
    """The module's state as float64 arrays, by PyTorch's names."""
    return {k: v.numpy().astype(np.float64) for k, v in module.state_dict().items()}


# ---- recurrent layers -------------------------------------------------------------------------


def cell_step(kind: str, x: np.ndarray, h: np.ndarray, c: np.ndarray, w: dict[str, np.ndarray],
              suffix: str = "", nonlinearity: str = "tanh"
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One time step of a cell from the batch x (N, I) and the state (h, c); c is unused but
    by the LSTM. ``w`` holds weight_ih{suffix}, ... (biases may be missing)."""
    gi = x @ w["weight_ih" + suffix].T + w.get("bias_ih" + suffix, 0.0)
    gh = h @ w["weight_hh" + suffix].T + w.get("bias_hh" + suffix, 0.0)
    H = h.shape[-1]
    if kind == "RNN":
        return (np.tanh if nonlinearity == "tanh" else relu)(gi + gh), c
    if kind == "LSTM":
        z = gi + gh
        i, f, g, o = (z[:, k * H : (k + 1) * H] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    r = sigmoid(gi[:, :H] + gh[:, :H])
    u = sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    return (1 - u) * n + u * h, c


def recurrent(kind: str, w: dict[str, np.ndarray], x: np.ndarray, num_layers: int,
              bidirectional: bool, h0: np.ndarray | None = None, c0: np.ndarray | None = None,
              nonlinearity: str = "tanh", between: Callable | None = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Output (T, N, D·H), h_n and c_n (layers·D, N, H) of a time-major batch x (T, N, I).
    ``between(layer, inputs)`` changes a layer's outputs before the next layer (dropout)."""
    T, N, _ = x.shape
    H = w["weight_hh_l0"].shape[1]
    D = 2 if bidirectional else 1
    inputs = x
    h_n, c_n = [], []
    for layer in range(num_layers):
        outputs = []
        for d in range(D):
            suffix = f"_l{layer}" + ("_reverse" if d else "")
            k = layer * D + d
            h = np.zeros((N, H)) if h0 is None else h0[k]
            c = np.zeros((N, H)) if c0 is None else c0[k]
            out = np.zeros((T, N, H))
            for t in range(T) if d == 0 else reversed(range(T)):
                h, c = cell_step(kind, inputs[t], h, c, w, suffix, nonlinearity)
                out[t] = h
            outputs.append(out)
            h_n.append(h)
            c_n.append(c)
        inputs = np.concatenate(outputs, axis=-1)
        if between is not None and layer < num_layers - 1:
            inputs = between(layer, inputs)
    return inputs, np.stack(h_n), np.stack(c_n)


# ---- attention --------------------------------------------------------------------------------


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, keep: np.ndarray | None = None,
              add: np.ndarray | None = None, scale: float | None = None
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One head, one sequence: q (L, E), k (S, E), v (S, Ev); ``keep`` (L, S) booleans (True:
    may look), ``add`` (L, S) added to the scores. A row that keeps nothing gets zeros."""
    L, S = q.shape[0], k.shape[0]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    weights = np.zeros((L, S))
    for i in range(L):
        scores = np.array([q[i] @ k[j] * scale for j in range(S)])
        if add is not None:
            scores = scores + add[i]
        allowed = np.ones(S, bool) if keep is None else keep[i].copy()
        allowed &= ~np.isneginf(scores)
        if allowed.any():
            weights[i, allowed] = softmax(scores[allowed])
    return weights @ v, weights


def multihead(w: dict[str, np.ndarray], query: np.ndarray, key: np.ndarray, value: np.ndarray,
              num_heads: int, keep: np.ndarray | None = None, add: np.ndarray | None = None,
              prefix: str = "") -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Multi-head attention of batch-first inputs (N, L, E), (N, S, kdim), (N, S, vdim), with
    per-item, per-head masks keep/add (N, heads, L, S): the output (N, L, E) and the weights
    (N, heads, L, S)."""
    E = query.shape[-1]
    hd = E // num_heads
    if prefix + "in_proj_weight" in w:
        wq, wk, wv = np.split(w[prefix + "in_proj_weight"], 3)
    else:
        wq, wk, wv = (w[prefix + f"{n}_proj_weight"] for n in "qkv")
    bq, bk, bv = np.split(w.get(prefix + "in_proj_bias", np.zeros(3 * E)), 3)
    N, L, S = query.shape[0], query.shape[1], key.shape[1]
    out = np.zeros((N, L, E))
    weights = np.zeros((N, num_heads, L, S))
    for n in range(N):
        q, k, v = query[n] @ wq.T + bq, key[n] @ wk.T + bk, value[n] @ wv.T + bv
        heads = []
        for h in range(num_heads):
            cols = slice(h * hd, (h + 1) * hd)
            o, weights[n, h] = attention(
                q[:, cols], k[:, cols], v[:, cols],
                None if keep is None else keep[n, h], None if add is None else add[n, h],
            )  # fmt: skip
            heads.append(o)
        out[n] = np.concatenate(heads, axis=-1) @ w[prefix + "out_proj.weight"].T
        out[n] += w.get(prefix + "out_proj.bias", 0.0)
    return out, weights


# ---- Transformer layers -----------------------------------------------------------------------


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | float = 0.0,
               eps: float = 1e-5) -> np.ndarray:  # fmt: skip
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def encoder_layer(w: dict[str, np.ndarray], x: np.ndarray, num_heads: int, norm_first: bool,
                  activation: Callable, keep: np.ndarray | None = None, prefix: str = ""
                  ) -> np.ndarray:  # fmt: skip
    """A Transformer encoder layer on batch-first x (N, L, E), without dropout."""

    def norm(k: int, z: np.ndarray) -> np.ndarray:
        return layer_norm(z, w[f"{prefix}norm{k}.weight"], w.get(f"{prefix}norm{k}.bias", 0.0))

    def attend(z: np.ndarray) -> np.ndarray:
        return multihead(w, z, z, z, num_heads, keep, prefix=prefix + "self_attn.")[0]

    def feed_forward(z: np.ndarray) -> np.ndarray:
        hidden = activation(z @ w[prefix + "linear1.weight"].T + w.get(prefix + "linear1.bias", 0))
        return hidden @ w[prefix + "linear2.weight"].T + w.get(prefix + "linear2.bias", 0)

    if norm_first:
        x = x + attend(norm(1, x))
        return x + feed_forward(norm(2, x))
    x = norm(1, x + attend(x))
    return norm(2, x + feed_forward(x))


def decoder_layer(w: dict[str, np.ndarray], x: np.ndarray, memory: np.ndarray, num_heads: int,
                  norm_first: bool, activation: Callable, keep: np.ndarray | None = None,
                  memory_keep: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """A Transformer decoder layer on batch-first x (N, L, E) and memory (N, S, E)."""

    def norm(k: int, z: np.ndarray) -> np.ndarray:
        return layer_norm(z, w[f"norm{k}.weight"], w[f"norm{k}.bias"])

    def attend(z: np.ndarray) -> np.ndarray:
        return multihead(w, z, z, z, num_heads, keep, prefix="self_attn.")[0]

    def attend_memory(z: np.ndarray) -> np.ndarray:
        return multihead(w, z, memory, memory, num_heads, memory_keep, prefix="multihead_attn.")[0]

    def feed_forward(z: np.ndarray) -> np.ndarray:
        hidden = activation(z @ w["linear1.weight"].T + w["linear1.bias"])
        return hidden @ w["linear2.weight"].T + w["linear2.bias"]

    if norm_first:
        x = x + attend(norm(1, x))
        x = x + attend_memory(norm(2, x))
        return x + feed_forward(norm(3, x))
    x = norm(1, x + attend(x))
    x = norm(2, x + attend_memory(x))
    return norm(3, x + feed_forward(x))


# ---- parameter gradients ----------------------------------------------------------------------


def check_parameter_gradients(module: an.nn.Module, loss: Callable[[], an.Tensor],
                              eps: float = 1e-6, rtol: float = 1e-5,
                              atol: float = 1e-8) -> None:  # fmt: skip
    """Every parameter's gradient from ``loss().backward()`` against central differences of
    ``loss`` in each parameter element (the module in float64)."""
    module.zero_grad()
    loss().backward()
    for name, p in module.named_parameters():
        assert p.dtype == np.float64, f"{name}: make the module float64 first"
        numeric = np.zeros(p.shape)
        for index in np.ndindex(*p.shape):
            kept = p.data[index]
            p.data[index] = kept + eps
            up = loss().item()
            p.data[index] = kept - eps
            down = loss().item()
            p.data[index] = kept
            numeric[index] = (up - down) / (2 * eps)
        np.testing.assert_allclose(p.grad.numpy(), numeric, rtol=rtol, atol=atol, err_msg=name)
