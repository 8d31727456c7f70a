"""autonet.testing.profiles: the Hypothesis profiles users load, and the one CI runs."""

from __future__ import annotations

import os

from hypothesis import settings

from autonet.testing import profiles


def test_quick_and_thorough_profiles():
    quick, thorough = settings.get_profile(profiles.QUICK), settings.get_profile(profiles.THOROUGH)
    assert (quick.max_examples, quick.derandomize, quick.deadline) == (20, True, None)
    assert (thorough.max_examples, thorough.derandomize, thorough.deadline) == (200, False, None)


def test_load_takes_the_short_names_and_ci_runs_quick():
    before = settings.default
    try:
        profiles.load("thorough")
        assert settings.default.max_examples == 200
    finally:
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or (
            profiles.QUICK if os.environ.get("CI") else "dev"))  # fmt: skip
    assert settings.default.max_examples == before.max_examples
    if os.environ.get("CI") and not os.environ.get("HYPOTHESIS_PROFILE"):
        assert settings.default.max_examples == 20 and settings.default.derandomize
