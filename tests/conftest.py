"""Shared test fixtures: where the external test data lives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEETERKAST_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The ``shared/`` folder beside the checkout (override with MEETERKAST_SHARED)."""
    if not (SHARED / "testdata").is_dir():
        pytest.fail(f"external test data not found at {SHARED}; set MEETERKAST_SHARED")
    return SHARED
