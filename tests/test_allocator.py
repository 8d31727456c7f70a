"""autonet.engine.allocator: freed memory kept for the next arrays (glibc), and left alone
when the user says so."""

import os
import subprocess
import sys

import pytest

from autonet.engine import allocator

GLIBC = sys.platform.startswith("linux") and allocator._glibc()

# A loop like a training step's: eight arrays of 1 MiB alive at once, then freed. It prints the
# page faults the loop took (after a first round, which faults on any setting).
LOOP = """
import resource, sys
import numpy as np
import autonet
def step():
    arrays = [np.ones(1 << 18, np.float32)]
    for _ in range(7):
        arrays.append(arrays[-1] * 2)
    return float(arrays[-1][0])
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(**env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    environ.pop("AUTONET_MALLOC", None)
    done = subprocess.run([sys.executable, "-c", LOOP], env={**environ, **env},
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout.split()[-1])


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_importing_autonet_keeps_freed_memory_for_the_next_arrays():
    # 20 rounds of 8 MiB: with glibc's defaults every round faults its pages in again (some
    # 2000 faults a round: the heap's top is given back once 2 MiB lie free there, twice the
    # largest array); kept, the later rounds reuse them.
    kept, default = faults(), faults(AUTONET_MALLOC="default")
    assert default > 20 * 1000
    assert kept < default / 20


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_the_users_own_malloc_settings_are_left_alone(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert allocator.keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("AUTONET_MALLOC", "default")
    assert allocator.keep_freed_memory() is False
    monkeypatch.delenv("AUTONET_MALLOC")
    assert allocator.keep_freed_memory() is True


def test_elsewhere_nothing_is_changed(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.keep_freed_memory() is False
