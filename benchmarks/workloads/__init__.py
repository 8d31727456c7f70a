"""The workloads, in the order they run and are reported.

Each is a module of this package with ``NAME`` and ``run(bench) -> list[Row]``: it builds its
sides, checks that autonet's results match the floor's, times them and returns one row per
measured case. They are imported only when asked for (:func:`load`), so that the command line
can pin the BLAS threads before NumPy starts.
"""

from __future__ import annotations

import importlib
from types import ModuleType

NAMES = ["op_overhead", "mlp_step", "digits_fit", "moons", "deep_chain", "memory", "conv2d",
         "pool2d", "digits_cnn", "lstm", "transformer", "growth"]  # fmt: skip


def load(name: str) -> ModuleType:
    """The workload module called ``name`` (one of :data:`NAMES`)."""
    if name not in NAMES:
        raise KeyError(f"unknown workload {name!r}; choose from {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}")
