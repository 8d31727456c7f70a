"""Pooling: the maximum or the (weighted) sum of every window, as primitives.

Both are reductions over the windows that :func:`~autonet.engine.ops.conv.unfold` gathers,

    y[..., p, q] = max or Σ over (i, j) of x[..., p·s₁ + i·d₁, q·s₂ + j·d₂],

computed without gathering them: one pass over the strided view ``x[..., i·d₁::s₁,
j·d₂::s₂]`` per kernel offset (i, j), each the size of the output, combined with
``np.maximum`` or ``+``. (A reduction over the small window axes of an unfolded view, or of a
reshape into blocks, walks the data in steps of kH·kW elements and is several times slower.)

The window sum, with fixed weights a[i, j] per window element, is linear in x; its VJP
spreads each window's gradient back over the window with the same weights:
``window_spread``, linear too, whose VJP is the weighted window sum again (as ``unfold`` and
``fold`` are each other's). The window maximum's VJP is a spread whose weights send each
window's gradient to the elements equal to its maximum, so it is differentiable again in g.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.ops.conv import Pair, output_size
from autonet.engine.ops.conv import values_of as _values

__all__: list[str] = []


class _Windows(Function):
    """What the pooling primitives share: the windows' geometry."""

    __slots__ = ("dilation", "kernel_size", "stride")
    saves_inputs = "shape"

    def __init__(self, kernel_size: Pair, stride: Pair, dilation: Pair) -> None:
        self.kernel_size = kernel_size
        self.stride = stride
        self.dilation = dilation

    def out_size(self, size: Any) -> Pair:
        return tuple(
            output_size(n, k, s, d)
            for n, k, s, d in zip(size, self.kernel_size, self.stride, self.dilation)
        )

    def views(self, x: np.ndarray, out: Pair) -> list[tuple[int, int, np.ndarray]]:
        """(i, j, x[..., i·d₁::s₁, j·d₂::s₂] cut to the output's size) for each offset."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        oh, ow = out
        return [(i, j, x[..., i * dh : i * dh + sh * (oh - 1) + 1 : sh,
                           j * dw : j * dw + sw * (ow - 1) + 1 : sw])
                for i in range(kh) for j in range(kw)]  # fmt: skip

    def tiles(self) -> bool:
        """True when the windows tile the input: stride = kernel, no dilation."""
        return self.stride == self.kernel_size and self.dilation == (1, 1)


class WindowSum(_Windows):
    """y[..., p, q] = Σ_{i,j} a[i, j, ..., p, q] · x[..., p·s₁ + i·d₁, q·s₂ + j·d₂], for fixed
    weights a of shape (kH, kW, ..., OH, OW) (1 when not given);
    dL/dx = window_spread(g, a): each element receives the gradients of the windows it is in,
    times its weight in each."""

    __slots__ = ()
    name = "window_sum"
    saves_inputs = ("shape", "value")  # x's shape; the weights

    def forward(self, x, weights=None):
        views = self.views(x, self.out_size(x.shape[-2:]))
        if weights is None:
            total = views[0][2] + views[1][2] if len(views) > 1 else views[0][2].copy()
            for _, _, v in views[2:]:
                total += v
            return total
        total = views[0][2] * weights[0, 0]
        for i, j, v in views[1:]:
            total += v * weights[i, j]
        return total

    def backward(self, g, y, x, weights=None):
        spread = WindowSpread(tuple(x.shape[-2:]), self.kernel_size, self.stride, self.dilation)
        if weights is None:
            return (apply(spread, g),)
        return apply(spread, g, weights), None


class WindowSpread(_Windows):
    """y = zeros(..., H, W) with a[i, j, ..., p, q] · g[..., p, q] added at the element (i, j)
    of every window (p, q), for fixed weights a (1 when not given):
    y[..., a, b] = Σ over the windows (p, q) that hold (a, b) of a · g[..., p, q];
    dL/dg = window_sum(h, a)."""

    __slots__ = ("size",)
    name = "window_spread"
    saves_inputs = ("nothing", "value")  # the weights

    def __init__(self, size: Pair, kernel_size: Pair, stride: Pair, dilation: Pair) -> None:
        super().__init__(kernel_size, stride, dilation)
        self.size = size

    def forward(self, g, weights=None):
        grid = tuple(g.shape[-2:])
        kh, kw = self.kernel_size
        # NOTE: tiling windows that cover the whole input write every element exactly once.
        whole = self.tiles() and (grid[0] * kh, grid[1] * kw) == self.size
        out = (np.empty if whole else np.zeros)(g.shape[:-2] + self.size, g.dtype)
        tiles = self.tiles()
        for i, j, v in self.views(out, grid):
            if not tiles:  # overlapping windows: add up
                v += g if weights is None else g * weights[i, j]
            elif weights is None:  # each element in one window: write
                v[...] = g
            else:
                np.multiply(g, weights[i, j], out=v)
        return out

    def backward(self, h, y, g, weights=None):
        window_sum = WindowSum(self.kernel_size, self.stride, self.dilation)
        if weights is None:
            return (apply(window_sum, h),)
        return apply(window_sum, h, weights), None


class WindowMax(_Windows):
    """y[..., p, q] = max_{i,j} x[..., p·s₁ + i·d₁, q·s₂ + j·d₂];
    dL/dx = window_spread(g, a), where a[i, j, ..., p, q] is 1/m when x's element (i, j) of
    window (p, q) is one of the m equal to its maximum, else 0.

    NOTE: elements that tie for a window's maximum share its gradient equally, and a NaN is
    the maximum of the values it is among (the engine's rule for ``max``)."""

    __slots__ = ()
    name = "window_max"
    saves_inputs = "value"
    saves_output = True

    def forward(self, x):
        views = self.views(x, self.out_size(x.shape[-2:]))
        if len(views) == 1:
            return views[0][2].copy()
        top = np.maximum(views[0][2], views[1][2])
        for _, _, v in views[2:]:
            np.maximum(top, v, out=top)
        return top

    def backward(self, g, y, x):
        x, y = _values(x), _values(y)
        wins = np.empty(self.kernel_size + y.shape, bool)  # (kH, kW, ..., OH, OW)
        nan = np.isnan(y).any()
        for i, j, v in self.views(x, y.shape[-2:]):
            np.equal(v, y, out=wins[i, j])
            if nan:
                wins[i, j] |= np.isnan(v)
        # Every window has at least one maximal element, so there are ties exactly when the
        # maximal elements outnumber the windows; without ties the 0/1 mask is the share.
        share = wins
        if np.count_nonzero(wins) > y.size:
            share = wins / wins.sum(axis=(0, 1), dtype=y.dtype)
        spread = WindowSpread(tuple(x.shape[-2:]), self.kernel_size, self.stride, self.dilation)
        return (apply(spread, g, share),)
