"""Shared pieces of the property tests."""

from __future__ import annotations

import numpy as np

import autonet as an

# (moved to autonet.testing.strategies, which op_db uses; still importable from here)
from autonet.testing.strategies import away_from_zero, grid, positive  # noqa: F401


def assert_close(
    actual: an.Tensor | np.ndarray, expected: np.ndarray, rtol: float = 1e-7, atol: float = 1e-12
) -> None:
    a = np.asarray(actual)
    expected = np.asarray(expected)
    assert a.shape == expected.shape, f"shape {a.shape} != {expected.shape}"
    assert a.dtype == expected.dtype or expected.dtype.kind != "f" or a.dtype == np.float64, (
        f"dtype {a.dtype} != {expected.dtype}"
    )
    np.testing.assert_allclose(a, expected, rtol=rtol, atol=atol)


def traced_neuron() -> tuple[an.viz.trace, an.Tensor, dict[str, an.Tensor]]:
    """micrograd's neuron, o = tanh(x1·w1 + x2·w2 + b), traced through its backward pass: the
    trace, o, and the named leaves."""
    x1, x2 = an.tensor(2.0, requires_grad=True), an.tensor(0.0, requires_grad=True)
    w1, w2 = an.tensor(-3.0, requires_grad=True), an.tensor(1.0, requires_grad=True)
    b = an.tensor(6.8813735870195432, requires_grad=True)
    with an.viz.trace() as tr:
        o = (x1 * w1 + x2 * w2 + b).tanh()
        o.backward()
    return tr, o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b}
