from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def make_meter(meter_type: MeterType = MeterType.G4, seed: int = 1, **kwargs: object) -> GasMeter:
    return GasMeter.manufacture(meter_type, "G0001123456789012", T0, random.Random(seed), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def meter() -> GasMeter:
    return make_meter()
