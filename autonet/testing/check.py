"""``check_function``: the one call that tests a new operation, under Hypothesis.

Given a function of tensors (a composite function, a ``Function`` subclass, anything), it
draws inputs (shapes with 0-d tensors and axes of size 0 and 1, broadcasting pairs for an
elementwise function, values from the domain you give) and checks, on every example:

1. the output's dtype is the inputs' (float32 in, float32 out: no float64 leaks);
2. the inputs are not changed (by the forward pass or the backward pass);
3. nothing is recorded under ``no_grad``;
4. the gradients agree with finite differences, for every choice of which inputs require
   grad: a primitive keeps only what it declares (``saves_inputs``, ``saves_output``) and
   gets a NaN stand-in or ``None`` for the rest, so one that reads what it did not declare
   fails for the choice where that input is not kept;
5. second derivatives agree too (unless ``smooth=False``).

A failure raises :class:`CheckFunctionError` for the smallest failing example Hypothesis
found, showing that example's inputs, what failed, where (input and element) and both values.
"""

from __future__ import annotations

import inspect
import itertools
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autonet.engine.autograd import backward
from autonet.engine.function import Function, watch_recording
from autonet.engine.grad_mode import no_grad
from autonet.engine.tensor import Tensor, wrap
from autonet.testing import strategies as ast
from autonet.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["CheckFunctionError", "check_function"]


class CheckFunctionError(AssertionError):
    """``check_function`` found an example where the function misbehaves."""


def check_function(
    f: Callable[..., Any] | type[Function],
    *inputs: Any,
    elementwise: bool = False,
    elements: Any = None,
    shapes: Any = None,
    smooth: bool = True,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_examples: int | None = None,
) -> None:
    """Test ``f`` (a function of tensors, or a ``Function`` subclass) on examples Hypothesis
    draws; raise :class:`CheckFunctionError` for the smallest failing one.

    ``inputs`` gives each input: a Hypothesis strategy (of tensors or arrays), a shape tuple,
    or a fixed tensor or array (integer tensors and numbers are passed through as constants).
    Without ``inputs``, ``f``'s positional parameters are counted and each gets tensors of
    one shape (``shapes``: a strategy of shapes, ``ast.shapes()`` by default), or, with
    ``elementwise=True``, shapes that broadcast together. ``elements`` (a strategy of floats,
    or a ``(low, high)`` pair) is the domain of the drawn values. ``smooth=False`` skips
    second derivatives; ``eps``, ``atol``, ``rtol`` go to the gradient checks; the number
    of examples is the Hypothesis profile's unless ``max_examples`` says.

    >>> import autonet as an
    >>> from autonet.testing import check_function
    >>> class Cube(an.Function):
    ...     \"\"\"y = x³;  dy/dx = 3x².\"\"\"
    ...     name = "cube"
    ...     def forward(self, x):
    ...         return x**3
    ...     def backward(self, g, y, x):
    ...         return (g * 3 * x * x,)
    >>> check_function(Cube, elements=(-3, 3))
    >>> check_function(lambda a, b: (a * b).tanh(), elementwise=True)
    """
    fn, name = _as_function(f)
    drawn = _inputs(f, inputs, elementwise, elements, shapes)
    checks = _Checks(fn, name, f if _is_function_class(f) else None, smooth, eps, atol, rtol)
    options = settings(
        settings.default,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
        **({} if max_examples is None else {"max_examples": max_examples}),
    )
    options(given(drawn)(checks.example))()


def _is_function_class(f: Any) -> bool:
    return isinstance(f, type) and issubclass(f, Function)


def _as_function(f: Any) -> tuple[Callable[..., Any], str]:
    if _is_function_class(f):
        return f.apply, f.__name__
    return f, getattr(f, "__name__", type(f).__name__)


def _arity(f: Any) -> int:
    """How many tensors ``f`` takes: its positional parameters without defaults (for a
    ``Function``, its ``forward``'s)."""
    target = f.forward if _is_function_class(f) else f
    params = list(inspect.signature(target).parameters.values())
    if _is_function_class(f):
        params = params[1:]  # self
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        raise TypeError("check_function: f takes *args: say what its inputs are")
    return sum(p.kind in kinds and p.default is p.empty for p in params)


def _inputs(f: Any, inputs: Sequence[Any], elementwise: bool, elements: Any,
            shapes: Any) -> st.SearchStrategy[tuple[Any, ...]]:  # fmt: skip
    """A strategy of input tuples from what the caller gave (or from ``f``'s arity)."""
    if isinstance(elements, tuple):
        elements = st.floats(*elements, allow_nan=False, allow_infinity=False)
    if inputs:
        return st.tuples(*[_one(spec, elements) for spec in inputs])
    n = _arity(f)
    if elementwise:
        shape_sets = ast.broadcastable_shapes(n) if shapes is None else shapes
    else:
        shape_sets = (ast.shapes() if shapes is None else shapes).map(lambda s: (s,) * n)
    return shape_sets.flatmap(
        lambda ss: st.tuples(*[ast.tensors(shape=s, elements=elements) for s in ss])
    )


def _one(spec: Any, elements: Any) -> st.SearchStrategy[Any]:
    if isinstance(spec, st.SearchStrategy):
        return spec.map(lambda v: wrap(np.asarray(v)) if isinstance(v, np.ndarray) else v)
    if isinstance(spec, tuple) and all(isinstance(n, int) for n in spec):
        return ast.tensors(shape=spec, elements=elements)
    if isinstance(spec, np.ndarray):
        return st.just(wrap(spec))
    return st.just(spec)


def _floating(x: Any) -> bool:
    return isinstance(x, Tensor) and x.dtype.kind == "f"


def _outputs(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


class _Checks:
    """The checks of one example (``example`` is what Hypothesis calls)."""

    def __init__(self, fn: Callable[..., Any], name: str, cls: Any, smooth: bool, eps: float,
                 atol: float, rtol: float) -> None:  # fmt: skip
        self.fn, self.name, self.cls, self.smooth = fn, name, cls, smooth
        self.tolerances = {"eps": eps, "atol": atol, "rtol": rtol}

    # ---- one example -------------------------------------------------------------------
    def example(self, inputs: tuple[Any, ...]) -> None:
        self.inputs = inputs
        self.positions = [i for i, x in enumerate(inputs) if _floating(x)]
        outs = self.call(self.copies(np.float64), "the forward pass (float64 inputs)")
        if not any(_floating(o) for o in _outputs(outs)):
            return  # nothing to differentiate
        self.check_dtypes(outs)
        self.check_inputs_unchanged()
        self.check_nothing_recorded_under_no_grad()
        self.check_gradients()
        if self.smooth:
            self.check_second_derivatives()

    def copies(self, dtype: Any, flags: Sequence[bool] | None = None) -> list[Any]:
        """The inputs, each floating tensor a fresh leaf of ``dtype`` requiring grad as
        ``flags`` say (none by default)."""
        args = list(self.inputs)
        for k, i in enumerate(self.positions):
            args[i] = wrap(np.array(self.inputs[i].numpy(), dtype=dtype))
            if flags is not None and flags[k]:
                args[i].requires_grad = True
        return args

    def call(self, args: list[Any], what: str) -> Any:
        try:
            return self.fn(*args)
        except Exception as e:
            self.fail(f"{what} raised {type(e).__name__}: {e}", cause=e)

    # ---- the checks --------------------------------------------------------------------
    def check_dtypes(self, outs64: Any) -> None:
        for k, o in enumerate(_outputs(outs64)):
            if _floating(o) and o.dtype != np.float64:
                self.fail(f"output {k} is {o.dtype} for float64 inputs (it must keep their dtype)")
        args = self.copies(np.float32, [True] * len(self.positions))
        outs = _outputs(self.call(args, "the forward pass (float32 inputs)"))
        for k, o in enumerate(outs):
            if _floating(o) and o.dtype != np.float32:
                self.fail(
                    f"output {k} is {o.dtype} for float32 inputs: a float64 leak (the output "
                    "must keep its inputs' dtype; look for float64 arrays or NumPy scalars)"
                )
        self.backward(outs, "the backward pass (float32 inputs)")
        for i in self.positions:
            g = args[i].grad
            if g is not None and g.dtype != np.float32:
                self.fail(f"the gradient of input {i} is {g.dtype} for a float32 input")

    def check_inputs_unchanged(self) -> None:
        args = self.copies(np.float64, [True] * len(self.positions))
        before = [a.numpy().copy() for a in args if _floating(a)]
        outs = _outputs(self.call(args, "the forward pass"))
        for stage in ("forward", "backward"):
            if stage == "backward":
                self.backward(outs, "the backward pass")
            for i, was in zip(self.positions, before):
                now = args[i].numpy()
                if now.shape != was.shape:
                    self.fail(f"the {stage} pass changed input {i}'s shape from {was.shape} "
                              f"to {now.shape}")  # fmt: skip
                changed = (now != was) & ~(np.isnan(now) & np.isnan(was))
                if changed.any():
                    at = tuple(int(j) for j in np.argwhere(changed)[0])
                    self.fail(
                        f"the {stage} pass changed input {i} in place: at index {at} it was "
                        f"{was[at].item()!r} and is now {now[at].item()!r}"
                    )

    def check_nothing_recorded_under_no_grad(self) -> None:
        args = self.copies(np.float64, [True] * len(self.positions))
        me, recorded = threading.get_ident(), []

        def watch(node: Any, out: Any) -> None:
            if threading.get_ident() == me:
                recorded.append(node.name)

        with watch_recording(watch), no_grad():
            outs = _outputs(self.call(args, "the forward pass under no_grad"))
        if recorded:
            self.fail(f"under no_grad it recorded {', '.join(recorded)}")
        for k, o in enumerate(outs):
            if isinstance(o, Tensor) and o.requires_grad and not any(o is a for a in args):
                self.fail(f"under no_grad output {k} requires grad")

    def check_gradients(self) -> None:
        n = len(self.positions)
        if not n:
            return
        everything = (True,) * n
        self.gradient(everything, "the gradient disagrees with finite differences")
        for flags in itertools.product([False, True], repeat=n):
            if any(flags) and flags != everything:
                self.gradient(flags, self.saves_message(flags))

    def check_second_derivatives(self) -> None:
        if not self.positions:
            return
        args = self.copies(np.float64, [True] * len(self.positions))
        try:
            gradgradcheck(self.fn, args, **self.tolerances)
        except Exception as e:
            self.fail(
                "the second derivative disagrees with finite differences (is backward written "
                "with operations that record? pass smooth=False where it is not smooth)",
                detail=str(e),
                cause=e,
            )

    def gradient(self, flags: Sequence[bool], what: str) -> None:
        args = self.copies(np.float64, flags)
        try:
            gradcheck(self.fn, args, **self.tolerances)
        except Exception as e:
            if _read_what_was_not_kept(e):
                what = self.saves_message(flags)
            self.fail(what, detail=_short(e), cause=e)

    def saves_message(self, flags: Sequence[bool]) -> str:
        which = [i for i, f in zip(self.positions, flags) if f]
        declared = ""
        if self.cls is not None:
            declared = (
                f" ({self.cls.__name__} declares saves_inputs = {self.cls.saves_inputs!r}, "
                f"saves_output = {self.cls.saves_output!r})"
            )
        when = (
            "when every input requires grad"
            if all(flags)
            else f"when only input(s) {', '.join(map(str, which))} require grad"
        )
        return (
            f"backward reads something its declaration does not keep{declared}: {when}, "
            "what a node does not keep reaches backward as a NaN stand-in or None"
        )

    def backward(self, outs: list[Any], what: str) -> None:
        roots = [o.sum() for o in outs if isinstance(o, Tensor) and o.requires_grad]
        if roots:
            try:
                backward(roots)
            except Exception as e:
                if _read_what_was_not_kept(e):
                    self.fail(self.saves_message([True] * len(self.positions)), _short(e), e)
                self.fail(f"{what} raised {type(e).__name__}: {e}", cause=e)

    def fail(self, what: str, detail: str = "", cause: Exception | None = None) -> None:
        shown = (
            "\n".join(f"    input {i} = {_show(x)}" for i, x in enumerate(self.inputs))
            or "    (no inputs)"
        )
        message = (
            f"check_function({self.name}): {what}\n"
            f"  the smallest failing example Hypothesis found:\n{shown}"
            + (f"\n  {detail}" if detail else "")
        )
        raise CheckFunctionError(message) from cause


def _read_what_was_not_kept(e: Exception) -> bool:
    """Whether an error looks like a backward that read a value the node did not keep: an
    operation on None, or NaN from a stand-in."""
    if isinstance(e, GradcheckError):
        return e.engine is not None and math.isnan(e.engine)
    return "NoneType" in str(e)


def _short(e: Exception) -> str:
    text = str(e)
    if isinstance(e, GradcheckError):
        return text
    return f"{type(e).__name__}: {text}"


def _show(x: Any) -> str:
    if isinstance(x, Tensor):
        return " ".join(repr(x).split())  # one line
    return repr(x)
