"""Every operation of autonet, described for testing: the operation, its NumPy reference, the
inputs it is defined on, whether it is smooth, and a Hypothesis strategy of sample inputs.

This is PyTorch's OpInfo idea, made public: autonet's own property tests run over this table
(values against the reference, gradients against finite differences, second derivatives where
smooth, float32 kept, every choice of inputs that require grad), so a new operation is tested
by adding one entry; :func:`autonet.testing.strategies.programs` builds random computation
graphs from it; and a user can test a function of their own the same way.

>>> from autonet.testing.op_db import entry
>>> info = entry("softplus.beta")
>>> info.name, info.variant, info.smooth
('softplus', 'beta', True)
>>> from hypothesis import given
>>> @given(info.samples())
... def test_softplus_matches_numpy(sample):
...     x, = sample.args
...     y = info.op(*sample.args, **sample.kwargs)
...     np.testing.assert_allclose(y.numpy(), info.ref(x.numpy(), **sample.kwargs))
>>> test_softplus_matches_numpy()

An entry's ``samples(max_dims=3, max_side=4)`` draws :class:`Sample`\\ s: the positional
arguments (float64 tensors that do not require grad, and constants such as index tensors) and
the keyword arguments, given to ``op`` as they are and to ``ref`` with tensors as arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import autonet as an
from autonet.engine.tensor import Tensor, wrap
from autonet.testing import strategies as ast

F = an.nn.functional

__all__ = [
    "OpInfo",
    "Sample",
    "axis_samples",
    "binary_samples",
    "entry",
    "op_db",
    "reduction_samples",
    "unary_samples",
]


class Sample(NamedTuple):
    """The arguments of one call: ``op(*args, **kwargs)``."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def arrays(self) -> tuple[Any, ...]:
        """The positional arguments with tensors as NumPy arrays (what ``ref`` takes)."""
        return tuple(a.numpy() if isinstance(a, Tensor) else a for a in self.args)


SampleFactory = Callable[..., st.SearchStrategy[Sample]]


@dataclass(frozen=True)
class OpInfo:
    """One operation (or one variant of it) as the tests see it.

    - ``name``: the operation's name (``"softplus"``); ``variant``: what distinguishes a
      second entry for it (``"beta"``); ``id`` joins them (``"softplus.beta"``);
    - ``op``: what autonet runs, ``op(*sample.args, **sample.kwargs)``;
    - ``ref``: the NumPy reference, called the same way with arrays (``None``: no reference);
    - ``samples``: ``samples(max_dims=3, max_side=4)`` is a strategy of :class:`Sample`;
    - ``domain``: the inputs the samples keep to, in words;
    - ``smooth``: second derivatives are checked; ``differentiable``: False for results
      without gradient (comparisons, indices);
    - ``covers``: the registered functions it tests (``op`` itself by default);
    - ``kind``: how :func:`~autonet.testing.strategies.programs` may use it: ``"unary"``
      and ``"binary"`` (elementwise, any real input), ``"reduction"`` (takes ``axis`` and
      ``keepdims``), ``"axis"`` (takes one ``axis``, keeps the shape), or ``""`` (not used);
    - ``torch``: for programs, ``torch(torch_module, *tensors, **kwargs)`` computes it in
      PyTorch;
    - ``rtol``, ``atol``: the tolerance of the comparison with ``ref``; ``gradcheck``: extra
      arguments for the gradient checks (``eps``, ``atol``, ``rtol``).
    """

    name: str
    op: Callable[..., Any]
    ref: Callable[..., Any] | None
    samples: SampleFactory
    variant: str = ""
    domain: str = "any real"
    smooth: bool = True
    differentiable: bool = True
    covers: tuple[Callable[..., Any], ...] = ()
    kind: str = ""
    torch: Callable[..., Any] | None = None
    rtol: float = 1e-7
    atol: float = 1e-12
    gradcheck: dict[str, float] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.name}.{self.variant}" if self.variant else self.name

    def functions(self) -> tuple[Callable[..., Any], ...]:
        """The registered functions this entry tests."""
        return self.covers or (self.op,)

    def __repr__(self) -> str:
        return f"OpInfo({self.id!r}, domain={self.domain!r}, smooth={self.smooth})"


# ---- sample strategies -----------------------------------------------------------------

ANY = st.floats(-4, 4, allow_nan=False)
SMALL_VALUES = st.floats(-2, 2, allow_nan=False)


BOOLS = st.booleans()  # as elements: bool tensors (masks, logic)


def _tensor(shape: Any, elements: Any = None, unique: bool = False) -> st.SearchStrategy[Tensor]:
    dtype = bool if elements is BOOLS else np.float64
    return ast.tensors(shape=shape, dtype=dtype, elements=elements, unique=unique)


def unary_samples(
    elements: Any = None, min_dims: int = 0, min_side: int = 0, **kwargs: Any
) -> SampleFactory:
    """One tensor of any shape (0-d, size 0 and size 1 included) with ``elements``, and fixed
    keyword arguments."""

    def samples(max_dims: int = 3, max_side: int = 4) -> st.SearchStrategy[Sample]:
        shape = ast.shapes(min_dims, max(max_dims, min_dims), min_side, max(max_side, min_side))
        return _tensor(shape, ANY if elements is None else elements).map(
            lambda x: Sample((x,), dict(kwargs))
        )

    return samples


def binary_samples(a: Any = None, b: Any = None, **kwargs: Any) -> SampleFactory:
    """Two tensors whose shapes broadcast together, elements from ``a`` and ``b``."""

    @st.composite
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        sa, sb = draw(ast.broadcastable_shapes(2, max_dims=max_dims, max_side=max_side))
        x = draw(_tensor(sa, ANY if a is None else a))
        y = draw(_tensor(sb, ANY if b is None else b))
        return Sample((x, y), dict(kwargs))

    return lambda max_dims=3, max_side=4: draw(max_dims, max_side)


def _reduced_count(shape: tuple[int, ...], axis: Any) -> int:
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return math.prod(shape[a] for a in axes)


def reduction_samples(
    elements: Any = None,
    nonempty: bool = False,
    unique: bool = False,
    axes: str = "any",
    keepdims: bool = True,
    min_side: int = 0,
    **kwargs: Any,
) -> SampleFactory:
    """One tensor and an ``axis`` (None, an int or a tuple; ``axes="int"``: an int or None)
    with ``keepdims`` drawn; ``nonempty``: every reduced group has an element."""

    @st.composite
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        shape = ast.shapes(max_dims=max_dims, min_side=min_side, max_side=max(max_side, min_side))
        x = draw(_tensor(shape, elements, unique))
        axis = draw(ast.axes(x.ndim, allow_int=True) if axes == "any" else _int_axis(x.ndim))
        if nonempty:
            assume(_reduced_count(x.shape, axis) > 0)
        extra = {"keepdims": draw(st.booleans())} if keepdims else {}
        return Sample((x,), {"axis": axis, **extra, **kwargs})

    return lambda max_dims=3, max_side=4: draw(max_dims, max_side)


def _int_axis(ndim: int) -> st.SearchStrategy[int | None]:
    return st.none() | st.integers(-ndim, ndim - 1) if ndim else st.none()


def axis_samples(
    elements: Any = None, min_side: int = 0, unique: bool = False, **kwargs: Any
) -> SampleFactory:
    """One tensor of at least one dimension and one ``axis`` (an int)."""

    @st.composite
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        shape = ast.shapes(1, max_dims, min_side, max(max_side, min_side))
        x = draw(_tensor(shape, elements, unique))
        return Sample((x,), {"axis": draw(st.integers(-x.ndim, x.ndim - 1)), **kwargs})

    return lambda max_dims=3, max_side=4: draw(max_dims, max_side)


def _composite(fn: Callable[..., Sample]) -> SampleFactory:
    """A sample factory from ``fn(draw, max_dims, max_side)``."""
    strategy = st.composite(fn)
    return lambda max_dims=3, max_side=4: strategy(max_dims, max_side)


# ---- references that NumPy does not have under the same name ---------------------------

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _logsumexp(x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    s = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axis)


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _unfold(x: np.ndarray, kernel_size: Any, stride: Any = 1, dilation: Any = 1) -> np.ndarray:
    (kh, kw), (sh, sw), (dh, dw) = (_pair(v) for v in (kernel_size, stride, dilation))
    h, w = x.shape[-2:]
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros(x.shape[:-2] + (oh, ow, kh, kw))
    for p in range(oh):
        for q in range(ow):
            for i in range(kh):
                for j in range(kw):
                    out[..., p, q, i, j] = x[..., p * sh + i * dh, q * sw + j * dw]
    return out


def _fold(
    x: np.ndarray, output_size: Any, kernel_size: Any, stride: Any = 1, dilation: Any = 1
) -> np.ndarray:
    (kh, kw), (sh, sw), (dh, dw) = (_pair(v) for v in (kernel_size, stride, dilation))
    oh, ow = x.shape[-4:-2]
    out = np.zeros(x.shape[:-4] + tuple(output_size))
    for p in range(oh):
        for q in range(ow):
            for i in range(kh):
                for j in range(kw):
                    out[..., p * sh + i * dh, q * sw + j * dw] += x[..., p, q, i, j]
    return out


def _pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _cross_entropy(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    picked = np.log(_softmax(x, 1))[np.arange(len(labels)), labels]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(-picked.sum() / len(labels))


def _power(x: np.ndarray, exponent: Any) -> np.ndarray:
    return np.power(x, exponent)


def _sym(a: Any) -> Any:
    """(A + Aᵀ)/2: a symmetric matrix from any square one (arrays and tensors)."""
    return (a + a.swapaxes(-1, -2)) * 0.5


# ---- sample strategies of particular operations ----------------------------------------


def _matmul(draw: Any, max_dims: int, max_side: int) -> Sample:
    shapes = draw(
        hnp.mutually_broadcastable_shapes(
            signature="(m?,n),(n,p?)->(m?,p?)", max_dims=max_dims + 1, max_side=max_side
        )
    ).input_shapes
    return Sample(tuple(draw(_tensor(s)) for s in shapes), {})


def _linear(bias: bool) -> SampleFactory:
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        lead = draw(st.lists(st.integers(0, max_side), max_size=max(max_dims - 1, 0)))
        inner, out = draw(st.integers(0, max_side)), draw(st.integers(0, max_side))
        args = [draw(_tensor((*lead, inner))), draw(_tensor((out, inner)))]
        if bias:
            args.append(draw(_tensor((out,))))
        return Sample(tuple(args), {})

    return _composite(draw)


def _where(draw: Any, max_dims: int, max_side: int) -> Sample:
    sc, sa, sb = draw(ast.broadcastable_shapes(3, max_dims=max_dims, max_side=max_side))
    cond = draw(ast.tensors(shape=sc, dtype=bool))
    return Sample((cond, draw(_tensor(sa)), draw(_tensor(sb))), {})


def _masked_fill(draw: Any, max_dims: int, max_side: int) -> Sample:
    sx, sm = draw(ast.broadcastable_shapes(2, max_dims=max_dims, max_side=max_side))
    target = np.broadcast_shapes(sx, sm)
    x = draw(_tensor(target))  # (x keeps its shape: the mask broadcasts against it)
    mask = draw(ast.tensors(shape=sm, dtype=bool))
    return Sample((x, mask), {"value": draw(st.sampled_from([0.0, -1.5, 2.0]))})


def _var_std(ddof: int, std: bool) -> SampleFactory:
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        x = draw(_tensor(ast.shapes(max_dims=max_dims, min_side=2, max_side=max(max_side, 2))))
        axis = draw(ast.axes(x.ndim))
        assume(_reduced_count(x.shape, axis) > ddof)
        if std:  # √ has no derivative at 0
            assume(np.all(np.var(x.numpy(), axis=axis) > 1e-3))
        return Sample((x,), {"axis": axis, "ddof": ddof})

    return _composite(draw)


def _extreme_with_dim(draw: Any, max_dims: int, max_side: int) -> Sample:
    shape = ast.shapes(1, max_dims, 1, max_side)
    x = draw(_tensor(shape, ast.grid(-5, 5), unique=True))
    return Sample((x,), {"dim": draw(st.integers(-x.ndim, x.ndim - 1))})


def _reshape(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=max_side)))
    target = draw(st.sampled_from([(-1,), x.shape[::-1], (1, *x.shape, 1)]))
    return Sample((x, target), {})


def _permutation(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=max_side)))
    return Sample((x, tuple(draw(st.permutations(range(x.ndim))))), {})


def _two_axes(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(min_dims=2, max_dims=max(max_dims, 2), max_side=max_side)))
    axis = st.integers(-x.ndim, x.ndim - 1)
    return Sample((x, draw(axis), draw(axis)), {})


def _expand(draw: Any, max_dims: int, max_side: int) -> Sample:
    shapes = draw(ast.broadcastable_shapes(2, max_dims=max_dims, max_side=max_side))
    return Sample((draw(_tensor(shapes[0])), np.broadcast_shapes(*shapes)), {})


def _joined(new_axis: bool) -> SampleFactory:
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        if new_axis:
            shape = draw(ast.shapes(max_dims=max_dims, max_side=max_side))
            axis = draw(st.integers(-len(shape) - 1, len(shape)))
            shapes = [shape] * draw(st.integers(1, 3))
        else:
            base = draw(ast.shapes(min_dims=1, max_dims=max(max_dims, 1), max_side=max_side))
            axis = draw(st.integers(-len(base), len(base) - 1))
            a = axis % len(base)
            sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
            shapes = [base[:a] + (n,) + base[a + 1 :] for n in sizes]
        return Sample(tuple(draw(_tensor(s)) for s in shapes), {"axis": axis})

    return _composite(draw)


def _pad(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=max_side)))
    widths = tuple(draw(st.tuples(st.integers(0, 2), st.integers(0, 2))) for _ in range(x.ndim))
    return Sample((x, widths), {"constant_values": draw(st.sampled_from([0.0, 1.5]))})


def _split(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 1, max_side)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    return Sample((x, draw(st.integers(1, 4))), {"axis": axis})


def _pieces(x: np.ndarray, size: int, axis: int) -> tuple[np.ndarray, ...]:
    """``x`` cut along ``axis`` into pieces of ``size`` (the last may be smaller)."""
    n = x.shape[axis]
    return tuple(np.take(x, np.arange(s, min(s + size, n)), axis=axis) for s in range(0, n, size))


def _squeeze(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=min(max_side, 2))))
    return Sample((x,), {"axis": draw(st.none() | ast.axes(x.ndim, allow_none=False))})


def _unsqueeze(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=max_side)))
    return Sample((x, draw(st.integers(-x.ndim - 1, x.ndim))), {})


def _flatten(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 0, max_side)))
    start = draw(st.integers(0, x.ndim - 1))
    return Sample((x,), {"start_dim": start, "end_dim": draw(st.integers(start, x.ndim - 1))})


def _flatten_ref(x: np.ndarray, start_dim: int, end_dim: int) -> np.ndarray:
    merged = math.prod(x.shape[start_dim : end_dim + 1])
    return x.reshape(x.shape[:start_dim] + (merged,) + x.shape[end_dim + 1 :])


def _basic_index(draw: Any, max_dims: int, max_side: int) -> Sample:
    shape = draw(
        hnp.array_shapes(min_dims=1, max_dims=max(max_dims, 1), min_side=1, max_side=max_side)
    )
    index = draw(hnp.basic_indices(shape, allow_newaxis=True))
    return Sample((draw(_tensor(shape)), index), {})


def _integer_index(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 1, max_side)))
    n = x.shape[0]
    index = np.asarray(draw(st.lists(st.integers(-n, n - 1), max_size=6)), dtype=np.int64)
    return Sample((x, index), {})


def _mask_index(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=max_side)))
    return Sample((x, draw(ast.tensors(shape=x.shape, dtype=bool))), {})


def _rows_and_columns(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(2, 2, 1, max_side)))
    n, k = x.shape
    labels = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), int)
    return Sample((x, (np.arange(n), labels)), {})


def _cross_entropy_samples(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(2, 2, 1, max_side)))
    n, c = x.shape
    labels = np.asarray(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), int)
    return Sample((x, wrap(labels)), {})


def _conv2d_samples(draw: Any, max_dims: int, max_side: int) -> Sample:
    n, c, o = (draw(st.integers(1, 2)) for _ in range(3))
    kh, kw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w = draw(st.integers(kh, kh + 2)), draw(st.integers(kw, kw + 2))
    x, weight = draw(_tensor((n, c, h, w))), draw(_tensor((o, c, kh, kw)))
    return Sample((x, weight), {"padding": draw(st.integers(0, 1))})


def _conv2d(x: np.ndarray, weight: np.ndarray, padding: int = 0) -> np.ndarray:
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = _unfold(x, weight.shape[-2:])  # (N, C, OH, OW, kH, kW)
    return np.einsum("ncpqij,ocij->nopq", windows, weight)


def _pool2d_samples(draw: Any, max_dims: int, max_side: int) -> Sample:
    """Windows of 1 or 2 per axis, stride 1 or 2 (overlapping, tiling and gapped windows);
    distinct values a grid step apart, so that no window's maximum ties."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    size = tuple(draw(st.integers(k, k + 2)) for k in kernel)
    x = draw(_tensor((n, c, *size), ast.grid(-8, 8), unique=True))
    return Sample((x,), {"kernel_size": kernel, "stride": stride})


def _pool2d(reduce: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    def pool(x: np.ndarray, kernel_size: Any, stride: Any) -> np.ndarray:
        return reduce(_unfold(x, kernel_size, stride), axis=(-2, -1))

    return pool


def _windows(fold: bool) -> SampleFactory:
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        kernel = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
        stride = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
        dilation = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
        spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
        size = tuple(draw(st.integers(s, s + 2)) for s in spans)
        lead = tuple(draw(st.lists(st.integers(1, 2), max_size=max(max_dims - 2, 0))))
        params = {"kernel_size": kernel, "stride": stride, "dilation": dilation}
        if not fold:
            return Sample((draw(_tensor(lead + size)),), params)
        windows = tuple((n - s) // st_ + 1 for n, s, st_ in zip(size, spans, stride))
        x = draw(_tensor(lead + windows + kernel))
        return Sample((x,), {"output_size": size, **params})

    return _composite(draw)


def _sorted_along(draw: Any, max_dims: int, max_side: int, **kwargs: Any) -> Sample:
    x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 0, max_side), ast.grid(-8, 8), unique=True))
    return Sample((x,), {"axis": draw(st.integers(-x.ndim, x.ndim - 1)), **kwargs})


def _sort_dim(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 0, max_side), ast.grid(-8, 8), unique=True))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    return Sample((x,), {"dim": dim, "descending": draw(st.booleans())})


def _topk(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 0, max_side), ast.grid(-8, 8), unique=True))
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    k = draw(st.integers(0, x.shape[dim]))
    return Sample((x, k), {"dim": dim, "largest": draw(st.booleans())})


def _norm(ord: Any, axes: int, elements: Any = None, min_side: int = 0) -> SampleFactory:
    """A tensor and a norm over ``axes`` (1 or 2) axes, or over all of them (0)."""

    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        lowest = max(axes, 1)
        shape = ast.shapes(lowest, max(max_dims, lowest), min_side, max(max_side, min_side))
        x = draw(
            _tensor(
                shape,
                ast.away_from_zero(0.25, 4) if elements is None else elements,
                unique=elements is not None,
            )
        )
        kwargs: dict[str, Any] = {"ord": ord, "keepdims": draw(st.booleans())}
        if axes == 1:
            kwargs["axis"] = draw(st.integers(-x.ndim, x.ndim - 1))
        elif axes == 2:
            kwargs["axis"] = tuple(draw(st.permutations(range(x.ndim)))[:2])
        return Sample((x,), kwargs)

    return _composite(draw)


def _repeat(counts: bool, flat: bool = False) -> SampleFactory:
    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        x = draw(_tensor(ast.shapes(0 if flat else 1, max(max_dims, 1), 0, max_side)))
        axis = None if flat else draw(st.integers(-x.ndim, x.ndim - 1))
        n = x.size if flat else x.shape[axis]
        if counts:
            repeats = np.asarray(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), int)
        else:
            repeats = draw(st.integers(0, 3))
        return Sample((x, repeats), {"axis": axis})

    return _composite(draw)


def _tile(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=min(max_side, 3))))
    reps = tuple(draw(st.lists(st.integers(0, 3), max_size=max_dims)))
    return Sample((x, reps), {})


def _flip(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=max_side)))
    return Sample((x,), {"axis": draw(ast.axes(x.ndim))})


def _roll(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(max_dims=max_dims, max_side=max_side)))
    axis = draw(st.none() | ast.axes(x.ndim, allow_none=False).filter(lambda a: a != ()))
    shift = draw(st.integers(-5, 5))
    if isinstance(axis, tuple):
        shift = tuple(draw(st.integers(-5, 5)) for _ in axis)
    return Sample((x, shift), {"axis": axis})


def _along(torch_style: bool) -> SampleFactory:
    """A tensor and an index along one axis: NumPy's (broadcasting on the other axes) or
    PyTorch's (no larger than the tensor on the other axes)."""

    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 1, max_side)))
        axis = draw(st.integers(0, x.ndim - 1))
        shape = [
            draw(st.integers(0, 4))
            if d == axis
            else draw(st.integers(1, n) if torch_style else st.sampled_from([1, n]))
            for d, n in enumerate(x.shape)
        ]
        index = draw(hnp.arrays(np.int64, tuple(shape), elements=st.integers(0, x.shape[axis] - 1)))
        if torch_style:
            return Sample((x, axis, wrap(index)), {})
        return Sample((x, index), {"axis": axis})

    return _composite(draw)


def _scatter_add(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(1, max(max_dims, 1), 1, max_side)))
    axis = draw(st.integers(0, x.ndim - 1))
    shape = tuple(
        draw(st.integers(0, 4)) if d == axis else draw(st.integers(1, n))
        for d, n in enumerate(x.shape)
    )
    index = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, x.shape[axis] - 1)))
    src = draw(_tensor(tuple(n + draw(st.integers(0, 1)) for n in shape)))
    return Sample((x, axis, wrap(index), src), {})


def _scatter_add_ref(x: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray) -> np.ndarray:
    out = x.copy()
    for position in np.ndindex(*index.shape):
        target = list(position)
        target[dim] = index[position]
        out[tuple(target)] += src[position]
    return out


def _matrix(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(2, max(max_dims, 2), 0, max_side)))
    return Sample((x,), {"k": draw(st.integers(-3, 3))})


def _diagonal(draw: Any, max_dims: int, max_side: int) -> Sample:
    x = draw(_tensor(ast.shapes(2, max(max_dims, 2), 0, max_side)))
    a1, a2 = draw(st.permutations(range(x.ndim)))[:2]
    return Sample((x,), {"offset": draw(st.integers(-3, 3)), "axis1": a1, "axis2": a2})


def _einsum(subscripts: str, ellipsis: int = 0) -> SampleFactory:
    """Operands for ``subscripts``: one size (0 to max_side) per letter; ``...`` stands for
    ``ellipsis`` axes that broadcast.

    NOTE: elements in [-2, 2]: a product of three operands, squared for the second
    derivatives, reaches 10⁷ with elements up to 8, and finite differences of that size carry
    rounding errors above the tolerance of a small gradient beside it."""
    terms = subscripts.split("->")[0].split(",")

    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        size = {c: draw(st.integers(0, max_side)) for c in sorted(set("".join(terms)) - set("."))}
        lead = draw(ast.broadcastable_shapes(len(terms), max_dims=ellipsis, max_side=max_side))
        shapes = []
        for term, front in zip(terms, lead):
            named = tuple(size[c] for c in term.replace("...", ""))
            shapes.append((front if "..." in term else ()) + named)
        return Sample((subscripts, *[draw(_tensor(s, SMALL_VALUES)) for s in shapes]), {})

    return _composite(draw)


def _square_matrices(rhs: bool = False) -> SampleFactory:
    """Strictly diagonally dominant matrices (..., n, n), invertible and well conditioned;
    with ``rhs``, a right-hand side too: a vector (n,) or matrices (..., n, k)."""

    def draw(draw: Any, max_dims: int, max_side: int) -> Sample:
        n = draw(st.integers(0, min(max_side, 3)))
        lead = tuple(draw(st.lists(st.integers(1, 2), max_size=max(max_dims - 2, 0))))
        a = draw(_tensor((*lead, n, n), st.floats(-1, 1))).numpy()
        signs = draw(hnp.arrays(np.float64, (*lead, n), elements=st.sampled_from([-1.0, 1.0])))
        a = a + (n + 1) * signs[..., None] * np.eye(n)  # |aᵢᵢ| > Σⱼ |aᵢⱼ|
        if not rhs:
            return Sample((wrap(a),), {})
        if draw(st.booleans()):
            b = (n,)
        else:
            b = (*lead[draw(st.integers(0, len(lead))) :], n, draw(st.integers(0, 2)))
        return Sample((wrap(a), draw(_tensor(b))), {})

    return _composite(draw)


def _spd(draw: Any, max_dims: int, max_side: int) -> Sample:
    n = draw(st.integers(0, min(max_side, 3)))
    lead = draw(st.lists(st.integers(1, 2), max_size=max(max_dims - 2, 0)))
    b = draw(_tensor((*lead, n, n), st.floats(-1, 1))).numpy()
    return Sample((wrap(b @ b.swapaxes(-1, -2) + n * np.eye(n) + np.eye(n)),), {})


# ---- the entries -------------------------------------------------------------------------


def _t(name: str) -> Callable[..., Any]:
    """A PyTorch function by name, for programs: ``torch.<name>(*tensors)``."""
    return lambda torch, *xs: getattr(torch, name)(*xs)


def _t_reduce(name: str) -> Callable[..., Any]:
    def reduce(torch: Any, x: Any, axis: Any, keepdims: bool = False) -> Any:
        dims = (axis,) if isinstance(axis, int) else tuple(axis)
        if name == "logsumexp":
            return torch.logsumexp(x, dim=dims, keepdim=keepdims)
        if name == "prod":  # (torch's prod takes one dim at a time)
            for d in sorted((d % x.ndim for d in dims), reverse=True):
                x = torch.prod(x, dim=d, keepdim=keepdims)
            return x
        return getattr(torch, name)(x, dim=dims, keepdim=keepdims)

    return reduce


def _t_axis(name: str) -> Callable[..., Any]:
    return lambda torch, x, axis: getattr(torch, name)(x, dim=axis)


def _unary(
    name: str,
    ref: Any,
    elements: Any = None,
    domain: str = "any real",
    program: bool = False,
    **options: Any,
) -> OpInfo:
    return OpInfo(
        name,
        getattr(an, name),
        ref,
        unary_samples(elements),
        domain=domain,
        kind="unary" if program else "",
        torch=_t(name) if program else None,
        **options,
    )


_POSITIVE, _NONZERO = "x > 0", "|x| >= 0.2"
_OFF_GRID = st.integers(-8, 8).map(lambda i: i / 4 + 0.125)  # never ties with ast.grid(-2, 2)


op_db: list[OpInfo] = [
    # -- elementwise, one input
    _unary("exp", np.exp, program=True),
    _unary("log", np.log, ast.positive(), _POSITIVE),
    _unary("sqrt", np.sqrt, ast.positive(), _POSITIVE),
    _unary("abs", np.abs, ast.away_from_zero(), _NONZERO),
    _unary("sin", np.sin, program=True),
    _unary("cos", np.cos, program=True),
    _unary("tanh", np.tanh, program=True),
    _unary("sigmoid", lambda x: 1 / (1 + np.exp(-x)), program=True),
    _unary("relu", lambda x: np.maximum(x, 0), ast.away_from_zero(), _NONZERO),
    OpInfo(
        "leaky_relu",
        an.leaky_relu,
        lambda x, negative_slope: np.where(x > 0, x, negative_slope * x),
        unary_samples(ast.away_from_zero(), negative_slope=0.1),
        domain=_NONZERO,
    ),
    OpInfo(
        "elu",
        an.elu,
        lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(x)),
        unary_samples(ast.away_from_zero(), alpha=1.5),
        domain=_NONZERO,
    ),
    OpInfo(
        "gelu",
        an.gelu,
        _gelu,
        unary_samples(),
        kind="unary",
        torch=lambda torch, x: torch.nn.functional.gelu(x),
    ),
    OpInfo("gelu", an.gelu, _gelu, unary_samples(approximate="tanh"), variant="tanh"),
    OpInfo(
        "softplus",
        an.softplus,
        lambda x: np.log1p(np.exp(x)),
        unary_samples(),
        kind="unary",
        torch=lambda torch, x: torch.nn.functional.softplus(x),
    ),
    OpInfo(
        "softplus",
        an.softplus,
        lambda x, beta: np.log1p(np.exp(beta * x)) / beta,
        unary_samples(beta=2.0),
        variant="beta",
    ),
    _unary("erf", _erf, program=True, rtol=1e-6),
    OpInfo(
        "clip",
        an.clip,
        lambda x, min, max: np.clip(x, min, max),
        unary_samples(st.sampled_from([-3.0, -1.5, -0.5, 0.3, 1.7, 2.5]), min=-1.0, max=2.0),
        domain="away from the bounds",
    ),
    OpInfo(
        "clip",
        an.clamp,
        lambda x, min: np.maximum(x, min),
        unary_samples(st.sampled_from([-1.0, 0.2, 0.9, 3.0]), min=0.5),
        variant="min_only",
        domain="away from the bound",
    ),
    _unary("neg", np.negative, program=True),
    OpInfo("pow", an.pow, _power, unary_samples(exponent=2), variant="square"),
    OpInfo("pow", an.pow, _power, unary_samples(exponent=3), variant="cube"),
    OpInfo(
        "pow",
        an.pow,
        _power,
        unary_samples(ast.positive(), exponent=0.5),
        variant="half",
        domain=_POSITIVE,
    ),
    OpInfo(
        "pow",
        an.pow,
        lambda x, exponent: 1 / x,
        unary_samples(ast.away_from_zero(), exponent=-1),
        variant="reciprocal",
        domain=_NONZERO,
    ),
    OpInfo(
        "pow",
        an.pow,
        lambda x, exponent: np.ones_like(x),
        unary_samples(exponent=0),
        variant="zero",
    ),
    OpInfo(
        "pow",
        lambda t: 2**t,
        lambda x: 2.0**x,
        unary_samples(),
        variant="number_base",
        covers=(an.pow,),
    ),
    OpInfo(
        "sub",
        lambda t: 3 - t,
        lambda x: 3 - x,
        unary_samples(),
        variant="number_first",
        covers=(an.sub,),
    ),
    OpInfo(
        "div",
        lambda t: 2 / t,
        lambda x: 2 / x,
        unary_samples(ast.away_from_zero()),
        variant="number_first",
        domain=_NONZERO,
        covers=(an.div,),
    ),
    OpInfo(
        "mul",
        lambda t: t * 1.5,
        lambda x: x * 1.5,
        unary_samples(),
        variant="number",
        covers=(an.mul,),
    ),
    OpInfo("clone", an.clone, np.copy, unary_samples()),
    # -- elementwise, two inputs that broadcast
    OpInfo("add", an.add, np.add, binary_samples(), kind="binary", torch=_t("add")),
    OpInfo("sub", an.sub, np.subtract, binary_samples(), kind="binary", torch=_t("sub")),
    OpInfo("mul", an.mul, np.multiply, binary_samples(), kind="binary", torch=_t("mul")),
    OpInfo(
        "div",
        an.div,
        np.divide,
        binary_samples(ANY, ast.away_from_zero()),
        domain="divisor |b| >= 0.2",
    ),
    OpInfo(
        "pow",
        an.pow,
        np.power,
        binary_samples(ast.positive(), st.floats(-2, 2)),
        variant="tensor_exponent",
        domain="base > 0",
    ),
    OpInfo(
        "maximum",
        an.maximum,
        np.maximum,
        binary_samples(ast.grid(-2, 2), _OFF_GRID),
        domain="no ties",
        smooth=False,
    ),
    OpInfo(
        "minimum",
        an.minimum,
        np.minimum,
        binary_samples(ast.grid(-2, 2), _OFF_GRID),
        domain="no ties",
        smooth=False,
    ),
    OpInfo("where", an.where, np.where, _composite(_where)),
    OpInfo(
        "masked_fill",
        an.masked_fill,
        lambda x, mask, value: np.where(mask, value, x),
        _composite(_masked_fill),
    ),
    # -- without gradient: comparisons, logic, sign, tests
    *[
        OpInfo(
            name,
            getattr(an, name),
            ref,
            binary_samples(ast.grid(-1, 1), ast.grid(-1, 1)),
            differentiable=False,
        )
        for name, ref in [
            ("eq", np.equal),
            ("ne", np.not_equal),
            ("lt", np.less),
            ("le", np.less_equal),
            ("gt", np.greater),
            ("ge", np.greater_equal),
        ]
    ],
    *[
        OpInfo(
            name,
            getattr(an, name),
            ref,
            binary_samples(BOOLS, BOOLS),
            differentiable=False,
        )
        for name, ref in [
            ("logical_and", np.logical_and),
            ("logical_or", np.logical_or),
            ("logical_xor", np.logical_xor),
        ]
    ],
    OpInfo(
        "logical_not",
        an.logical_not,
        np.logical_not,
        unary_samples(BOOLS),
        differentiable=False,
    ),
    OpInfo("sign", an.sign, np.sign, unary_samples(ast.grid(-1, 1)), differentiable=False),
    OpInfo("isnan", an.isnan, np.isnan, unary_samples(st.floats()), differentiable=False),
    OpInfo("isfinite", an.isfinite, np.isfinite, unary_samples(st.floats()), differentiable=False),
    # -- matrix products, casts
    OpInfo("matmul", an.matmul, np.matmul, _composite(_matmul), rtol=1e-10, atol=1e-10),
    OpInfo(
        "linear",
        an.linear,
        lambda x, w, b=0: x @ w.T + b,
        _linear(bias=True),
        rtol=1e-10,
        atol=1e-10,
    ),
    OpInfo(
        "linear",
        an.linear,
        lambda x, w: x @ w.T,
        _linear(bias=False),
        variant="no_bias",
        rtol=1e-10,
        atol=1e-10,
    ),
    OpInfo(
        "astype",
        an.astype,
        lambda x, dtype: x.astype(dtype),
        unary_samples(dtype=np.float32),
        rtol=1e-6,
        atol=1e-6,
        gradcheck={"eps": 1e-2, "atol": 1e-2, "rtol": 1e-2},
    ),
    # -- reductions
    OpInfo("sum", an.sum, np.sum, reduction_samples(), kind="reduction", torch=_t_reduce("sum")),
    OpInfo(
        "mean",
        an.mean,
        np.mean,
        reduction_samples(nonempty=True),
        kind="reduction",
        torch=_t_reduce("mean"),
        domain="non-empty groups",
    ),
    OpInfo(
        "max",
        an.max,
        np.max,
        reduction_samples(ast.grid(-5, 5), True, True),
        domain="no ties, non-empty groups",
        smooth=False,
    ),
    OpInfo(
        "min",
        an.min,
        np.min,
        reduction_samples(ast.grid(-5, 5), True, True),
        domain="no ties, non-empty groups",
        smooth=False,
    ),
    OpInfo(
        "max",
        an.max,
        lambda x, dim: (np.max(x, axis=dim), np.argmax(x, axis=dim)),
        _composite(_extreme_with_dim),
        variant="dim",
        domain="no ties",
        smooth=False,
    ),
    OpInfo(
        "min",
        an.min,
        lambda x, dim: (np.min(x, axis=dim), np.argmin(x, axis=dim)),
        _composite(_extreme_with_dim),
        variant="dim",
        domain="no ties",
        smooth=False,
    ),
    OpInfo(
        "prod",
        an.prod,
        np.prod,
        reduction_samples(st.floats(-2, 2)),
        kind="reduction",
        torch=_t_reduce("prod"),
    ),
    OpInfo(
        "logsumexp",
        an.logsumexp,
        _logsumexp,
        reduction_samples(nonempty=True),
        kind="reduction",
        torch=_t_reduce("logsumexp"),
        domain="non-empty groups",
    ),
    OpInfo("var", an.var, np.var, _var_std(0, std=False)),
    OpInfo("var", an.var, np.var, _var_std(1, std=False), variant="ddof1"),
    OpInfo("std", an.std, np.std, _var_std(0, std=True), domain="variance > 1e-3"),
    OpInfo("std", an.std, np.std, _var_std(1, std=True), variant="ddof1", domain="variance > 1e-3"),
    OpInfo(
        "argmax",
        an.argmax,
        np.argmax,
        reduction_samples(nonempty=True, axes="int"),
        differentiable=False,
    ),
    OpInfo(
        "argmin",
        an.argmin,
        np.argmin,
        reduction_samples(nonempty=True, axes="int"),
        differentiable=False,
    ),
    OpInfo("any", an.any, np.any, reduction_samples(BOOLS), differentiable=False),
    OpInfo("all", an.all, np.all, reduction_samples(BOOLS), differentiable=False),
    OpInfo("norm", an.norm, np.linalg.norm, _norm(None, 0), domain=_NONZERO),
    OpInfo("norm", an.norm, np.linalg.norm, _norm(3, 1), variant="p3", domain=_NONZERO),
    OpInfo("norm", an.norm, np.linalg.norm, _norm(1, 1), variant="p1", domain=_NONZERO),
    OpInfo(
        "norm",
        an.norm,
        np.linalg.norm,
        _norm(np.inf, 1, ast.grid(0.25, 5), min_side=1),
        variant="inf",
        domain="distinct |x|",
        smooth=False,
    ),
    OpInfo("norm", an.norm, np.linalg.norm, _norm(0, 1), variant="zero", differentiable=False),
    OpInfo("norm", an.norm, np.linalg.norm, _norm("fro", 2), variant="fro", domain=_NONZERO),
    OpInfo(
        "norm",
        an.norm,
        np.linalg.norm,
        _norm(1, 2, ast.positive(), min_side=1),
        variant="matrix1",
        domain="x > 0",
        smooth=False,
    ),
    OpInfo(
        "norm",
        an.norm,
        np.linalg.norm,
        _norm(-np.inf, 2, ast.positive(), min_side=1),
        variant="matrix_min_inf",
        domain="x > 0",
        smooth=False,
    ),
    # -- scans, sorting
    OpInfo("cumsum", an.cumsum, np.cumsum, axis_samples(), kind="axis", torch=_t_axis("cumsum")),
    OpInfo("cumsum", an.cumsum, np.cumsum, unary_samples(axis=None), variant="flat"),
    OpInfo(
        "cumprod",
        an.cumprod,
        np.cumprod,
        axis_samples(ast.away_from_zero(0.25, 2)),
        domain="0.25 <= |x| <= 2 (tiny factors lose digits, as in PyTorch)",
    ),
    OpInfo(
        "cumprod",
        an.cumprod,
        np.cumprod,
        axis_samples(st.sampled_from([0.0, -1.5, 0.5, 2.0])),
        variant="zeros",
    ),
    OpInfo("sort", an.sort, np.sort, _composite(_sorted_along), domain="no ties"),
    OpInfo(
        "sort",
        an.sort,
        lambda x, dim, descending: (
            np.flip(np.sort(x, dim), dim) if descending else np.sort(x, dim),
            np.flip(np.argsort(x, dim), dim) if descending else np.argsort(x, dim),
        ),
        _composite(_sort_dim),
        variant="dim",
        domain="no ties",
    ),
    OpInfo("argsort", an.argsort, np.argsort, _composite(_sorted_along), differentiable=False),
    OpInfo(
        "topk",
        an.topk,
        lambda x, k, dim, largest: tuple(
            np.take(a, np.arange(k), axis=dim)
            for a in (
                (np.flip(np.sort(x, dim), dim), np.flip(np.argsort(x, dim), dim))
                if largest
                else (np.sort(x, dim), np.argsort(x, dim))
            )
        ),
        _composite(_topk),
        domain="no ties",
    ),
    # -- shapes
    OpInfo("reshape", an.reshape, np.reshape, _composite(_reshape)),
    OpInfo("transpose", an.transpose, np.transpose, _composite(_permutation)),
    OpInfo(
        "permute",
        lambda x, perm: an.permute(x, *perm),
        np.transpose,
        _composite(_permutation),
        covers=(an.permute,),
    ),
    OpInfo("swapaxes", an.swapaxes, np.swapaxes, _composite(_two_axes)),
    OpInfo("transpose", an.transpose, np.swapaxes, _composite(_two_axes), variant="two_axes"),
    OpInfo("expand", an.expand, np.broadcast_to, _composite(_expand)),
    OpInfo(
        "concatenate",
        lambda *xs, axis: an.concatenate(xs, axis=axis),
        lambda *xs, axis: np.concatenate(xs, axis=axis),
        _joined(new_axis=False),
        covers=(an.concatenate,),
    ),
    OpInfo(
        "stack",
        lambda *xs, axis: an.stack(xs, axis=axis),
        lambda *xs, axis: np.stack(xs, axis=axis),
        _joined(new_axis=True),
        covers=(an.stack,),
    ),
    OpInfo(
        "pad",
        an.pad,
        lambda x, w, constant_values: (
            np.pad(x, w, constant_values=constant_values) if x.ndim else x
        ),
        _composite(_pad),
    ),
    OpInfo("split", an.split, _pieces, _composite(_split)),
    OpInfo(
        "chunk",
        an.chunk,
        lambda x, chunks, axis: _pieces(x, -(-x.shape[axis] // chunks), axis),
        _composite(_split),
    ),
    OpInfo(
        "squeeze",
        an.squeeze,
        lambda x, axis: np.squeeze(
            x,
            axis
            if axis is None
            else tuple(a for a in ((axis,) if isinstance(axis, int) else axis) if x.shape[a] == 1),
        ),
        _composite(_squeeze),
    ),
    OpInfo("unsqueeze", an.unsqueeze, np.expand_dims, _composite(_unsqueeze)),
    OpInfo("flatten", an.flatten, _flatten_ref, _composite(_flatten)),
    OpInfo("flip", an.flip, np.flip, _composite(_flip)),
    OpInfo("roll", an.roll, np.roll, _composite(_roll)),
    OpInfo("repeat", an.repeat, np.repeat, _repeat(counts=False)),
    OpInfo("repeat", an.repeat, np.repeat, _repeat(counts=True), variant="counts"),
    OpInfo("repeat", an.repeat, np.repeat, _repeat(counts=False, flat=True), variant="flat"),
    OpInfo("tile", an.tile, np.tile, _composite(_tile)),
    # -- indexing
    OpInfo(
        "getitem", an.getitem, lambda x, index: x[index], _composite(_basic_index), variant="basic"
    ),
    OpInfo(
        "getitem",
        an.getitem,
        lambda x, index: x[index],
        _composite(_integer_index),
        variant="integer_array",
    ),
    OpInfo(
        "getitem", an.getitem, lambda x, index: x[index], _composite(_mask_index), variant="mask"
    ),
    OpInfo(
        "getitem",
        an.getitem,
        lambda x, index: x[index],
        _composite(_rows_and_columns),
        variant="rows_and_columns",
    ),
    OpInfo("take_along_axis", an.take_along_axis, np.take_along_axis, _along(torch_style=False)),
    OpInfo(
        "gather",
        an.gather,
        lambda x, dim, index: np.take_along_axis(
            x[tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))],
            index,
            dim,
        ),
        _along(torch_style=True),
    ),
    OpInfo("scatter_add", an.scatter_add, _scatter_add_ref, _composite(_scatter_add)),
    # -- softmax
    OpInfo(
        "softmax",
        an.softmax,
        _softmax,
        axis_samples(min_side=1),
        kind="axis",
        torch=_t_axis("softmax"),
    ),
    OpInfo(
        "log_softmax",
        an.log_softmax,
        lambda x, axis: np.log(_softmax(x, axis)),
        axis_samples(min_side=1),
        kind="axis",
        torch=_t_axis("log_softmax"),
        atol=1e-10,
    ),
    OpInfo(
        "softmax_cross_entropy",
        an.softmax_cross_entropy,
        _cross_entropy,
        _composite(_cross_entropy_samples),
        rtol=1e-10,
    ),
    OpInfo(
        "nn.functional.cross_entropy",
        F.cross_entropy,
        _cross_entropy,
        _composite(_cross_entropy_samples),
        covers=(F.cross_entropy,),
        rtol=1e-10,
    ),
    # -- sliding windows
    OpInfo("unfold", an.unfold, _unfold, _windows(fold=False)),
    OpInfo("fold", an.fold, _fold, _windows(fold=True)),
    OpInfo(
        "nn.functional.conv2d",
        F.conv2d,
        _conv2d,
        _composite(_conv2d_samples),
        covers=(F.conv2d,),
        rtol=1e-10,
        atol=1e-10,
    ),
    OpInfo(
        "nn.functional.max_pool2d",
        F.max_pool2d,
        _pool2d(np.max),
        _composite(_pool2d_samples),
        covers=(F.max_pool2d,),
        domain="no ties within a window",
        smooth=False,
    ),
    OpInfo(
        "nn.functional.avg_pool2d",
        F.avg_pool2d,
        _pool2d(np.mean),
        _composite(_pool2d_samples),
        covers=(F.avg_pool2d,),
        rtol=1e-10,
        atol=1e-12,
    ),
    # -- matrices
    OpInfo("tril", an.tril, np.tril, _composite(_matrix)),
    OpInfo("triu", an.triu, np.triu, _composite(_matrix)),
    OpInfo("diagonal", an.diagonal, np.diagonal, _composite(_diagonal)),
    OpInfo("trace", an.trace, np.trace, _composite(_diagonal)),
    OpInfo("outer", an.outer, np.outer, binary_samples()),
    *[
        OpInfo(
            "einsum",
            an.einsum,
            np.einsum,
            _einsum(subscripts, ellipsis),
            variant=variant,
            rtol=1e-10,
            atol=1e-10,
        )
        for variant, subscripts, ellipsis in [
            ("matmul", "ij,jk->ik", 0),
            ("batch", "bij,bjk->bik", 0),
            ("trace", "ii", 0),
            ("diagonal", "ii->i", 0),
            ("ellipsis", "...ij,...jk", 2),
            ("outer", "i,j->ij", 0),
            ("sum", "ij->", 0),
            ("three", "ij,jk,kl->li", 0),
            ("repeated", "iij,j->i", 0),
        ]
    ],
    # -- linear algebra
    OpInfo("inv", an.linalg.inv, np.linalg.inv, _square_matrices(), rtol=1e-9, atol=1e-12),
    OpInfo("det", an.linalg.det, np.linalg.det, _square_matrices(), rtol=1e-9, atol=1e-12),
    OpInfo(
        "slogdet", an.linalg.slogdet, np.linalg.slogdet, _square_matrices(), rtol=1e-9, atol=1e-12
    ),
    OpInfo(
        "solve", an.linalg.solve, np.linalg.solve, _square_matrices(rhs=True), rtol=1e-9, atol=1e-12
    ),
    OpInfo(
        "cholesky",
        lambda a, upper=False: an.linalg.cholesky(_sym(a), upper=upper),
        lambda a, upper=False: np.linalg.cholesky(_sym(a), upper=upper),
        _composite(_spd),
        domain="symmetric positive definite (used as (A + Aᵀ)/2)",
        covers=(an.linalg.cholesky,),
        rtol=1e-9,
        atol=1e-12,
    ),
]


def entry(id: str) -> OpInfo:
    """The entry with this ``id`` (``"exp"``, ``"softplus.beta"``)."""
    for info in op_db:
        if info.id == id:
            return info
    raise KeyError(f"op_db has no entry {id!r}")


def _check_ids(entries: Sequence[OpInfo]) -> None:
    seen = set()
    for info in entries:
        if info.id in seen:
            raise ValueError(f"op_db: two entries are called {info.id!r}")
        seen.add(info.id)


_check_ids(op_db)
