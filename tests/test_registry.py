"""The registry: every registered operation is a Tensor method (visible to editors and type
checkers through the generated stub), exported from ``autonet``, and handles its NumPy ufunc."""

from __future__ import annotations

import inspect

import numpy as np

import autonet as an
from autonet.engine import registry, stubgen
from autonet.engine.tensor import Tensor


def test_the_method_stub_is_up_to_date():
    assert stubgen.STUB.read_text() == stubgen.stub_text(), (
        "autonet/engine/tensor_methods.pyi is out of date: run `python -m autonet.engine.stubgen`"
    )


def test_the_stub_lists_every_registered_method_with_its_signature():
    text = stubgen.STUB.read_text()
    for name, fn in registry.METHODS.items():
        assert f"    def {name}(self" in text, name
        params = list(inspect.signature(fn).parameters)[1:]
        line = next(li for li in text.splitlines() if li.startswith(f"    def {name}(self"))
        for p in params:
            assert p in line, (name, p)


def test_registered_methods_and_operators_are_the_functions():
    for name, fn in {**registry.METHODS, **registry.OPERATORS}.items():
        assert getattr(Tensor, name) is fn, name


def test_every_registered_function_is_exported_from_autonet():
    exported = {getattr(an, name) for name in an.engine.ops.__all__}
    for fn in {**registry.METHODS, **registry.OPERATORS}.values():
        assert fn in exported, f"{fn.__module__}.{fn.__name__} is not in its module's __all__"
        assert getattr(an, fn.__name__) is fn


def test_ufuncs_and_numpy_functions_run_the_registered_operations():
    x = an.tensor([0.5, 1.5], requires_grad=True)
    for ufunc, fn in registry.UFUNCS.items():
        if ufunc.nin == 1 and ufunc is not np.invert and fn.__module__.startswith("autonet"):
            a, b = ufunc(x), fn(x)
            assert isinstance(a, Tensor) and a.tolist() == b.tolist(), ufunc.__name__
    y = np.sum(x * x)
    assert y.requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 3.0])


def test_an_operation_registered_elsewhere_becomes_a_method():
    def cube(x):
        """x³."""
        return x * x * x

    try:
        registry.operation(ufunc=np.cbrt)(cube)
        t = an.tensor([2.0], requires_grad=True)
        assert t.cube().tolist() == [8.0] and np.cbrt(t).tolist() == [8.0]
        assert np.cbrt(t).requires_grad
    finally:  # leave the registry as it was
        delattr(Tensor, "cube")
        del registry.METHODS["cube"], registry.UFUNCS[np.cbrt]
