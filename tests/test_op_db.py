"""Every operation in autonet.testing.op_db, under Hypothesis: values against the NumPy
reference, gradients against finite differences (with every choice of inputs that require
grad, so that a primitive reading what it did not save is caught), second derivatives where
smooth, float32 kept, inputs left unchanged, nothing recorded under no_grad. And op_db itself
is complete: every registered operation has an entry, and every primitive is reached."""

from __future__ import annotations

import inspect
import itertools
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import autonet as an
from autonet.engine import ops, registry
from autonet.engine.function import Function, watch_recording
from autonet.engine.tensor import Tensor, wrap
from autonet.testing import gradcheck, gradgradcheck
from autonet.testing.op_db import Sample, op_db

ENTRIES = {info.id: info for info in op_db}
WITH_REF = [i for i, info in ENTRIES.items() if info.ref is not None]
DIFFERENTIABLE = [i for i, info in ENTRIES.items() if info.differentiable]
SMOOTH = [i for i in DIFFERENTIABLE if ENTRIES[i].smooth]
NOT_DIFFERENTIABLE = [i for i, info in ENTRIES.items() if not info.differentiable]
# the checks that need few examples run a quarter of the profile's (CI: 5 of 20)
FEW = settings(max_examples=max(3, settings.default.max_examples // 4))


def floating(sample: Sample) -> list[int]:
    """Positions of the floating tensors among a sample's arguments."""
    return [i for i, a in enumerate(sample.args) if isinstance(a, Tensor) and a.dtype.kind == "f"]


def with_grad(sample: Sample, flags: tuple[bool, ...] | None = None, dtype=None) -> list:
    """The sample's arguments, each floating tensor a fresh copy (converted to ``dtype``)
    requiring grad as ``flags`` say (all of them by default)."""
    args = list(sample.args)
    positions = floating(sample)
    for i, flag in zip(positions, flags or (True,) * len(positions)):
        data = args[i].numpy().astype(dtype or args[i].dtype)
        args[i] = wrap(data)
        args[i].requires_grad = flag
    return args


def bound(info, sample: Sample):
    return lambda *args: info.op(*args, **sample.kwargs)


def outputs(out) -> list[Tensor]:
    return list(out) if isinstance(out, tuple) else [out]


def squared(info, sample: Sample):
    """The operation with each floating output squared, so that even a linear operation has
    second derivatives: they check that its backward is recorded as a function of g."""

    def fn(*args):
        return tuple(o * o for o in outputs(info.op(*args, **sample.kwargs)) if o.dtype.kind == "f")

    return fn


def patterns(n: int) -> list[tuple[bool, ...]]:
    """Every non-empty choice of which of ``n`` inputs require grad."""
    return [flags for flags in itertools.product([False, True], repeat=n) if any(flags)]


def assert_outputs_close(actual, expected, rtol: float, atol: float) -> None:
    actual = outputs(actual)
    expected = list(expected) if isinstance(expected, tuple) else [expected]
    assert len(actual) == len(expected), f"{len(actual)} outputs, expected {len(expected)}"
    for a, e in zip(actual, expected):
        e = np.asarray(e)
        assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
        assert a.dtype.kind == e.dtype.kind or (a.dtype.kind in "iu" and e.dtype.kind in "iu"), (
            f"dtype {a.dtype} != {e.dtype}"
        )
        np.testing.assert_allclose(a.numpy(), e, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", WITH_REF)
@given(data=st.data())
def test_values_match_numpy(name, data):
    info = ENTRIES[name]
    sample = data.draw(info.samples())
    expected = info.ref(*sample.arrays(), **sample.kwargs)
    assert_outputs_close(info.op(*sample.args, **sample.kwargs), expected, info.rtol, info.atol)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@given(data=st.data())
def test_gradients_with_every_choice_of_inputs_that_require_grad(name, data):
    """Gradients against finite differences, for every choice of which inputs require grad.

    A node keeps only what its backward declares it reads (``saves_inputs``,
    ``saves_output``); an input it does not keep reaches backward as a NaN stand-in or None.
    So a primitive that reads what it did not declare gives NaN or fails here, for the
    choice of inputs where that input is not kept."""
    info = ENTRIES[name]
    sample = data.draw(info.samples())
    for flags in patterns(len(floating(sample))):
        args = with_grad(sample, flags)
        assert gradcheck(bound(info, sample), args, **info.gradcheck), f"requires_grad={flags}"


@pytest.mark.parametrize("name", SMOOTH)
@given(data=st.data())
def test_second_derivatives_with_every_choice_of_inputs_that_require_grad(name, data):
    info = ENTRIES[name]
    sample = data.draw(info.samples(max_dims=2, max_side=3))
    for flags in patterns(len(floating(sample))):
        args = with_grad(sample, flags)
        assert gradgradcheck(squared(info, sample), args, **info.gradcheck), f"{flags}"


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@FEW
@given(data=st.data())
def test_float32_stays_float32(name, data):
    info = ENTRIES[name]
    sample = data.draw(info.samples(max_dims=2, max_side=3))
    args = with_grad(sample, dtype=np.float32)
    outs = [o for o in outputs(info.op(*args, **sample.kwargs)) if o.dtype.kind == "f"]
    assert all(o.dtype == np.float32 for o in outs), [o.dtype for o in outs]
    total = sum((o.sum() for o in outs if o.requires_grad), an.tensor(0.0))
    if total.requires_grad:
        total.backward()
    for i in floating(sample):
        assert args[i].grad is None or args[i].grad.dtype == np.float32


@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE)
@given(data=st.data())
def test_results_without_gradient_do_not_require_grad(name, data):
    info = ENTRIES[name]
    sample = data.draw(info.samples())
    out = info.op(*with_grad(sample), **sample.kwargs)
    assert not any(o.requires_grad for o in outputs(out))


@pytest.mark.parametrize("name", list(ENTRIES))
@FEW
@given(data=st.data())
def test_inputs_are_not_changed(name, data):
    info = ENTRIES[name]
    sample = data.draw(info.samples())
    args = with_grad(sample) if info.differentiable else list(sample.args)
    before = [np.array(a.numpy(), copy=True) if isinstance(a, Tensor) else None for a in args]
    out = [o for o in outputs(info.op(*args, **sample.kwargs)) if o.requires_grad]
    if out:
        an.backward([o.sum() for o in out])
    for a, b in zip(args, before):
        if b is not None:
            np.testing.assert_array_equal(a.numpy(), b)


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@FEW
@given(data=st.data())
def test_nothing_is_recorded_under_no_grad(name, data):
    info = ENTRIES[name]
    sample = data.draw(info.samples())
    args = with_grad(sample)
    me = threading.get_ident()
    recorded = []
    with watch_recording(lambda node, out: recorded.append(node) if threading.get_ident() == me
                         else None), an.no_grad():  # fmt: skip
        out = info.op(*args, **sample.kwargs)
    assert not recorded, [node.name for node in recorded]
    # (an operation that changes nothing may return its input itself, as expand does)
    assert not any(o.requires_grad for o in outputs(out) if not any(o is a for a in args))


# ---- op_db is complete ---------------------------------------------------------------------


def registered_operations() -> dict[str, object]:
    """Every operation autonet exports or registers (methods, operators, NumPy handlers)."""
    found = {name: getattr(ops, name) for name in ops.__all__}
    for table in (registry.METHODS, registry.OPERATORS):
        found.update({f"Tensor.{name}": fn for name, fn in table.items()})
    for table in (registry.UFUNCS, registry.NUMPY_FUNCTIONS):
        for key, fn in table.items():
            if getattr(fn, "__module__", "").startswith("autonet.engine.ops"):
                found[f"np.{key.__name__}"] = fn
    return {name: fn for name, fn in found.items() if inspect.isfunction(fn)}


def test_every_registered_operation_has_an_op_db_entry():
    covered = {fn for info in op_db for fn in info.functions()}
    missing = sorted(name for name, fn in registered_operations().items() if fn not in covered)
    assert not missing, f"no op_db entry tests {missing}: add one to autonet/testing/op_db.py"


def primitives() -> set[type[Function]]:
    """Every primitive of autonet.engine.ops (the classes with a forward of their own)."""
    found, todo = set(), [Function]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("autonet.engine.ops") and "forward" in vars(sub):
                found.add(sub)
    return found


def has_elements(sample: Sample) -> bool:
    return all(sample.args[i].size > 0 and sample.args[i].ndim > 0 for i in floating(sample))


def test_every_primitive_is_reached_by_op_db():
    """Every primitive runs, forward or in a backward pass (recorded, so that the primitives
    only backward passes use are seen too), in some op_db entry's sample."""
    reached: set[type] = set()
    me = threading.get_ident()

    def run(info):
        @settings(max_examples=1, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(info.samples(max_dims=2, max_side=2).filter(has_elements))
        def second_order(sample):
            args = with_grad(sample)
            outs = [o for o in outputs(info.op(*args, **sample.kwargs)) if o.requires_grad]
            wrt = [args[i] for i in floating(sample)]
            if outs:
                total = sum(((o * o).sum() for o in outs), an.tensor(0.0, dtype=an.float64))
                grads = an.grad(total, wrt, create_graph=True, allow_unused=True)
                again = [(g * g).sum() for g in grads if g is not None and g.requires_grad]
                if again:
                    an.grad(sum(again), wrt, allow_unused=True)

        second_order()

    with watch_recording(lambda node, out: reached.add(type(node)) if threading.get_ident() == me
                         else None):  # fmt: skip
        for name in DIFFERENTIABLE:
            run(ENTRIES[name])
    missing = sorted(p.__name__ for p in primitives() - reached)
    assert not missing, f"no op_db sample runs {missing}"
