"""examples/test_my_op.py (README's "Testing your gradients" as a pytest file) passes, run as a
user runs it: pytest on that file, in a separate process (it loads a Hypothesis profile)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_gradient_testing_example_passes_under_pytest():
    env = {**os.environ, "HYPOTHESIS_PROFILE": "quick"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "examples/test_my_op.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout
