"""Transformer blocks (Vaswani et al., 2017): encoder and decoder layers and stacks of them,
with PyTorch's arguments, sub-module names (``self_attn``, ``linear1``, ``norm1``, ...) and so
its state-dict keys.

An encoder layer is self-attention and a two-layer feed-forward network, each added to its
input (a residual connection) and layer-normalized: after the addition by default (the
original "post-norm" Transformer), or before the sub-layer with ``norm_first=True`` (the
"pre-norm" of GPT-2 and most models since, which trains more easily when deep)::

    post-norm:  x = norm1(x + self_attention(x));     x = norm2(x + feed_forward(x))
    pre-norm:   x = x + self_attention(norm1(x));     x = x + feed_forward(norm2(x))

A decoder layer adds, between the two, attention from its positions to the encoder's output
(``memory``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from autonet import functional as F
from autonet.engine.tensor import Tensor
from autonet.nn.attention import MultiheadAttention
from autonet.nn.containers import ModuleList
from autonet.nn.layers import Dropout, LayerNorm, Linear
from autonet.nn.module import Module

__all__ = [
    "TransformerDecoder", "TransformerDecoderLayer", "TransformerEncoder",
    "TransformerEncoderLayer",
]  # fmt: skip

ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation must be {' or '.join(map(repr, ACTIVATIONS))} or a callable, "
                f"got {activation!r}"
            )
        return ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"activation must be a name or a callable, not {type(activation).__name__}")
    return activation


class _Sublayers(Module):
    """What the encoder and decoder layers share: attention and the feed-forward network,
    each followed by its dropout (the layers' residual connections and norms are their own)."""

    def _attention(self, attention: MultiheadAttention, dropout: Dropout, x: Tensor,
                   source: Tensor, mask: Any, padding: Any, is_causal: bool) -> Tensor:  # fmt: skip
        """``dropout(attention(x, source, source))``: x's positions attend to ``source``'s."""
        out = attention(x, source, source, attn_mask=mask, key_padding_mask=padding,
                        need_weights=False, is_causal=is_causal)[0]  # fmt: skip
        return dropout(out)

    def _feed_forward(self, x: Tensor, dropout: Dropout) -> Tensor:
        return dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Sublayers):
    """Self-attention and a feed-forward network (``linear2(dropout(activation(linear1(x))))``),
    each with a residual connection, dropout and layer normalization; post-norm by default,
    pre-norm with ``norm_first=True`` (see the module docstring).

    Inputs (L, N, d_model), (N, L, d_model) with ``batch_first``, or (L, d_model).
    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: the masks are
    :class:`MultiheadAttention`'s (True where a position may NOT look); ``is_causal=True``
    without ``src_mask`` lets each position look only at itself and earlier ones.

    >>> import autonet as an
    >>> layer = an.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32,
    ...                                       batch_first=True)
    >>> layer(an.randn(2, 5, 16), is_causal=True).shape
    (2, 5, 16)
    >>> [name for name, _ in layer.named_children()]
    ['self_attn', 'linear1', 'dropout', 'linear2', 'norm1', 'norm2', 'dropout1', 'dropout2']
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)  # fmt: skip
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:  # fmt: skip
        masks = (src_mask, src_key_padding_mask, is_causal)

        def attend(x: Tensor) -> Tensor:
            return self._attention(self.self_attn, self.dropout1, x, x, *masks)

        x = src
        if self.norm_first:
            x = x + attend(self.norm1(x))
            x = x + self._feed_forward(self.norm2(x), self.dropout2)
        else:
            x = self.norm1(x + attend(x))
            x = self.norm2(x + self._feed_forward(x, self.dropout2))
        return x


class TransformerDecoderLayer(_Sublayers):
    """Self-attention over the target, attention from the target to the encoder's output
    (``memory``), and a feed-forward network, each with a residual connection, dropout and
    layer normalization (``norm1``, ``norm2``, ``norm3``); post-norm by default, pre-norm with
    ``norm_first=True``.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``.

    >>> import autonet as an
    >>> layer = an.nn.TransformerDecoderLayer(16, 4, dim_feedforward=32, batch_first=True)
    >>> layer(an.randn(2, 5, 16), an.randn(2, 7, 16), tgt_is_causal=True).shape
    (2, 5, 16)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable[[Tensor], Tensor] = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first)  # fmt: skip
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first)  # fmt: skip
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:  # fmt: skip
        masks = (tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        memory_masks = (memory_mask, memory_key_padding_mask, memory_is_causal)

        def attend(x: Tensor) -> Tensor:
            return self._attention(self.self_attn, self.dropout1, x, x, *masks)

        def recall(x: Tensor) -> Tensor:  # attention to the encoder's output
            return self._attention(self.multihead_attn, self.dropout2, x, memory, *memory_masks)

        x = tgt
        if self.norm_first:
            x = x + attend(self.norm1(x))
            x = x + recall(self.norm2(x))
            x = x + self._feed_forward(self.norm3(x), self.dropout3)
        else:
            x = self.norm1(x + attend(x))
            x = self.norm2(x + recall(x))
            x = self.norm3(x + self._feed_forward(x, self.dropout3))
        return x


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (each with parameters of its own, in
    ``layers``), applied in turn, then ``norm`` if given.
    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=False)``.

    >>> import autonet as an
    >>> layer = an.nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, norm_first=True)
    >>> encoder = an.nn.TransformerEncoder(layer, num_layers=3, norm=an.nn.LayerNorm(16))
    >>> encoder(an.randn(5, 2, 16)).shape, list(encoder.state_dict())[0]
    ((5, 2, 16), 'layers.0.self_attn.in_proj_weight')
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:  # fmt: skip
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:  # fmt: skip
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)  # fmt: skip
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` (in ``layers``), each attending to the same
    ``memory``, then ``norm`` if given. ``forward(tgt, memory, tgt_mask=None,
    memory_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    tgt_is_causal=False, memory_is_causal=False)``.

    >>> import autonet as an
    >>> layer = an.nn.TransformerDecoderLayer(16, 4, dim_feedforward=32)
    >>> an.nn.TransformerDecoder(layer, 2)(an.randn(5, 2, 16), an.randn(7, 2, 16)).shape
    (5, 2, 16)
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:  # fmt: skip
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask: Any = None, memory_mask: Any = None,
                tgt_key_padding_mask: Any = None, memory_key_padding_mask: Any = None,
                tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:  # fmt: skip
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                      memory_key_padding_mask, tgt_is_causal, memory_is_causal)  # fmt: skip
        return x if self.norm is None else self.norm(x)
