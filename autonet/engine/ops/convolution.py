"""2-D convolution as three primitives, each the others' VJP.

A convolution (a cross-correlation, as in every deep-learning library) of ``x`` (N, C, H, W),
padded with zeros to x̃, with ``w`` (O, C/G, kH, kW) in G groups is

    y[n, o, p, q] = Σ_{c,i,j} w[o, c, i, j] · x̃[n, γ(o) + c, p·s₁ + i·d₁, q·s₂ + j·d₂]

(stride s, dilation d, γ(o) the first input channel of filter o's group). It is bilinear in
x and w, so its VJPs are bilinear too, and each is again one of three maps:

    y  = conv(x, w)           dL/dx = conv_transpose(g, w)    dL/dw = conv_weight(x, g)
    dx = conv_transpose(g, w) dL/dg = conv(h, w)              dL/dw = conv_weight(h, g)
    dw = conv_weight(x, g)    dL/dx = conv_transpose(g, h)    dL/dg = conv(x, h)

(h is the gradient arriving at the map's output), from ⟨h, conv(x, w)⟩ = ⟨conv_transpose(h,
w), x⟩ = ⟨conv_weight(x, h), w⟩. So the three are differentiable to any order.

Each is computed the "im2col" way: the windows of x̃ are copied into columns, one row per
(c, i, j) and one column per output position, so that the sum over (c, i, j) is a matrix
product: ``y = W @ cols``, ``dw = g @ colsᵀ``, ``dcols = Wᵀ @ g``, and the column gradients
are added back where each window came from (col2im). The columns are kept channels first,
(C·kH·kW, N·L), so that each product is one large matrix product per group (which BLAS
spreads over its threads; 64 small ones per image it does not).

Every column is one contiguous slice ("wide rows"): each padded plane is read as one flat row
of Hp·Wp values, and the kernel offset (i, j) is the shift i·d₁·Wp + j·d₂ of that row. The
output rows are computed over the padded width Wp instead of OW (the extra positions wrap
around the row's end and are dropped; their output gradient is zero), and col2im adds
contiguous slices. Two strategies, chosen by the stride:

- **stride 1**: the padded planes themselves.
- **stride s > 1** ("phases"): the padded plane is first split into its s₁·s₂ phases,
  x̃[..., a::s₁, b::s₂], each a plane of its own; the offset i·d₁ = s₁·i′ + a then reads phase
  a shifted by i′, and again every column is a contiguous slice (of a phase).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autonet.engine.function import Function, apply
from autonet.engine.ops.conv import Pair, output_size
from autonet.engine.ops.conv import values_of as _values

__all__: list[str] = []

Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


class Layout:
    """Where the windows of a convolution lie, and how columns are read and written back.

    Columns are kept channels first: ``columns(x)`` gives (C, kH, kW, N, L), for each input
    channel and kernel offset (i, j) the values that offset meets at the L = OH·Wq output
    positions of every image's wide rows (Wq: the width of a phase, Wp with stride 1).
    """

    __slots__ = ("dilation", "kernel", "out", "padding", "phase", "size", "stride")

    def __init__(self, size: Pair, kernel: Pair, stride: Pair, padding: Padding,
                 dilation: Pair) -> None:  # fmt: skip
        self.size, self.kernel, self.stride = size, kernel, stride
        self.padding, self.dilation = padding, dilation
        self.out = tuple(
            output_size(n + sum(p), k, s, d)
            for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)
        )
        # the (H, W) of a phase: the padded plane's, divided by the stride (rounded up)
        (hp, wp), (sh, sw) = self.padded, stride
        self.phase = (-(-hp // sh), -(-wp // sw))

    @property
    def padded(self) -> Pair:
        (h, w), ((t, b), (lf, r)) = self.size, self.padding
        return h + t + b, w + lf + r

    @property
    def positions(self) -> int:
        """L: how many output positions of one image a column holds (OH wide rows)."""
        return self.out[0] * self.phase[1]

    @property
    def phased(self) -> bool:
        """The strategy: split the padded planes into phases (stride > 1)."""
        return self.stride != (1, 1)

    def _extra(self) -> int:
        """Zeros after each flat phase, for the last shift of a wide row to read."""
        return self.dilation[1] * (self.kernel[1] - 1) // self.stride[1]

    def _offsets(self) -> list[tuple[int, int, tuple[int, int], slice]]:
        """(i, j, the phase, the slice of its flat row) that kernel offset (i, j) reads."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        wq, length = self.phase[1], self.positions
        offsets = []
        for i in range(kh):
            down, a = divmod(i * dh, sh)
            for j in range(kw):
                right, b = divmod(j * dw, sw)
                start = down * wq + right
                offsets.append((i, j, (a, b), slice(start, start + length)))
        return offsets

    def _buffer(self, c: int, n: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """Zeros for the flat phases (C, N, s₁, s₂, Hq·Wq + extra), and the padded planes
        (C, N, s₁·Hq, s₂·Wq) as a view of them (stride 1) or of a buffer of their own."""
        (sh, sw), (hq, wq) = self.stride, self.phase
        flat = np.zeros((c, n, sh, sw, hq * wq + self._extra()), dtype)
        if not self.phased:
            return flat, flat[..., 0, 0, : hq * wq].reshape(c, n, hq, wq)
        return flat, np.zeros((c, n, sh * hq, sw * wq), dtype)

    def _phases_of(self, planes: np.ndarray, flat: np.ndarray) -> None:
        """Copy the padded planes into their phases: flat[c, n, a, b] = planes[c, n, a::s₁,
        b::s₂] (as one row)."""
        (sh, sw), (hq, wq) = self.stride, self.phase
        c, n = planes.shape[:2]
        split = planes.reshape(c, n, hq, sh, wq, sw).transpose(0, 1, 3, 5, 2, 4)
        flat[..., : hq * wq].reshape(c, n, sh, sw, hq, wq)[...] = split

    def _planes_of(self, flat: np.ndarray, planes: np.ndarray) -> None:
        """The adjoint of :meth:`_phases_of`: the phases put back into the planes."""
        (sh, sw), (hq, wq) = self.stride, self.phase
        phases = flat[..., : hq * wq].reshape(flat.shape[:4] + (hq, wq))
        for a in range(sh):
            for b in range(sw):
                planes[..., a::sh, b::sw] = phases[:, :, a, b]

    def columns(self, x: np.ndarray) -> np.ndarray:
        """The windows of x (N, C, H, W) as columns (C, kH, kW, N, L)."""
        n, c = x.shape[:2]
        (h, w), ((t, _), (lf, _)) = self.size, self.padding
        flat, planes = self._buffer(c, n, x.dtype)
        planes[..., t : t + h, lf : lf + w] = x.transpose(1, 0, 2, 3)
        if self.phased:
            self._phases_of(planes, flat)
        cols = np.empty((c, *self.kernel, n, self.positions), x.dtype)
        for i, j, (a, b), at in self._offsets():
            cols[:, i, j] = flat[:, :, a, b, at]
        return cols

    def uncolumns(self, cols: np.ndarray) -> np.ndarray:
        """col2im, the adjoint of :meth:`columns`: each column (C, kH, kW, N, L) added back
        where its window came from, giving (N, C, H, W) (a transposed view)."""
        c, n = cols.shape[0], cols.shape[3]
        (h, w), ((t, _), (lf, _)) = self.size, self.padding
        flat, planes = self._buffer(c, n, cols.dtype)
        for i, j, (a, b), at in self._offsets():
            flat[:, :, a, b, at] += cols[:, i, j]
        if self.phased:
            self._planes_of(flat, planes)
        return planes[..., t : t + h, lf : lf + w].transpose(1, 0, 2, 3)

    def widen(self, g: np.ndarray) -> np.ndarray:
        """An output-shaped array (N, O, OH, OW) as rows (O, N·L): zeros at the wrapped
        positions of the wide rows."""
        n, o = g.shape[:2]
        (oh, ow), wq = self.out, self.phase[1]
        if wq == ow:
            return g.transpose(1, 0, 2, 3).reshape(o, n * self.positions)
        rows = np.zeros((o, n, oh, wq), g.dtype)
        rows[..., :ow] = g.transpose(1, 0, 2, 3)
        return rows.reshape(o, n * self.positions)

    def narrow(self, rows: np.ndarray, n: int) -> np.ndarray:
        """Rows (O, N·L) back to the output grid (N, O, OH, OW) (a transposed view), without
        the wrapped positions."""
        (oh, ow), o = self.out, rows.shape[0]
        return rows.reshape(o, n, oh, self.phase[1])[..., :ow].transpose(1, 0, 2, 3)


class _Convolution(Function):
    """What the three maps share: the geometry, and the grouped matrices.

    Two caches spare work the maps would do twice. ``columns`` holds x's columns from
    ``conv``'s forward until its backward, where the weight's gradient (``conv_weight(x,
    g)``) needs them again (PyTorch's im2col convolution keeps them too); ``rows`` hands the
    output gradient's rows, made once in ``conv``'s backward, to both maps it calls. NOTE:
    both are only copies of their inputs' values in another layout, never differentiated;
    with ``create_graph`` those values are still the ones they came from (the engine checks
    that nothing changed in place), so :meth:`recompute` keeps them.
    """

    __slots__ = ("columns", "dilation", "groups", "padding", "rows", "stride")
    saves_inputs = "value"
    computes = ("columns", "rows")

    def __init__(self, stride: Pair, padding: Padding, dilation: Pair, groups: int) -> None:
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.columns = self.rows = None

    def recompute(self, *xs: Any) -> None:
        pass  # the caches hold the inputs' values in another layout, not values on the graph

    def layout(self, size: Pair, kernel: Pair) -> Layout:
        return Layout(tuple(size), tuple(kernel), self.stride, self.padding, self.dilation)

    def same(self) -> dict[str, Any]:
        """The parameters, to make another of the three maps."""
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                "groups": self.groups}  # fmt: skip

    # the three maps, with this one's parameters (what each backward is written with)
    def conv(self, x: Any, w: Any) -> Any:
        return Conv2d.apply(x, w, **self.same())

    def transpose(self, g: Any, w: Any, x_shape: Any, rows: Any = None) -> Any:
        transpose = ConvTranspose2d(size=tuple(x_shape[-2:]), **self.same())
        transpose.rows = rows  # g's, if the caller has them
        return apply(transpose, g, w)

    def weight_grad(self, x: Any, g: Any, w_shape: Any, columns: Any = None,
                    rows: Any = None) -> Any:  # fmt: skip
        weight_grad = Conv2dWeight(kernel=tuple(w_shape[-2:]), **self.same())
        weight_grad.columns, weight_grad.rows = columns, rows  # x's and g's, if the caller has them
        return apply(weight_grad, x, g)

    def grouped_columns(self, layout: Layout, x: np.ndarray) -> np.ndarray:
        """(G, C/G·kH·kW, N·L): each group's columns as one matrix (x's cached columns, when
        this map has them)."""
        cols, self.columns = self.columns, None
        if cols is None:
            depth = x.shape[1] // self.groups * layout.kernel[0] * layout.kernel[1]
            cols = layout.columns(x).reshape(self.groups, depth, x.shape[0] * layout.positions)
        return cols

    def grouped_rows(self, layout: Layout, g: np.ndarray) -> np.ndarray:
        """(G, O/G, N·L): an output gradient, each group's channels as one matrix (the cached
        rows, when this map has them)."""
        rows, self.rows = self.rows, None
        if rows is None:
            depth = g.shape[1] // self.groups
            rows = layout.widen(g).reshape(self.groups, depth, g.shape[0] * layout.positions)
        return rows

    def grouped_weight(self, w: np.ndarray) -> np.ndarray:
        """(G, O/G, C/G·kH·kW): each group's filters as the rows of one matrix."""
        return w.reshape(self.groups, w.shape[0] // self.groups, w[0].size)


class Conv2d(_Convolution):
    """y = conv(x, w) (see the module docstring);
    dL/dx = conv_transpose(g, w), dL/dw = conv_weight(x, g)."""

    __slots__ = ()
    name = "conv2d"

    def forward(self, x, w):
        layout = self.layout(x.shape[-2:], w.shape[-2:])
        cols = self.columns = self.grouped_columns(layout, x)  # (G, C/G·kH·kW, N·L), kept
        rows = np.matmul(self.grouped_weight(w), cols)  # (G, O/G, N·L)
        return layout.narrow(rows.reshape(w.shape[0], x.shape[0] * layout.positions), x.shape[0])

    def backward(self, g, y, x, w):
        need_x, need_w = self.needs_input_grad
        rows = None
        if need_x and need_w:  # both maps read g's rows: make them once
            rows = self.grouped_rows(self.layout(x.shape[-2:], w.shape[-2:]), _values(g))
        gx = self.transpose(g, w, x.shape, rows) if need_x else None
        gw = self.weight_grad(x, g, w.shape, self.columns, rows) if need_w else None
        return gx, gw


class ConvTranspose2d(_Convolution):
    """dx = conv_transpose(g, w), the adjoint of conv in x: every output gradient g[n, o, p,
    q] sent back, times w[o, c, i, j], to the input position x[n, γ(o) + c, p·s₁ + i·d₁ − t,
    q·s₂ + j·d₂ − l] it came from (``size`` is x's (H, W));
    dL/dg = conv(h, w), dL/dw = conv_weight(h, g)."""

    __slots__ = ("size",)
    name = "conv_transpose2d"

    def __init__(self, size: Pair, stride: Pair, padding: Padding, dilation: Pair,
                 groups: int) -> None:  # fmt: skip
        super().__init__(stride, padding, dilation, groups)
        self.size = size

    def forward(self, g, w):
        layout = self.layout(self.size, w.shape[-2:])
        rows = self.grouped_rows(layout, g)  # (G, O/G, N·L)
        cols = np.matmul(self.grouped_weight(w).swapaxes(-1, -2), rows)  # (G, C/G·kk, N·L)
        c = self.groups * w.shape[1]
        return layout.uncolumns(cols.reshape(c, *w.shape[-2:], g.shape[0], layout.positions))

    def backward(self, h, dx, g, w):
        need_g, need_w = self.needs_input_grad
        return (self.conv(h, w) if need_g else None,
                self.weight_grad(h, g, w.shape) if need_w else None)  # fmt: skip


class Conv2dWeight(_Convolution):
    """dw = conv_weight(x, g), the adjoint of conv in w: dw[o, c, i, j] = Σ_{n,p,q} g[n, o, p,
    q] · x̃[n, γ(o) + c, p·s₁ + i·d₁, q·s₂ + j·d₂] (``kernel`` is w's (kH, kW));
    dL/dx = conv_transpose(g, h), dL/dg = conv(x, h)."""

    __slots__ = ("kernel",)
    name = "conv2d_weight"

    def __init__(self, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair,
                 groups: int) -> None:  # fmt: skip
        super().__init__(stride, padding, dilation, groups)
        self.kernel = kernel

    def forward(self, x, g):
        layout = self.layout(x.shape[-2:], self.kernel)
        cols = self.grouped_columns(layout, x)  # (G, C/G·kH·kW, N·L)
        rows = self.grouped_rows(layout, g)  # (G, O/G, N·L)
        dw = np.matmul(cols, rows.swapaxes(-1, -2))  # (G, C/G·kH·kW, O/G)
        return dw.swapaxes(-1, -2).reshape(g.shape[1], x.shape[1] // self.groups, *self.kernel)

    def backward(self, h, dw, x, g):
        need_x, need_g = self.needs_input_grad
        return (self.transpose(g, h, x.shape) if need_x else None,
                self.conv(x, h) if need_g else None)  # fmt: skip
