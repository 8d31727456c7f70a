"""conv2d: a convolution layer's forward and backward, at three places in an image network.

Batches of 64 float32 images through 3×3 filters with padding 1:

- 1→16 channels on 28×28, stride 1: the first layer of an MNIST network;
- 16→32 channels on 14×14, stride 1: a deeper layer;
- 16→32 channels on 28×28, stride 2: a strided (down-sampling) layer.

The loss is Σ y·G for a fixed random G (so the output gradient is G), and backward gives the
weight's, the bias's and the input's gradients (the input requires grad, so the whole VJP is
timed, as in a deeper layer).

The floor is the fastest NumPy found for it: im2col with the columns kept channels first,
(C·kH·kW, N·L), so that the forward and each gradient is one large matrix product (BLAS uses
both threads on it, which it does not on 64 small per-image products); the columns are
computed once and serve the forward and the weight's gradient. With stride 1 each padded
plane is read as one flat row, so every column is a contiguous shifted slice of it (the
output rows are computed over the padded width and the extra positions dropped), and col2im
adds contiguous slices; with stride 2 the padded plane is first split into its four phases
(x̃[..., a::2, b::2]), and the columns are contiguous shifted slices of the phases. The
input's gradient is col2im of Wᵀ·G. (Tried and slower: the columns per image, (N, C·kH·kW,
L), with 64 small products; the weight gradient by ``einsum``/``tensordot`` over the
windows; the input gradient as a convolution of the padded G with the flipped kernel, whose
columns are twice as many for 16→32; for one input channel, a sum of nine shifted views
times the weights; with stride 2, columns as strided views of the padded planes.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, Target, assert_close, check_all

NAME = "conv2d"
N, K, PADDING = 64, 3, 1
CASES = [(1, 16, 28, 1), (16, 32, 14, 1), (16, 32, 28, 2)]  # (C_in, C_out, size, stride)


def inputs(c_in: int, c_out: int, size: int, stride: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(c_in * K * K)  # PyTorch's default initialization of Conv2d
    x = rng.random((N, c_in, size, size), dtype=np.float32)
    w = rng.uniform(-bound, bound, (c_out, c_in, K, K)).astype(np.float32)
    b = rng.uniform(-bound, bound, c_out).astype(np.float32)
    out = (size + 2 * PADDING - K) // stride + 1
    g = rng.standard_normal((N, c_out, out, out)).astype(np.float32)
    return x, w, b, g


# ---- the floor: im2col, channels first --------------------------------------------------------
class Geometry:
    """Where the windows of x (N, C, H, W) lie for a K×K kernel, padding P and stride S.

    The padded planes are split into their S² phases (x̃[..., a::S, b::S]; with stride 1 the
    one phase is the plane itself), each flattened to one row; kernel offset i = S·i′ + a
    then reads phase (a, b) shifted by i′ rows and j′ columns, a contiguous slice of L =
    OH·Wq values (Wq: a phase's width; the positions past OW wrap and are dropped).
    """

    def __init__(self, x_shape: tuple[int, ...], stride: int) -> None:
        self.n, self.c, self.h, self.w = x_shape
        self.stride = s = stride
        hp, wp = self.h + 2 * PADDING, self.w + 2 * PADDING
        self.oh, self.ow = (hp - K) // s + 1, (wp - K) // s + 1
        self.hq, self.wq = -(-hp // s), -(-wp // s)  # a phase's size
        self.length = self.oh * self.wq  # L, per image
        self.extra = (K - 1) // s  # zeros after each flat phase, for the last shift

    def buffers(self, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """Zeros for the flat phases (C, N, S, S, Hq·Wq + extra), and for the padded planes
        (C, N, S·Hq, S·Wq) (with stride 1 a view of the phase)."""
        s, hq, wq = self.stride, self.hq, self.wq
        flat = np.zeros((self.c, self.n, s, s, hq * wq + self.extra), dtype)
        if s == 1:
            return flat, flat[:, :, 0, 0, : hq * wq].reshape(self.c, self.n, hq, wq)
        return flat, np.zeros((self.c, self.n, s * hq, s * wq), dtype)

    def phases(self, flat: np.ndarray) -> np.ndarray:
        """The flat phases as (C, N, S, S, Hq, Wq)."""
        return flat[..., : self.hq * self.wq].reshape(flat.shape[:4] + (self.hq, self.wq))

    def offset(self, i: int, j: int) -> tuple[int, int, slice]:
        """The phase (a, b) and the slice of its flat row that kernel offset (i, j) reads."""
        (down, a), (right, b) = divmod(i, self.stride), divmod(j, self.stride)
        start = down * self.wq + right
        return a, b, slice(start, start + self.length)

    def columns(self, x: np.ndarray) -> np.ndarray:
        """(C·K·K, N·L): for every input channel and kernel offset, what it meets at every
        output position."""
        s, (c, n), (hq, wq) = self.stride, (self.c, self.n), (self.hq, self.wq)
        flat, planes = self.buffers(x.dtype)
        inner = (slice(PADDING, PADDING + self.h), slice(PADDING, PADDING + self.w))
        planes[(Ellipsis, *inner)] = x.transpose(1, 0, 2, 3)
        if s > 1:
            self.phases(flat)[...] = planes.reshape(c, n, hq, s, wq, s).transpose(0, 1, 3, 5, 2, 4)
        cols = np.empty((c, K, K, n, self.length), x.dtype)
        for i in range(K):
            for j in range(K):
                a, b, at = self.offset(i, j)
                cols[:, i, j] = flat[:, :, a, b, at]
        return cols.reshape(c * K * K, n * self.length)

    def rows(self, g: np.ndarray) -> np.ndarray:
        """The output gradient (N, O, OH, OW) as (O, N·L), zero at the dropped positions."""
        o = g.shape[1]
        if self.wq == self.ow:
            return g.transpose(1, 0, 2, 3).reshape(o, -1)
        rows = np.zeros((o, self.n, self.oh, self.wq), g.dtype)
        rows[..., : self.ow] = g.transpose(1, 0, 2, 3)
        return rows.reshape(o, -1)

    def output(self, rows: np.ndarray) -> np.ndarray:
        """(O, N·L) as (N, O, OH, OW), a view."""
        o = rows.shape[0]
        return rows.reshape(o, self.n, self.oh, self.wq)[..., : self.ow].transpose(1, 0, 2, 3)

    def col2im(self, dcols: np.ndarray) -> np.ndarray:
        """The adjoint of :meth:`columns`: (C·K·K, N·L) added back into (N, C, H, W)."""
        s = self.stride
        flat, planes = self.buffers(dcols.dtype)
        dcols = dcols.reshape(self.c, K, K, self.n, self.length)
        for i in range(K):
            for j in range(K):
                a, b, at = self.offset(i, j)
                flat[:, :, a, b, at] += dcols[:, i, j]
        if s > 1:  # the phases back into the planes
            phases = self.phases(flat)
            for a in range(s):
                for b in range(s):
                    planes[..., a::s, b::s] = phases[:, :, a, b]
        inner = planes[:, :, PADDING : PADDING + self.h, PADDING : PADDING + self.w]
        return inner.transpose(1, 0, 2, 3)


def floor_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> tuple[Any, ...]:
    """The output (N, C_out, H_out, W_out), and the geometry and columns for backward."""
    geometry = Geometry(x.shape, stride)
    cols = geometry.columns(x)  # (C·K·K, N·L)
    y = geometry.output(w.reshape(len(w), -1) @ cols) + b[:, None, None]
    return y, geometry, cols


def floor_step(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray, stride: int
) -> list[np.ndarray]:
    """Forward, then the gradients [dx, dw, db] for the output gradient ``g``."""
    y, geometry, cols = floor_forward(x, w, b, stride)
    _ = (y * g).sum()  # the loss, as the other sides compute it
    rows = geometry.rows(g)  # (O, N·L)
    dw = (cols @ rows.T).T.reshape(w.shape)
    db = g.sum(axis=(0, 2, 3))
    dx = geometry.col2im(w.reshape(len(w), -1).T @ rows)
    return [dx, dw, db]


def run_case(bench: Bench, c_in: int, c_out: int, size: int, stride: int) -> Row:
    case = (f"batch {N}, {c_in}→{c_out} channels, {size}×{size}, {K}×{K}"
            f"{', stride 2' if stride == 2 else ''}, forward + backward")  # fmt: skip
    torch = bench.config.torch
    conv2d = an.nn.functional.conv2d
    x0, w0, b0, g0 = inputs(c_in, c_out, size, stride)
    x, w, b = (an.tensor(a, requires_grad=True) for a in (x0, w0, b0))
    g = an.tensor(g0)

    def autonet_step() -> list[Any]:
        x.grad = w.grad = b.grad = None
        (conv2d(x, w, b, stride, PADDING) * g).sum().backward()
        return [x.grad, w.grad, b.grad]

    expected_y = floor_forward(x0, w0, b0, stride)[0]
    rel = assert_close(
        "conv2d: output", conv2d(x, w, b, stride, PADDING).data, expected_y, 1e-4, 1e-5
    )
    expected = floor_step(x0, w0, b0, g0, stride)
    got = [t.data for t in autonet_step()]
    # NOTE: the weight's gradient sums N·OH·OW products (50 000 for the first case) in float32:
    # a small entry among large ones carries their rounding, hence the absolute tolerance.
    rel = max(rel, check_all("conv2d: gradients (x, weight, bias)", got, expected, 1e-3, 2e-3))
    sides = {"autonet": autonet_step, "floor": lambda: floor_step(x0, w0, b0, g0, stride)}
    if torch:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        tg = torch.from_numpy(g0)

        def torch_step() -> list[Any]:
            tx.grad = tw.grad = tb.grad = None
            (torch.nn.functional.conv2d(tx, tw, tb, stride, PADDING) * tg).sum().backward()
            return [tx.grad, tw.grad, tb.grad]

        check_all("conv2d: torch gradients", [t.numpy() for t in torch_step()], expected, 1e-3,
                  2e-3)  # fmt: skip
        sides["torch"] = torch_step
    check = f"ok (max rel. diff {rel:.1g})"
    medians, spreads = bench.time(
        f"conv2d {c_in}→{c_out} {size}×{size} stride {stride}", sides,
        bench.config.pick(15, 4), bench.config.pick(3, 1),
    )  # fmt: skip
    ms = {side: t * 1e3 for side, t in medians.items()}
    return Row(NAME, case, "ms/step", ms, Target(1.2, "torch"), check, spreads=spreads)


def run(bench: Bench) -> list[Row]:
    return [run_case(bench, *case) for case in CASES]
