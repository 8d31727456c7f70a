"""Attention: every query position takes a weighted mean of the values, weighted by how well
its query matches each key (Vaswani et al., 2017, "Attention is all you need"):

    Attention(Q, K, V) = softmax(Q Kᵀ · scale + M) V,    scale = 1/√E by default,

with Q (..., L, E), K (..., S, E), V (..., S, Ev): L query positions, S key positions. The mask
M keeps a query from looking at some keys (later positions, padding). Forward code over engine
operations (matmul, where, softmax); the gradients come from the engine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autonet.engine import ops
from autonet.engine.tensor import Tensor, as_tensor, wrap
from autonet.functional.layers import dropout

__all__ = ["attention", "causal_mask", "scaled_dot_product_attention"]


def scaled_dot_product_attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(Q Kᵀ · scale + M) V, as PyTorch's: query (..., L, E), key (..., S, E), value
    (..., S, Ev) give (..., L, Ev).

    - ``attn_mask`` (broadcasting to (..., L, S)): booleans, True where a query may look at
      a key (PyTorch's convention here; ``MultiheadAttention``'s is the opposite), or floats
      added to the scores (-inf where it may not look).
    - ``is_causal``: position i looks only at positions j ≤ i (no ``attn_mask`` with it).
    - ``dropout_p``: drop attention weights with this probability (pass 0 in evaluation).
    - ``scale``: 1/√E unless given.

    A query row that may look at no key at all gets zeros (not the NaN of 0/0), as PyTorch's.

    >>> import autonet as an
    >>> F = an.nn.functional
    >>> q = k = an.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> v = an.tensor([[1.0], [2.0]])
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True)   # row 0 sees only itself
    tensor([[1.    ],
            [1.6698]])
    """
    return attention(query, key, value, attn_mask, dropout_p, is_causal, scale)[0]


def attention(
    query: Any,
    key: Any,
    value: Any,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
) -> tuple[Tensor, Tensor]:
    """:func:`scaled_dot_product_attention` and the attention weights: ``(output, weights)``
    with weights (..., L, S), each row summing to 1 (or 0 where the mask leaves no key).

    >>> import autonet as an
    >>> out, w = attention(an.ones(1, 2), an.ones(3, 2), an.arange(3.0).reshape(3, 1))
    >>> w, out                # equal scores: equal weights, the mean of the values
    (tensor([[0.3333, 0.3333, 0.3333]]), tensor([[1.]]))
    """
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise ValueError(
            f"attention: query, key and value need (..., length, features), got {q.shape}, "
            f"{k.shape} and {v.shape}"
        )
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"attention: query {q.shape} and key {k.shape} must have the same features, and "
            f"key and value {v.shape} the same length"
        )
    if is_causal:
        if attn_mask is not None:
            raise ValueError("attention: give attn_mask or is_causal=True, not both")
        attn_mask = causal_mask(q.shape[-2], k.shape[-2])
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q * scale) @ k.swapaxes(-2, -1)  # (..., L, S)
    empty = None  # rows that may look at no key, where there are any
    if attn_mask is not None:
        mask = attn_mask
        if not isinstance(mask, Tensor):  # an array: floats in the scores' dtype
            mask = np.asarray(mask)
            mask = wrap(mask if mask.dtype == np.bool_ else mask.astype(scores.dtype))
        if mask.dtype == np.bool_:
            keep = mask.data
            empty = _rows_with_none(keep)
            if empty is not None:  # NOTE: there, look everywhere (no 0/0), and zero it below
                keep = keep | empty
            scores = ops.where(keep, scores, -np.inf)
        else:
            empty = _rows_with_none(~np.isneginf(mask.data))
            if empty is not None:
                mask = ops.where(empty, 0.0, mask)
            scores = scores + mask.astype(scores.dtype)
    weights = ops.softmax(scores, axis=-1)  # (..., L, S)
    if empty is not None:
        weights = weights * (~empty).astype(weights.dtype)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ v, weights  # (..., L, Ev), (..., L, S)


def _rows_with_none(keep: np.ndarray) -> np.ndarray | None:
    """Where a row of the keep-mask keeps nothing: (..., L, 1) booleans, or None if nowhere."""
    empty = ~keep.any(axis=-1, keepdims=True)
    return empty if empty.any() else None


def causal_mask(length: int, source_length: int | None = None) -> np.ndarray:
    """(L, S) booleans, True where query i may look at key j: j ≤ i.

    >>> causal_mask(3).astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    s = length if source_length is None else source_length
    return np.tri(length, s, dtype=bool)
