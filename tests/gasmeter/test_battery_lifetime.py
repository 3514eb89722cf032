"""SYSTEM G10 / DSMR-M 4.3.4: 20 years of a typical household with hourly P2 readout fit on one battery,
and the battery-low alarm comes in the last year or two, not before."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from meterkast.gasmeter.events import BatteryEmpty, BatteryLow
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.sim.household import Household
from meterkast.sim.meter_run import run_hours

START = datetime(2026, 1, 1, tzinfo=UTC)
TWENTY_YEARS_H = 20 * 8766


def test_twenty_years_of_a_typical_household() -> None:
    rng = random.Random(2026)
    meter = GasMeter.manufacture(MeterType.G4, "G0001123456789026", START, rng)
    household = Household(rng)
    low_at: datetime | None = None
    yearly: list[float] = []
    last_true = 0.0
    for hour, report in enumerate(run_hours(meter, household.plan, TWENTY_YEARS_H), start=1):
        for event in report.events:
            assert not isinstance(event, BatteryEmpty), f"battery empty at {event.at}"
            if isinstance(event, BatteryLow):
                low_at = event.at
        if hour % 8766 == 0:
            yearly.append(float(report.true_m3) - last_true)
            last_true = float(report.true_m3)
    assert low_at is not None, "no battery-low alarm within 20 years"
    years = (low_at - START).days / 365.25
    assert 18.0 <= years < 20.0, f"battery low after {years:.2f} years"
    assert all(1000 < m3 < 1450 for m3 in yearly), yearly  # a typical Dutch household, ≈1200 m³/year
    assert meter.can_communicate
