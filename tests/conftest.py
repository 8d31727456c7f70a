"""Hypothesis profiles: with the CI variable set, autonet.testing.profiles' "quick" (20
examples, derandomized, so that the whole suite stays within a few minutes on two cores);
otherwise "dev", which explores more. HYPOTHESIS_PROFILE chooses another (``thorough``: 200
examples, for a scheduled run)."""

import os

import numpy as np
import pytest
from hypothesis import settings

import autonet as an
from autonet.testing import profiles

settings.register_profile(
    "dev", settings.get_profile(profiles.QUICK), max_examples=60, derandomize=False
)
profiles.load(os.environ.get("HYPOTHESIS_PROFILE", "quick" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _fresh_state():
    """Every test starts with recording on, float32 as default and a seeded generator."""
    an.manual_seed(0)
    yield
    an.set_default_dtype(np.float32)
    assert an.is_grad_enabled(), "a test left gradient recording switched off"
