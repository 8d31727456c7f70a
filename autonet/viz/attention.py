"""Attention maps: where each position looks, as a heat map with the tokens on the axes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from autonet.engine.tensor import Tensor
from autonet.viz.plot import _figure

__all__ = ["plot_attention"]


def plot_attention(
    weights: Any,
    tokens: Sequence[str] | None = None,
    source_tokens: Sequence[str] | None = None,
    title: str | None = None,
    annotate: bool | str = "auto",
    cmap: str = "viridis",
) -> Any:
    """A heat map of attention weights: row i shows how much query position i takes from each
    key position (each row sums to 1). Returns a ``matplotlib.figure.Figure``.

    - ``weights``: (L, S) for one map, or (heads, L, S) for one panel per head (the weights
      :class:`~autonet.nn.MultiheadAttention` returns, for one sequence; take ``[0]`` of a
      batch, and ask for ``average_attn_weights=False`` to see each head).
    - ``tokens``: the L query positions' labels (strings, or the characters of one string);
      also the keys' unless ``source_tokens`` (S labels) is given, as for cross-attention.
    - ``annotate``: write each weight in its cell (``"auto"``: when the map is at most 12×12).

    >>> import autonet as an
    >>> x = an.randn(4, 8)
    >>> mha = an.nn.MultiheadAttention(8, 2)
    >>> _, w = mha(x, x, x, is_causal=True, average_attn_weights=False)   # (2, 4, 4)
    >>> fig = an.viz.plot_attention(w, "abcd")
    >>> [ax.get_title() for ax in fig.axes if ax.get_title()]
    ['head 0', 'head 1']
    """
    w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3:
        raise ValueError(
            f"plot_attention: expected weights (L, S) or (heads, L, S), got shape {w.shape}"
        )
    heads, length, source = w.shape
    rows = list(tokens) if tokens is not None else [str(i) for i in range(length)]
    cols = list(source_tokens) if source_tokens is not None else rows
    if tokens is not None and source_tokens is None and length != source:
        raise ValueError(
            f"plot_attention: the weights are {length}×{source}; give source_tokens for the "
            f"{source} keys"
        )
    if len(rows) != length or len(cols) != source:
        raise ValueError(
            f"plot_attention: {len(rows)} query and {len(cols)} key labels for weights of shape "
            f"{w.shape[1:]}"
        )
    if annotate == "auto":
        annotate = length <= 12 and source <= 12
    side = max(2.5, 0.35 * max(length, source) + 1)
    fig = _figure(figsize=(side * heads + 0.8, side), layout="constrained")
    axes = [fig.add_subplot(1, heads, h + 1) for h in range(heads)]
    image = None
    for h, ax in enumerate(axes):
        image = ax.imshow(w[h], cmap=cmap, vmin=0.0, vmax=max(float(w.max()), 1e-12))
        ax.set_xticks(range(source), [_shown(t) for t in cols], rotation=90)
        ax.set_yticks(range(length), [_shown(t) for t in rows])
        ax.set_xlabel("key")
        if h == 0:
            ax.set_ylabel("query")
        if heads > 1:
            ax.set_title(f"head {h}")
        if annotate:
            for i in range(length):
                for j in range(source):
                    ax.text(j, i, f"{w[h, i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if w[h, i, j] < 0.5 * w.max() else "black")  # fmt: skip
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    if title:
        fig.suptitle(title)
    return fig


def _shown(token: Any) -> str:
    """A label that is visible: spaces and line breaks written out."""
    text = str(token)
    return {" ": "␣", "\n": "\\n", "\t": "\\t", "": "∅"}.get(text, text)
