"""conv2d: a convolution layer's forward and backward, the first layer of an MNIST network.

A batch of 64 one-channel 28×28 images through 16 filters of 3×3, stride 1, padding 1,
float32; the loss is Σ y·G for a fixed random G (so the output gradient is G), and backward
gives the weight's, the bias's and the input's gradients (the input requires grad, so the
whole VJP is timed, as in a deeper layer). The floor is NumPy im2col: the 3×3 patches as the
rows of one matrix, one matrix product forward, two backward, and the patch gradients added
back into place (col2im).

Skipped, with a note, until ``an.nn.functional.conv2d(x, weight, bias, stride, padding)``
exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autonet as an
from benchmarks.harness import Bench, Row, assert_close, check_all

NAME = "conv2d"
N, C_IN, C_OUT, H, W, K = 64, 1, 16, 28, 28, 3
STRIDE, PADDING = 1, 1


def find_conv2d() -> Any:
    return getattr(an.nn.functional, "conv2d", None) or getattr(an.functional, "conv2d", None)


def inputs(seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(C_IN * K * K)  # PyTorch's default initialization of Conv2d
    x = rng.random((N, C_IN, H, W), dtype=np.float32)
    w = rng.uniform(-bound, bound, (C_OUT, C_IN, K, K)).astype(np.float32)
    b = rng.uniform(-bound, bound, C_OUT).astype(np.float32)
    h_out = (H + 2 * PADDING - K) // STRIDE + 1
    w_out = (W + 2 * PADDING - K) // STRIDE + 1
    g = rng.standard_normal((N, C_OUT, h_out, w_out)).astype(np.float32)
    return x, w, b, g


# ---- the floor: im2col ----------------------------------------------------------------------
def patches(xp: np.ndarray) -> np.ndarray:
    """The K×K patches of the padded input as rows: (N·H_out·W_out, C·K·K)."""
    windows = np.lib.stride_tricks.sliding_window_view(xp, (K, K), axis=(2, 3))
    windows = windows[:, :, ::STRIDE, ::STRIDE]  # (N, C, H_out, W_out, K, K)
    n, c, ho, wo = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * K * K)


def floor_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The output (N, C_out, H_out, W_out), and the padded input and its patches for backward."""
    xp = np.pad(x, ((0, 0), (0, 0), (PADDING, PADDING), (PADDING, PADDING)))
    cols = patches(xp)  # (N·Ho·Wo, C·K·K)
    n = x.shape[0]
    ho = (xp.shape[2] - K) // STRIDE + 1
    wo = (xp.shape[3] - K) // STRIDE + 1
    y = (cols @ w.reshape(C_OUT, -1).T + b).reshape(n, ho, wo, C_OUT).transpose(0, 3, 1, 2)
    return y, xp, cols


def floor_step(x: np.ndarray, w: np.ndarray, b: np.ndarray, g: np.ndarray) -> list[np.ndarray]:
    """Forward, then the gradients [dx, dw, db] for the output gradient ``g``."""
    y, xp, cols = floor_forward(x, w, b)
    _ = (y * g).sum()  # the loss, as the other sides compute it
    n, _, ho, wo = g.shape
    wm = w.reshape(C_OUT, -1)  # (C_out, C·K·K)
    gm = g.transpose(0, 2, 3, 1).reshape(-1, C_OUT)  # (N·Ho·Wo, C_out)
    dw = (gm.T @ cols).reshape(w.shape)
    db = gm.sum(axis=0)
    dcols = (gm @ wm).reshape(n, ho, wo, C_IN, K, K)
    dxp = np.zeros_like(xp)
    for i in range(K):  # col2im: every patch position adds its gradient back
        for j in range(K):
            dxp[:, :, i : i + STRIDE * ho : STRIDE, j : j + STRIDE * wo : STRIDE] += dcols[
                :, :, :, :, i, j
            ].transpose(0, 3, 1, 2)
    dx = dxp[:, :, PADDING : PADDING + H, PADDING : PADDING + W]
    return [dx, dw, db]


def run(bench: Bench) -> list[Row]:
    conv2d = find_conv2d()
    case = f"batch {N}, {C_IN}→{C_OUT} channels, {H}×{W}, {K}×{K}, forward + backward"
    if conv2d is None:
        note = "skipped: an.nn.functional.conv2d does not exist yet"
        return [Row(NAME, case, "ms/step", {}, note=note)]
    torch = bench.config.torch
    x0, w0, b0, g0 = inputs()
    x = an.tensor(x0, requires_grad=True)
    w = an.tensor(w0, requires_grad=True)
    b = an.tensor(b0, requires_grad=True)
    g = an.tensor(g0)

    def autonet_step() -> list[Any]:
        x.grad = w.grad = b.grad = None
        (conv2d(x, w, b, STRIDE, PADDING) * g).sum().backward()
        return [x.grad, w.grad, b.grad]

    if torch:
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x0, w0, b0))
        tg = torch.from_numpy(g0)

        def torch_step() -> list[Any]:
            tx.grad = tw.grad = tb.grad = None
            F = torch.nn.functional
            (F.conv2d(tx, tw, tb, STRIDE, PADDING) * tg).sum().backward()
            return [tx.grad, tw.grad, tb.grad]

    rel = assert_close(
        "conv2d: output",
        conv2d(x, w, b, STRIDE, PADDING).data,
        floor_forward(x0, w0, b0)[0],
        1e-4,
        1e-5,
    )
    expected = floor_step(x0, w0, b0, g0)
    got = [t.data for t in autonet_step()]
    rel = max(rel, check_all("conv2d: gradients (x, weight, bias)", got, expected, 1e-3, 1e-4))
    if torch:
        assert_close(
            "conv2d: torch output",
            torch.nn.functional.conv2d(
                torch.from_numpy(x0), torch.from_numpy(w0), torch.from_numpy(b0), STRIDE, PADDING
            ).numpy(),
            floor_forward(x0, w0, b0)[0],
            1e-4,
            1e-5,
        )
        check_all(
            "conv2d: torch gradients", [t.numpy() for t in torch_step()], expected, 1e-3, 1e-4
        )
    check = f"ok (max rel. diff {rel:.1g})"
    sides = {"autonet": autonet_step, "floor": lambda: floor_step(x0, w0, b0, g0)}
    if torch:
        sides["torch"] = torch_step
    medians, spreads = bench.time(
        "conv2d", sides, bench.config.pick(15, 4), bench.config.pick(3, 1)
    )
    ms = {side: t * 1e3 for side, t in medians.items()}
    return [Row(NAME, case, "ms/step", ms, check=check, note="report only", spreads=spreads)]
