"""The household model: realistic flows, calibrated totals, seeded determinism."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.sim.household import MIN_BURNER_FLOW_M3H, Household

START = datetime(2026, 1, 1, tzinfo=UTC)


def year_of_plans(seed: int, annual: float = 1200.0) -> list[list[object]]:
    household = Household(random.Random(seed), annual_m3=annual)
    return [list(household.plan(START + timedelta(hours=h))) for h in range(8760)]


def test_annual_total_and_winter_peak() -> None:
    household = Household(random.Random(5))
    january = sum(household.demand_m3(START + timedelta(hours=h)) for h in range(31 * 24))
    total = january + sum(household.demand_m3(START + timedelta(hours=h)) for h in range(31 * 24, 8760))
    assert 1050 < total < 1350
    household2 = Household(random.Random(5))
    july_start = datetime(2026, 7, 1, tzinfo=UTC)
    july = sum(household2.demand_m3(july_start + timedelta(hours=h)) for h in range(31 * 24))
    assert january > 5 * july  # heating dominates in winter; summer is hot water and cooking


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 8759))
def test_flows_are_bursts_within_the_meter_range(seed: int, hour: int) -> None:
    household = Household(random.Random(seed))
    steps = household.plan(START + timedelta(hours=hour))
    assert steps[0].offset_s == 0
    assert [s.offset_s for s in steps] == sorted(s.offset_s for s in steps)
    for step in steps:
        assert step.flow_m3h == 0 or Decimal(str(MIN_BURNER_FLOW_M3H)) <= step.flow_m3h <= 6
        assert 0 <= step.offset_s < 3600


def test_same_seed_same_plans() -> None:
    assert year_of_plans(7)[:500] == year_of_plans(7)[:500]
    assert year_of_plans(7)[:500] != year_of_plans(8)[:500]
