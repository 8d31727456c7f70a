"""Checking gradients against finite differences.

For a function f of tensors, ``gradcheck`` picks a random weighting u of f's outputs and
compares, for every element xᵢ of every tensor it checks,

    the engine's ∂(u·f)/∂xᵢ   with   (u·f(x + ε eᵢ) - u·f(x - ε eᵢ)) / 2ε,

the central difference, whose error shrinks like ε². All of it runs in float64: float32
tensors are converted first, because float32 rounding would swamp the difference quotient.

What is checked: the inputs that require grad (``wrt="inputs"``), a model's parameters
(``wrt="parameters"``, named as in its ``state_dict``: ``layers.2.weight[3, 1]``), or tensors
given by name. ``fast_mode=True`` checks each tensor along one random direction v instead of
element by element (⟨∇(u·f), v⟩ against one difference quotient along v: two evaluations per
tensor, PyTorch's fast mode), and looks element by element only at a tensor that fails.

``gradgradcheck`` applies the same test to the gradient itself, which checks second
derivatives (the backward pass recorded with ``create_graph=True``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from autonet.engine.autograd import grad
from autonet.engine.grad_mode import enable_grad
from autonet.engine.random import default_generator
from autonet.engine.tensor import Tensor, wrap


class GradcheckError(AssertionError):
    """The engine's gradient disagrees with finite differences: ``engine`` and ``numeric``
    are the two values where they disagree most (an element, or the gradient along a random
    direction in fast mode), as the message says."""

    def __init__(self, message: str, engine: float | None = None,
                 numeric: float | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.engine = engine
        self.numeric = numeric


class Checked(NamedTuple):
    """A tensor whose gradient is checked, and how messages name it."""

    name: str  # "input 0", or a parameter's name: "layers.2.weight"
    tensor: Tensor  # the float64 leaf the evaluations perturb
    is_input: bool

    def element(self, index: tuple[int, ...]) -> str:
        """``input 0 (shape (2, 3)) at index (1, 2)``, or ``layers.2.weight[1, 2]``."""
        if self.is_input:
            return f"{self.name} (shape {self.tensor.shape}) at index {index}"
        return f"{self.name}[{', '.join(map(str, index))}]" if index else self.name


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
    *,
    wrt: str | Mapping[str, Tensor] = "inputs",
    fast_mode: bool = False,
) -> bool:
    """Check ``fn``'s gradients against finite differences.

    ``wrt`` says with respect to what: ``"inputs"`` (those that require grad),
    ``"parameters"`` (``fn`` is a model: every parameter, the inputs only feed it), ``"all"``
    (both; a plain function has only inputs), or a dict of named tensors that ``fn`` uses.
    Returns True, or raises :class:`GradcheckError` naming the tensor, the element, both
    values and the tolerance (returns False instead with ``raise_exception=False``). An
    element passes when ``|engine - numeric| <= atol + rtol * |numeric|``.

    ``fn`` is evaluated with autonet's random generator in the same state every time (so
    dropout draws the same mask), and the generator is left as it was.

    >>> import autonet as an
    >>> x = an.tensor([[0.5, -1.0], [2.0, 0.1]], requires_grad=True)
    >>> an.testing.gradcheck(lambda t: (t.tanh() * t).sum(axis=1), (x,))
    True
    >>> _ = an.manual_seed(0)
    >>> model = an.nn.Sequential(an.nn.Linear(3, 4), an.nn.Tanh(), an.nn.Linear(4, 2))
    >>> an.testing.gradcheck(model, an.randn(5, 3), wrt="parameters", fast_mode=True)
    True
    """
    weigh = _Weighting(seed)
    with _float64(fn, inputs, wrt) as (args, checked), _same_randomness() as replay:

        def weighted(*xs: Any) -> Tensor:
            replay()
            return weigh(fn(*xs))

        with enable_grad():
            total = weighted(*args)
            tensors = [c.tensor for c in checked]
            if total.requires_grad:
                engine = grad(total, tensors, allow_unused=True)
            else:  # no output depends on them: every gradient is zero
                engine = (None,) * len(tensors)
            directions = np.random.default_rng(seed + 7)
            worst = None
            for c, g in zip(checked, engine):
                analytic = np.zeros_like(c.tensor.data) if g is None else g.data
                direction = None
                if fast_mode and c.tensor.size > 1:
                    direction = _along_a_direction(weighted, args, c, analytic, eps, atol, rtol,
                                                   directions)  # fmt: skip
                    if direction is None:
                        continue  # it agrees along a random direction
                # element by element (in fast mode: only for a tensor that failed, to name it)
                numeric = _central_differences(weighted, args, c.tensor, eps)
                found = _worst_element(c, analytic, numeric, atol, rtol)
                if direction is not None and (found is None or found[0] <= 0):
                    text, a, n = direction
                    found = (1.0, f"{text} (each element alone is within tolerance)", a, n)
                if found is not None and (worst is None or found[0] > worst[0]):
                    worst = found
    if worst is None or worst[0] <= 0:
        return True
    _, text, a, n = worst
    if raise_exception:
        raise GradcheckError(f"gradcheck: the gradient of {text}", engine=a, numeric=n)
    return False


def _worst_element(c: Checked, analytic: np.ndarray, numeric: np.ndarray, atol: float,
                   rtol: float) -> tuple[float, str, float, float] | None:  # fmt: skip
    """The element that misses its tolerance by most (NaN on one side only counts as
    infinitely far): by how much, its description, and its two values."""
    if not numeric.size:
        return None
    excess = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
    one_nan = np.isnan(analytic) != np.isnan(numeric)
    excess = np.where(one_nan, np.inf, np.nan_to_num(excess, nan=-np.inf))
    at = np.unravel_index(int(np.argmax(excess)), excess.shape)
    a, n = float(analytic[at]), float(numeric[at])
    tol = atol + rtol * abs(n)
    index = tuple(int(j) for j in at)
    return (
        float(excess[at]),
        (
            f"{c.element(index)} is {a!r} by the engine but {n!r} by finite differences "
            f"(difference {abs(a - n):.3g} > tolerance {tol:.3g})"
        ),
        a,
        n,
    )


def _along_a_direction(f: Callable[..., Tensor], args: list[Any], c: Checked,
                       analytic: np.ndarray, eps: float, atol: float, rtol: float,
                       rng: np.random.Generator) -> tuple[str, float, float] | None:  # fmt: skip
    """``None`` when ⟨engine gradient, v⟩ agrees with (f(x + εv) - f(x - εv))/2ε for a random
    unit direction v; else a description of the disagreement and the two values."""
    v = rng.standard_normal(c.tensor.shape)
    v /= np.linalg.norm(v)
    data = c.tensor.data
    original = data.copy()
    try:
        data += eps * v
        plus = f(*args).item()
        data[...] = original - eps * v
        minus = f(*args).item()
    finally:
        data[...] = original
    numeric = (plus - minus) / (2 * eps)
    a = float(np.sum(analytic * v))
    if abs(a - numeric) <= atol + rtol * abs(numeric):
        return None
    return f"{c.name} along a random direction is {a!r} by the engine but {numeric!r}", a, numeric


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: ``gradcheck`` applied to the gradient of ``fn`` with respect
    to its inputs that require grad (computed with ``create_graph=True``, so the engine
    differentiates its own backward pass).

    >>> import autonet as an
    >>> x = an.tensor([0.3, -0.7], requires_grad=True)
    >>> an.testing.gradgradcheck(lambda t: t.sigmoid() * t.exp(), (x,))
    True
    """
    weigh = _Weighting(seed + 1)

    def first_derivatives(*xs: Any) -> tuple[Tensor, ...]:
        wrt = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        total = weigh(fn(*xs))
        if not total.requires_grad:
            return tuple(wrap(np.zeros_like(x.data)) for x in wrt)
        grads = grad(total, wrt, create_graph=True, allow_unused=True)
        return tuple(wrap(np.zeros_like(x.data)) if g is None else g for x, g in zip(wrt, grads))

    return gradcheck(first_derivatives, inputs, eps, atol, rtol, raise_exception, seed)


class _Weighting:
    """u·f: the outputs of f weighted by fixed random arrays (drawn once per output shape) and
    summed, so that one scalar sees every output element with a different weight (an output
    of one element has weight 1)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.weights: list[np.ndarray] = []

    def __call__(self, out: Any) -> Tensor:
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
        if not outs:
            raise ValueError("gradcheck: the function returned no floating-point tensor")
        while len(self.weights) < len(outs):
            shape = outs[len(self.weights)].shape
            # (one element needs no weight: its derivative is then the one reported)
            u = self.rng.standard_normal(shape) if np.prod(shape) != 1 else np.ones(shape)
            self.weights.append(u)
        total = wrap(np.zeros((), np.float64))
        for o, u in zip(outs, self.weights):
            total = total + (o * u).sum()
        return total


def _float64_copies(inputs: Tensor | Sequence[Any]) -> list[Any]:
    """Fresh float64 leaves with the same ``requires_grad``; other inputs pass unchanged."""
    items = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    out = []
    for a in items:
        if isinstance(a, Tensor) and a.dtype.kind == "f":
            c = wrap(a.data.astype(np.float64))
            c.requires_grad = a.requires_grad
            out.append(c)
        else:
            out.append(a)
    return out


@contextlib.contextmanager
def _float64(fn: Any, inputs: Any, wrt: Any) -> Iterator[tuple[list[Any], list[Checked]]]:
    """The inputs as float64 copies, and the tensors to check: while the check runs, the
    parameters (or named tensors) it checks, and a model's floating buffers, hold float64
    copies of their values; their own arrays come back afterwards."""
    args = _float64_copies(inputs)
    checked: list[Checked] = []
    if wrt in ("inputs", "all"):
        checked += [
            Checked(f"input {i}", a, True)
            for i, a in enumerate(args)
            if isinstance(a, Tensor) and a.requires_grad
        ]
    named: dict[str, Tensor] = {}
    if wrt == "parameters" or (wrt == "all" and hasattr(fn, "named_parameters")):
        if not hasattr(fn, "named_parameters"):
            raise TypeError("gradcheck: wrt='parameters' needs a model (a Module) as fn")
        named = dict(fn.named_parameters())
    elif isinstance(wrt, Mapping):
        named = dict(wrt)
    elif wrt not in ("inputs", "all"):
        raise ValueError(
            f"gradcheck: wrt must be 'inputs', 'parameters', 'all' or a dict, not {wrt!r}"
        )
    swapped = list(named.values())
    if hasattr(fn, "named_buffers"):
        swapped += [b for _, b in fn.named_buffers() if b is not None]
    originals = [(t, t.data) for t in swapped if t.dtype.kind == "f"]
    try:
        for t, data in originals:
            t.data = data.astype(np.float64)
        for name, t in named.items():
            if not t.requires_grad:
                raise ValueError(f"gradcheck: {name} does not require grad")
            checked.append(Checked(name, t, False))
        if not checked:
            raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
        yield args, checked
    finally:
        for t, data in originals:
            t.data = data


@contextlib.contextmanager
def _same_randomness() -> Iterator[Callable[[], None]]:
    """A function that puts autonet's generator back in the state it had at the start (each
    evaluation then draws the same numbers), and the state restored at the end."""
    generator = default_generator()
    state = generator.bit_generator.state

    def replay() -> None:
        generator.bit_generator.state = state

    try:
        yield replay
    finally:
        replay()


def _central_differences(
    f: Callable[..., Tensor], args: list[Any], x: Tensor, eps: float
) -> np.ndarray:
    numeric = np.zeros(x.shape, x.data.dtype)
    data = x.data  # NOTE: changed element by element where it is, whatever its layout (a
    # flat reshape of a transposed array is a copy, whose changes x would never see)
    for at in np.ndindex(*x.shape):
        original = data[at]
        data[at] = original + eps
        plus = f(*args).item()
        data[at] = original - eps
        minus = f(*args).item()
        data[at] = original
        numeric[at] = (plus - minus) / (2 * eps)
    return numeric
