"""Random programs: small computation graphs over the operations of
:mod:`autonet.testing.op_db`, for differential testing.

A :class:`Program` is a few steps on one to three inputs whose shapes broadcast together;
each step applies an operation to earlier values. It prints as the steps it takes::

    a = input of shape (2, 3)
    b = input of shape (3,)
    t1 = mul(a, b)
    t2 = tanh(t1)
    t3 = sum(t2, axis=1, keepdims=False)
    result: t3

:meth:`Program.check_against` runs it in autonet and in a reference and compares every step's
value and the gradient with respect to every input: ``"finite differences"`` (the NumPy
references of op_db, and central differences; nothing to install) or ``"torch"`` (PyTorch's
autograd, when PyTorch is installed). :func:`autonet.testing.strategies.programs` draws them.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from autonet.engine.tensor import Tensor, wrap
from autonet.testing import strategies as ast
from autonet.testing.gradcheck import GradcheckError, gradcheck
from autonet.testing.op_db import OpInfo, op_db

__all__ = ["Program", "ProgramMismatch", "Step", "programs"]

KINDS = ("unary", "binary", "reduction", "axis")


class ProgramMismatch(AssertionError):
    """autonet and the reference disagree on a program."""


@dataclass(frozen=True)
class Step:
    """``op(values[args[0]], values[args[1]], ..., **kwargs)``."""

    info: OpInfo
    args: tuple[int, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Program:
    """Inputs (their values, float64 arrays) and the steps computed from them; the last
    step's value is the result."""

    inputs: tuple[np.ndarray, ...]
    steps: tuple[Step, ...]

    # ---- reading it ------------------------------------------------------------------
    def name(self, i: int) -> str:
        """What the steps call value ``i``: the inputs a, b, c, then t1, t2, ..."""
        n = len(self.inputs)
        return string.ascii_lowercase[i] if i < n else f"t{i - n + 1}"

    def step_text(self, k: int) -> str:
        step = self.steps[k]
        args = [self.name(i) for i in step.args]
        args += [f"{key}={value!r}" for key, value in step.kwargs.items()]
        return f"{self.name(len(self.inputs) + k)} = {step.info.name}({', '.join(args)})"

    def __str__(self) -> str:
        lines = [f"{self.name(i)} = input of shape {x.shape}" for i, x in enumerate(self.inputs)]
        lines += [self.step_text(k) for k in range(len(self.steps))]
        lines.append(f"result: {self.name(len(self.inputs) + len(self.steps) - 1)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "Program:\n    " + str(self).replace("\n", "\n    ")

    # ---- running it ------------------------------------------------------------------
    def tensors(self, requires_grad: bool = True) -> list[Tensor]:
        """The inputs as fresh float64 leaves."""
        out = []
        for x in self.inputs:
            t = wrap(np.array(x, dtype=np.float64))
            t.requires_grad = requires_grad
            out.append(t)
        return out

    def values(self, *inputs: Any, run: Any = None) -> list[Any]:
        """Every value, inputs first: each step computed by ``run(info, *args, **kwargs)``
        (autonet's operation by default)."""
        run = run or (lambda info, *args, **kwargs: info.op(*args, **kwargs))
        values = list(inputs)
        for step in self.steps:
            values.append(run(step.info, *[values[i] for i in step.args], **step.kwargs))
        return values

    def __call__(self, *inputs: Any) -> Any:
        """The result, computed by autonet from ``inputs`` (tensors)."""
        return self.values(*inputs)[-1]

    def numpy_values(self) -> list[np.ndarray]:
        """Every value computed by op_db's NumPy references."""
        with np.errstate(all="ignore"):
            return [np.asarray(v) for v in self.values(*self.inputs, run=_numpy_step)]

    # ---- checking it -----------------------------------------------------------------
    def check_against(
        self, reference: str = "finite differences", rtol: float = 1e-6, atol: float = 1e-9
    ) -> None:
        """Run the program in autonet and in ``reference`` and compare every step's value and
        the gradient with respect to every input; raise :class:`ProgramMismatch` naming the
        step or the input, the element and both values.

        ``reference`` is ``"finite differences"`` (values from op_db's NumPy references,
        gradients by central differences) or ``"torch"`` (PyTorch, which must be installed).
        """
        xs = self.tensors()
        ours = [v.numpy() for v in self.values(*xs)]
        if reference == "finite differences":
            self._compare_values(ours, self.numpy_values(), "NumPy", rtol, atol)
            try:
                gradcheck(self, xs)
            except GradcheckError as e:
                raise ProgramMismatch(f"{e}\nin the program\n{self}") from None
        elif reference == "torch":
            theirs, their_grads = self._torch()
            self._compare_values(ours, theirs, "PyTorch", rtol, atol)
            self._compare_gradients(xs, their_grads, rtol, atol)
        else:
            raise ValueError(f"check_against: unknown reference {reference!r}")

    def _compare_values(self, ours: list[np.ndarray], theirs: list[np.ndarray], who: str,
                        rtol: float, atol: float) -> None:  # fmt: skip
        for k in range(len(self.inputs), len(ours)):
            a, b = ours[k], np.asarray(theirs[k], dtype=np.float64)
            where = f"step {self.step_text(k - len(self.inputs))}"
            if a.shape != b.shape:
                raise ProgramMismatch(
                    f"{where}: autonet gives shape {a.shape}, {who} {b.shape}\n{self}"
                )
            _compare(a, b, f"{where}: autonet and {who}", rtol, atol, self)

    def _compare_gradients(self, xs: list[Tensor], theirs: list[np.ndarray], rtol: float,
                           atol: float) -> None:  # fmt: skip
        from autonet.engine.autograd import grad

        y = self(*xs)
        u = _weights(y.shape)
        ours = grad((y * u).sum(), xs, allow_unused=True)
        for i, (g, t) in enumerate(zip(ours, theirs)):
            a = np.zeros(xs[i].shape) if g is None else g.numpy()
            b = np.zeros(xs[i].shape) if t is None else t
            _compare(a, b, f"the gradient with respect to {self.name(i)}: autonet and PyTorch",
                     max(rtol, 1e-5), max(atol, 1e-8), self)  # fmt: skip

    def _torch(self) -> tuple[list[np.ndarray], list[Any]]:
        try:
            import torch
        except ImportError as e:  # (PyTorch is not a dependency of autonet)
            raise ImportError("check_against('torch') needs PyTorch installed") from e
        xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in self.inputs]
        values = self.values(*xs, run=lambda info, *args, **kw: info.torch(torch, *args, **kw))
        y = values[-1]
        u = torch.tensor(_weights(tuple(y.shape)), dtype=torch.float64)
        grads = torch.autograd.grad((y * u).sum(), xs, allow_unused=True)
        arrays = [v.detach().numpy() for v in values]
        return arrays, [None if g is None else g.numpy() for g in grads]


def _numpy_step(info: OpInfo, *args: Any, **kwargs: Any) -> Any:
    return info.ref(*args, **kwargs)


def _weights(shape: tuple[int, ...]) -> np.ndarray:
    """Fixed random weights u for the result y: gradients are those of Σ u·y."""
    return np.random.default_rng(1).standard_normal(shape)


def _compare(a: np.ndarray, b: np.ndarray, where: str, rtol: float, atol: float,
             program: Program) -> None:  # fmt: skip
    bad = ~np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
    if bad.any():
        at = tuple(int(j) for j in np.argwhere(bad)[0])
        raise ProgramMismatch(
            f"{where} differ at index {at}: {a[at].item()!r} and {b[at].item()!r}\n"
            f"in the program\n{program}"
        )


# ---- drawing programs ---------------------------------------------------------------------


def _candidates(ops: Sequence[OpInfo] | None) -> list[OpInfo]:
    chosen = op_db if ops is None else list(ops)
    return [info for info in chosen if info.kind in KINDS]


def programs(
    min_inputs: int = 1,
    max_inputs: int = 3,
    min_steps: int = 1,
    max_steps: int = 5,
    max_side: int = 3,
    ops: Sequence[OpInfo] | None = None,
) -> st.SearchStrategy[Program]:
    """Random :class:`Program`\\ s: ``min_inputs``-``max_inputs`` inputs whose shapes
    broadcast together (axes of 1 to ``max_side`` elements), and ``min_steps``-``max_steps``
    steps, each an operation of op_db (of kind unary, binary, reduction or axis; ``ops``
    narrows the choice) on earlier values. Programs whose values overflow are not drawn."""
    candidates = _candidates(ops)
    if not candidates:
        raise ValueError("programs: no operation of kind unary, binary, reduction or axis")

    @st.composite
    def draw(draw: Any) -> Program:
        n = draw(st.integers(min_inputs, max_inputs))
        shapes = draw(ast.broadcastable_shapes(n, min_side=1, max_side=max_side))
        inputs = tuple(
            draw(ast.tensors(shape=s, elements=st.floats(-2, 2))).numpy() for s in shapes
        )
        values = list(inputs)
        steps: list[Step] = []
        for _ in range(draw(st.integers(min_steps, max_steps))):
            step = _draw_step(draw, candidates, values)
            steps.append(step)
            with np.errstate(all="ignore"):
                value = np.asarray(_numpy_step(step.info, *[values[i] for i in step.args],
                                               **step.kwargs))  # fmt: skip
            assume(np.isfinite(value).all() and np.abs(value).max(initial=0) < 1e6)
            values.append(value)
        return Program(inputs, tuple(steps))

    return draw()


def _draw_step(draw: Any, candidates: list[OpInfo], values: list[np.ndarray]) -> Step:
    """One step on earlier values: an operation that fits them, and its arguments."""
    with_axes = [i for i, v in enumerate(values) if v.ndim > 0]
    usable = [c for c in candidates if c.kind in ("unary", "binary") or with_axes]
    info = draw(st.sampled_from(usable))
    last = len(values) - 1
    # the last value is the likeliest argument, so that steps build on each other
    pick = st.one_of(st.just(last), st.integers(0, last))
    if info.kind == "unary":
        return Step(info, (draw(pick),))
    if info.kind == "binary":
        a = draw(pick)
        partners = [i for i, v in enumerate(values) if _broadcast(values[a].shape, v.shape)]
        return Step(info, (a, draw(st.sampled_from(partners))))
    a = draw(st.sampled_from(with_axes))
    ndim = values[a].ndim
    if info.kind == "axis":
        return Step(info, (a,), {"axis": draw(st.integers(-ndim, ndim - 1))})
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    axis = axes[0] if len(axes) == 1 else tuple(sorted(axes))
    return Step(info, (a,), {"axis": axis, "keepdims": draw(st.booleans())})


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True
