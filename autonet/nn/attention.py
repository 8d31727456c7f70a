"""MultiheadAttention, with PyTorch's arguments, parameters (``in_proj_weight``,
``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``), initialization and masks."""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine import ops
from autonet.engine.factories import empty
from autonet.engine.tensor import Tensor, as_tensor, wrap
from autonet.functional.attention import attention, causal_mask
from autonet.nn import init
from autonet.nn.layers import Linear
from autonet.nn.module import Module
from autonet.nn.parameter import Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Attention in ``num_heads`` heads side by side (Vaswani et al., 2017):

        head_h = Attention(Q W_qₕ, K W_kₕ, V W_vₕ),   output = concat(head_1, ..., head_H) W_o,

    each head working on embed_dim/num_heads features. The projections of query, key and
    value are stacked in ``in_proj_weight`` (3·embed_dim, embed_dim) and ``in_proj_bias``
    (3·embed_dim,), q's rows first (with ``kdim`` or ``vdim`` other than ``embed_dim``:
    ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``); ``out_proj`` is a Linear.
    Initialization as PyTorch's: Xavier-uniform projections, zero biases.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` takes (L, N, E) inputs, (N, L, E) with
    ``batch_first``, or (L, E) for one sequence, and returns ``(output, weights)``: output
    shaped like the query, weights (N, L, S) averaged over the heads, (N, heads, L, S) with
    ``average_attn_weights=False``, or None with ``need_weights=False``.

    Masks take True (or -inf) where a query may NOT look (PyTorch's convention here):
    ``key_padding_mask`` (N, S) marks padding keys, ``attn_mask`` is (L, S) or
    (N·heads, L, S), booleans or floats added to the scores; ``is_causal=True`` without an
    ``attn_mask`` hides every later position. Attention weights are dropped with probability
    ``dropout`` while training.

    >>> import autonet as an
    >>> mha = an.nn.MultiheadAttention(16, 4, batch_first=True)
    >>> x = an.randn(2, 5, 16)
    >>> out, w = mha(x, x, x)
    >>> out.shape, w.shape, [n for n, _ in mha.named_parameters()]
    ((2, 5, 16), (2, 5, 5), ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias'])
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 dtype: Any = None) -> None:  # fmt: skip
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of "
                f"num_heads ({num_heads})"
            )
        if not 0 <= dropout <= 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.dropout = dropout
        self.batch_first = batch_first
        E = embed_dim
        if self.kdim == E and self.vdim == E:
            self.in_proj_weight = Parameter(empty(3 * E, E, dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(empty(E, E, dtype=dtype))
            self.k_proj_weight = Parameter(empty(E, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(E, self.vdim, dtype=dtype))
        self.register_parameter("in_proj_bias", Parameter(empty(3 * E, dtype=dtype)) if bias
                                else None)  # fmt: skip
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                  self.v_proj_weight):  # fmt: skip
            if w is not None:
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def projections(self) -> list[tuple[Tensor, Tensor | None]]:
        """The (weight, bias) of the query's, the key's and the value's projection."""
        E = self.embed_dim
        b = self.in_proj_bias
        biases = [None] * 3 if b is None else [b[:E], b[E : 2 * E], b[2 * E :]]
        if self.in_proj_weight is not None:
            w = self.in_proj_weight
            weights = [w[:E], w[E : 2 * E], w[2 * E :]]
        else:
            weights = [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight]
        return list(zip(weights, biases))

    def forward(self, query: Any, key: Any, value: Any, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None,
                average_attn_weights: bool = True, is_causal: bool = False
                ) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
        batched = q.ndim == 3
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ValueError(
                "MultiheadAttention: query, key and value must all be (L, N, E) (batch_first: "
                f"(N, L, E)) or all (L, E), got {q.shape}, {k.shape} and {v.shape}"
            )
        if not batched:  # one sequence: a batch of one
            q, k, v = q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(_array(key_padding_mask))[None]
        elif not self.batch_first:
            q, k, v = q.swapaxes(0, 1), k.swapaxes(0, 1), v.swapaxes(0, 1)
        n, length, source = q.shape[0], q.shape[1], k.shape[1]  # (N, L, E), (N, S, kdim)
        if is_causal and attn_mask is None:
            attn_mask = ~causal_mask(length, source)  # True: may not look
        mask = self.combined_mask(attn_mask, key_padding_mask, n, length, source, q.dtype)
        (wq, bq), (wk, bk), (wv, bv) = self.projections()
        q = self.heads(ops.linear(q, wq, bq))  # (N, heads, L, head_dim)
        k = self.heads(ops.linear(k, wk, bk))  # (N, heads, S, head_dim)
        v = self.heads(ops.linear(v, wv, bv))
        p = self.dropout if self.training else 0.0
        out, weights = attention(q, k, v, mask, p)  # (N, heads, L, head_dim), (N, heads, L, S)
        out = self.out_proj(out.swapaxes(1, 2).reshape(n, length, self.embed_dim))  # (N, L, E)
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.swapaxes(0, 1)  # (L, N, E)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)  # (N, L, S)
        return out, (weights if batched else weights.squeeze(0))

    def heads(self, x: Tensor) -> Tensor:
        """(N, L, E) -> (N, heads, L, head_dim): each head's features on an axis of its own."""
        n, length, _ = x.shape
        return x.reshape(n, length, self.num_heads, self.head_dim).swapaxes(1, 2)

    def combined_mask(self, attn_mask: Any, key_padding_mask: Any, n: int, length: int,
                      source: int, dtype: Any) -> Tensor | None:  # fmt: skip
        """One mask for :func:`~autonet.functional.attention.attention`, broadcasting to
        (N, heads, L, S): booleans True where a query may look, or floats to add to the
        scores (when either mask holds floats)."""
        masks = []
        if attn_mask is not None:
            m = attn_mask if isinstance(attn_mask, Tensor) else wrap(np.asarray(attn_mask))
            if m.shape == (n * self.num_heads, length, source):
                m = m.reshape(n, self.num_heads, length, source)
            elif m.shape != (length, source):
                raise ValueError(
                    f"MultiheadAttention: attn_mask must be ({length}, {source}) or "
                    f"({n * self.num_heads}, {length}, {source}), got {m.shape}"
                )
            masks.append(m)
        if key_padding_mask is not None:
            m = key_padding_mask
            m = m if isinstance(m, Tensor) else wrap(np.asarray(m))
            if m.shape != (n, source):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must be ({n}, {source}), got {m.shape}"
                )
            masks.append(m.reshape(n, 1, 1, source))
        if not masks:
            return None
        if all(m.dtype == np.bool_ for m in masks):
            hidden = masks[0].data if len(masks) == 1 else masks[0].data | masks[1].data
            return wrap(~hidden)
        # floats: a boolean mask becomes -inf where it hides, 0 elsewhere, and the masks add
        floats = [wrap(np.where(m.data, -np.inf, 0).astype(dtype)) if m.dtype == np.bool_
                  else m.astype(dtype) for m in masks]  # fmt: skip
        return floats[0] if len(floats) == 1 else floats[0] + floats[1]

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


def _array(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value
