"""Testing tools, public so that users can check their own operations and models the way
autonet checks its own.

- ``gradcheck`` and ``gradgradcheck`` compare the engine's gradients with finite differences
  (with respect to inputs, a model's parameters, or named tensors; ``fast_mode`` checks
  random directions);
- ``check_function`` tests a new operation under Hypothesis in one call (gradients of the
  first and second order, dtypes, inputs left alone, no_grad, honest declarations of what a
  primitive saves);
- ``autonet.testing.op_db`` describes every operation of autonet for tests;
- ``autonet.testing.strategies`` makes shapes, axes, tensors and random programs;
- ``autonet.testing.profiles`` holds Hypothesis profiles (``quick``, ``thorough``).

Everything but ``gradcheck`` and ``gradgradcheck`` needs Hypothesis (the ``test`` extra), and
is loaded when first used.
"""

import importlib
from typing import Any

from autonet.testing.gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["CheckFunctionError", "GradcheckError", "check_function", "gradcheck", "gradgradcheck"]


_NEED_HYPOTHESIS = ("check", "op_db", "profiles", "programs", "strategies")


def __getattr__(name: str) -> Any:
    # (these need Hypothesis, which autonet itself does not: loaded when first used)
    if name in ("check_function", "CheckFunctionError"):
        return getattr(importlib.import_module("autonet.testing.check"), name)
    if name in _NEED_HYPOTHESIS:
        return importlib.import_module(f"autonet.testing.{name}")
    raise AttributeError(f"module 'autonet.testing' has no attribute {name!r}")
