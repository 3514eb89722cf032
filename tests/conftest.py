"""Shared test fixtures: where the external test data lives; Hypothesis settings for CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from meterkast import environment

# CI (CI=true) runs every property test on the same examples each time, so a CI result says something about
# the change, not about the draw; a local run draws new examples each time and keeps exploring (a failure it
# finds is pinned with @example, as in tests/p1/test_damaged_crc.py).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(environment.get("METERKAST_SHARED") or ROOT.parent / "shared")


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ``shared/`` folder beside the checkout (override with METERKAST_SHARED)."""
    if not (SHARED / "testdata").is_dir():
        pytest.fail(f"external test data not found at {SHARED}; set METERKAST_SHARED")
    return SHARED
