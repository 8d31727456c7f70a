"""Timing, checking and recording: what every workload shares.

A workload builds the same computation two or three times ("sides": ``autonet``, the NumPy
``floor``, and ``torch`` when PyTorch is installed), checks that autonet's numbers match the
floor's, then hands the sides to :meth:`Bench.time`, which calls them in alternating order
and keeps the median of each. The results are :class:`Row` s, one per measured case.
"""

from __future__ import annotations

import cProfile
import gc
import io
import os
import pstats
import statistics
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

SIDES = ("autonet", "floor", "torch")

# NOTE: after a matrix product OpenBLAS's worker threads keep spinning on the cores for up to
# 2^28 cycles (OPENBLAS_THREAD_TIMEOUT's default, some 0.1 s) before they sleep, and
# PyTorch's OpenMP threads spin likewise. A side timed while the other library's threads still
# spin shares the cores with them: measured on conv2d at 2 threads, PyTorch's step took 10×
# its time right after a NumPy step. So when the timing passes between PyTorch and a NumPy
# side (autonet or the floor), it first waits for the other pool to fall asleep, as it would
# in a program that uses one library.
SETTLE = 0.15  # seconds


class Mismatch(AssertionError):
    """autonet's result differs from the floor's (or PyTorch's) beyond the tolerance."""


@dataclass
class Target:
    """A goal for one row: ``autonet / against <= limit``."""

    limit: float
    against: str = "floor"

    def text(self) -> str:
        return f"≤ {self.limit:g}× {self.against}"


@dataclass
class Row:
    """One measured case of a workload: a median per side, in ``unit``."""

    workload: str
    case: str
    unit: str
    values: dict[str, float]
    target: Target | None = None
    check: str = ""
    note: str = ""
    spreads: dict[str, float] = field(default_factory=dict)  # relative IQR of each side
    goal: str = ""  # a target that is not a ratio (memory growth), judged by the workload
    passed: bool | None = None
    ratios: bool = True  # False where dividing the sides' values means nothing (growth)

    @property
    def noise(self) -> float:
        """The larger relative interquartile range of autonet and the side it is judged
        against (the floor without a target)."""
        against = self.target.against if self.target else "floor"
        return max((self.spreads.get(s, 0.0) for s in ("autonet", against)), default=0.0)

    @property
    def goal_text(self) -> str:
        return self.goal or (self.target.text() if self.target else "")

    def ratio(self, against: str) -> float | None:
        a, b = self.values.get("autonet"), self.values.get(against)
        if not self.ratios or a is None or not b:
            return None
        return a / b

    @property
    def met(self) -> bool | None:
        """Whether the target is met; None without a target or without the value it needs."""
        if self.goal:
            return self.passed
        if self.target is None:
            return None
        r = self.ratio(self.target.against)
        return None if r is None else r <= self.target.limit


@dataclass
class Config:
    """What the command line asked for."""

    quick: bool = False
    torch: Any = None  # the torch module, or None when it is absent or not wanted
    threads: int = 1
    profile: bool = False
    profile_top: int = 15
    profiles: dict[str, str] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)  # by workload: measured curves (growth)

    def pick(self, full: Any, quick: Any) -> Any:
        """``quick`` under ``--quick``, else ``full`` (repeat counts, step counts)."""
        return quick if self.quick else full


class Bench:
    """Times sides against each other and, with ``--profile``, profiles the autonet side."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def time(
        self,
        label: str,
        sides: dict[str, Callable[[], Any]],
        repeats: int,
        number: int = 1,
        warmup: int = 1,
    ) -> tuple[dict[str, float], dict[str, float]]:
        """Median seconds per call of each side, and each side's relative interquartile range
        (a measure of the noise).

        Each side is first called ``warmup`` times. Then, ``repeats`` times over, every side
        runs ``number`` calls in a row; the side that goes first rotates from one repeat to
        the next, so that a slow spell on the machine hits every side alike. A full garbage
        collection runs (untimed) before each sample; with more than one thread, a pause
        (``SETTLE``) before a sample that passes between PyTorch and a NumPy side.
        """
        names = list(sides)
        for name in names:
            for _ in range(warmup):
                sides[name]()
        samples: dict[str, list[float]] = {name: [] for name in names}
        previous = names[-1]
        for r in range(repeats):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                fn = sides[name]
                if self.config.threads > 1 and (name == "torch") != (previous == "torch"):
                    time.sleep(SETTLE)
                previous = name
                gc.collect()
                t0 = time.perf_counter()
                for _ in range(number):
                    fn()
                samples[name].append((time.perf_counter() - t0) / number)
        medians = {name: statistics.median(s) for name, s in samples.items()}
        spreads = {name: _relative_iqr(s) for name, s in samples.items()}
        if self.config.profile and "autonet" in sides:
            self.config.profiles[label] = profile(
                sides["autonet"], max(repeats * number, 1), self.config.profile_top
            )
        return medians, spreads


def _relative_iqr(samples: list[float]) -> float:
    if len(samples) < 4:
        return (max(samples) - min(samples)) / statistics.median(samples)
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return (q3 - q1) / statistics.median(samples)


_PATH_PREFIXES = sorted(
    {str(Path(__file__).resolve().parents[1]) + os.sep}
    | {p + os.sep for p in (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["stdlib"])},
    key=len,
    reverse=True,
)


def profile(fn: Callable[[], Any], calls: int, top: int) -> str:
    """The ``top`` functions by own time (tottime) over ``calls`` calls of ``fn``."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    for prefix in _PATH_PREFIXES:  # autonet/engine/tensor.py, not /home/.../autonet/...
        text = text.replace(prefix, "")
    # keep the table (from the column header on), not pstats' preamble
    start = text.find("   ncalls")
    head = text[:start].strip().splitlines()
    summary = next((line.strip() for line in head if "function calls" in line), "")
    return f"{calls} calls; {summary}\n{text[start:].rstrip()}"


def assert_close(what: str, actual: Any, expected: Any, rtol: float, atol: float = 0.0) -> float:
    """Raise :class:`Mismatch` unless ``actual`` is within tolerance of ``expected``; return
    the largest relative difference (for the report)."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        raise Mismatch(f"{what}: shape {a.shape} differs from the floor's {b.shape}")
    if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
        raise Mismatch(f"{what}: not finite (autonet {a.ravel()[:3]}, floor {b.ravel()[:3]})")
    diff = np.abs(a - b)
    bad = diff > atol + rtol * np.abs(b)
    if bad.any():
        i = np.unravel_index(np.argmax(bad), a.shape) if a.ndim else ()
        raise Mismatch(
            f"{what}: {int(bad.sum())} of {a.size} values differ, e.g. at {i}: "
            f"{a[i]!r} vs {b[i]!r} (rtol {rtol:g}, atol {atol:g})"
        )
    scale = np.maximum(np.abs(b), atol if atol > 0 else np.finfo(np.float64).tiny)
    return float(np.max(diff / scale)) if diff.size else 0.0


def check_all(
    what: str, actual: list[Any], expected: list[Any], rtol: float, atol: float = 0.0
) -> float:
    """:func:`assert_close` over matching lists (e.g. every parameter); the largest
    relative difference."""
    if len(actual) != len(expected):
        raise Mismatch(f"{what}: {len(actual)} arrays against the floor's {len(expected)}")
    worst = 0.0
    for k, (a, b) in enumerate(zip(actual, expected)):
        worst = max(worst, assert_close(f"{what} [{k}]", a, b, rtol, atol))
    return worst
