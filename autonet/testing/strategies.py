"""Hypothesis strategies for testing code built on autonet (needs the ``test`` extra).

>>> from hypothesis import given
>>> import autonet as an
>>> from autonet.testing import strategies as ast
>>> @given(ast.tensors(shape=ast.shapes(max_dims=2), requires_grad=True))
... def test_tanh_gradient(x):
...     assert an.testing.gradcheck(an.tanh, (x,))
>>> test_tanh_gradient()

The shapes include 0-d tensors and axes of size 0 and 1 unless told otherwise, because that is
where gradient code tends to break.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autonet.engine.tensor import Tensor, wrap

if TYPE_CHECKING:
    from autonet.testing.programs import Program

__all__ = [
    "away_from_zero",
    "axes",
    "broadcastable_shapes",
    "grid",
    "positive",
    "programs",
    "shapes",
    "tensors",
]


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes such as ``()``, ``(3,)``, ``(2, 0, 4)``."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, min_side: int = 0, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``num_shapes`` shapes that broadcast together, e.g. ``((3, 1), (4,))``."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes,
        min_dims=min_dims,
        max_dims=max_dims,
        min_side=min_side,
        max_side=max_side,
    ).map(lambda b: b.input_shapes)


def tensors(
    shape: Any = None,
    dtype: Any = np.float64,
    elements: Any = None,
    requires_grad: bool = False,
    unique: bool = False,
) -> st.SearchStrategy[Tensor]:
    """Tensors of a given shape (a tuple or a strategy of shapes; ``shapes()`` by default).

    Floating elements are finite and within [-10, 10] unless ``elements`` says otherwise;
    float64 is the default dtype because gradient checks need it. ``unique=True`` gives
    distinct elements (no ties for ``max``, ``sort``, ...).
    """
    dt = np.dtype(dtype)
    if elements is None and dt.kind == "f":
        elements = st.floats(-10, 10, allow_nan=False, allow_infinity=False, width=dt.itemsize * 8)
    arrays = hnp.arrays(dt, shapes() if shape is None else shape, elements=elements, unique=unique)

    def make(a: np.ndarray) -> Tensor:
        t = wrap(a)
        if requires_grad:
            t.requires_grad = True
        return t

    return arrays.map(make)


def axes(
    ndim: int, allow_none: bool = True, allow_int: bool = True
) -> st.SearchStrategy[int | tuple[int, ...] | None]:
    """Valid ``axis`` arguments for a tensor with ``ndim`` dimensions: ``None``, a single
    (possibly negative) int, or a tuple of distinct axes."""
    options: list[st.SearchStrategy[Any]] = [hnp.valid_tuple_axes(ndim)]
    if allow_none:
        options.append(st.none())
    if allow_int and ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
    return st.one_of(*options)


# ---- element strategies: values where a derivative is defined and finite differences work --


def positive(lo: float = 0.2, hi: float = 5.0) -> st.SearchStrategy[float]:
    """Floats in [lo, hi] (for ln, √, powers of a base)."""
    return st.floats(lo, hi, allow_nan=False)


def away_from_zero(lo: float = 0.2, hi: float = 5.0) -> st.SearchStrategy[float]:
    """Floats with lo <= |x| <= hi (for 1/x, and kinks at 0 such as |x| and relu)."""
    side = st.floats(lo, hi, allow_nan=False)
    return st.one_of(side, side.map(lambda v: -v))


def grid(lo: float, hi: float, step: float = 0.25) -> st.SearchStrategy[float]:
    """Values lo, lo+step, ..., hi: distinct values stay at least ``step`` apart, so that
    finite differences never straddle a tie (max, sort) or a kink."""
    n = round((hi - lo) / step)
    return st.integers(0, n).map(lambda i: lo + i * step)


# ---- programs ------------------------------------------------------------------------------


def programs(
    min_inputs: int = 1,
    max_inputs: int = 3,
    min_steps: int = 1,
    max_steps: int = 5,
    max_side: int = 3,
    ops: Any = None,
) -> st.SearchStrategy[Program]:
    """Random small computation graphs over :mod:`autonet.testing.op_db`: a few steps on one
    to three inputs whose shapes broadcast together, printable as readable steps, with
    ``check_against(reference)`` (see :mod:`autonet.testing.programs`).

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(programs(max_steps=3))
    ... def test_programs_match_finite_differences(program):
    ...     program.check_against("finite differences")
    >>> test_programs_match_finite_differences()
    """
    from autonet.testing.programs import programs as draw  # (it needs op_db, which needs us)

    return draw(min_inputs, max_inputs, min_steps, max_steps, max_side, ops)
