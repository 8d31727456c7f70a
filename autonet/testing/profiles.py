"""Hypothesis profiles for gradient tests: ``quick`` while you work, ``thorough`` before a
release or on a schedule. autonet's own CI runs ``quick`` on every push (tests/conftest.py).

>>> from hypothesis import settings
>>> from autonet.testing import profiles
>>> quick = settings.get_profile(profiles.QUICK)   # profiles.load("quick") makes it the default
>>> quick.max_examples, quick.derandomize
(20, True)

Both leave out Hypothesis's deadline (a gradient check's time depends on the shapes drawn)
and its health checks for slow data generation (tensors are large data).

- ``quick``: 20 examples per test, derandomized: the same examples every run, so a failure
  is reproducible and a green run stays green until the code changes;
- ``thorough``: 200 examples per test, a new random choice every run (and Hypothesis's
  example database remembers failures): finds what quick runs miss.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

__all__ = ["QUICK", "THOROUGH", "load"]

QUICK = "autonet-quick"
THOROUGH = "autonet-thorough"
_SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]

_BASE = settings.get_profile("default")  # (Hypothesis's registered "default" profile)
settings.register_profile(
    QUICK, _BASE, max_examples=20, deadline=None, derandomize=True,
    suppress_health_check=_SLOW_DATA,
)  # fmt: skip
settings.register_profile(
    THOROUGH, _BASE, max_examples=200, deadline=None, derandomize=False,
    suppress_health_check=_SLOW_DATA,
)  # fmt: skip


def load(name: str) -> None:
    """Make ``name`` (``"quick"`` or ``"thorough"``, or any registered profile) the default
    for the tests that follow."""
    settings.load_profile({"quick": QUICK, "thorough": THOROUGH}.get(name, name))
