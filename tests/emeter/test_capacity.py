"""Two simulated years of hourly readings: fixed capacities and consistent profiles (SYSTEM E2)."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest

from meterkast.emeter import AmrStatus, EMeter
from meterkast.emeter.profiles import PeriodType
from tests.emeter.conftest import AMS, drive, hourly_index, new_meter, utc


@pytest.fixture(scope="module")
def two_years() -> EMeter:
    start = utc(2023, 1, 1, 0, 5)
    meter = new_meter(start, devices=2)
    meter.set_load(start, [400], [0], [230])
    drive(meter, utc(2025, 1, 5, 9, 40))
    return meter


def test_profiles_hold_exactly_240_40_13_and_960(two_years: EMeter) -> None:
    assert len(two_years.hourly_profile(1)) == 240
    assert len(two_years.hourly_profile(2)) == 240
    assert len(two_years.hourly_profile(3)) == 0
    assert len(two_years.daily_profile) == 40
    assert len(two_years.monthly_profile) == 13
    assert len(two_years.load_profile) == 960


def test_entries_sit_on_their_clocks(two_years: EMeter) -> None:
    hourly = list(two_years.hourly_profile(1))
    assert hourly[-1].clock == utc(2025, 1, 5, 9).astimezone(AMS)  # 10:00 local, filed at 10:11
    assert all(b.clock.astimezone(AMS) - a.clock == (b.clock - a.clock) for a, b in pairwise(hourly))
    assert all(e.clock.minute == 0 and e.status == AmrStatus(0) for e in hourly)
    assert all(e.capture_time == e.clock for e in hourly)  # in sync: the device's xx:00 is the entry's hour
    assert all((e.clock.hour, e.clock.minute) == (0, 0) for e in two_years.daily_profile)
    monthly = [(e.clock.year, e.clock.month, e.clock.day, e.clock.hour) for e in two_years.monthly_profile]
    assert monthly[0] == (2024, 1, 1, 0) and monthly[-1] == (2025, 1, 1, 0)


def test_values_agree_across_profiles_and_deltas_add_up(two_years: EMeter) -> None:
    hourly = {e.clock.astimezone(AMS): e.value_m3 for e in two_years.hourly_profile(1)}
    daily = list(two_years.daily_profile)
    for entry in daily:
        value = entry.channel(1)
        assert value is not None
        assert value.value_m3 == hourly_index(entry.clock)
        if entry.clock in hourly:
            assert hourly[entry.clock] == value.value_m3
    by_clock = {e.clock: e for e in daily}
    months = list(two_years.monthly_profile)
    checked = 0
    for first, second in pairwise(months):
        if first.clock in by_clock:
            days = [e for e in daily if first.clock <= e.clock <= second.clock]
            total = sum(b.channel(1).value_m3 - a.channel(1).value_m3 for a, b in pairwise(days))  # type: ignore[union-attr]
            assert total == second.channel(1).value_m3 - first.channel(1).value_m3  # type: ignore[union-attr]
            checked += 1
    assert checked == 1


def test_electricity_in_billing_profiles_is_exact(two_years: EMeter) -> None:
    """400 W all the time: 0.4 kWh per hour of the day, low tariff at night and in weekends."""
    for a, b in pairwise(two_years.daily_profile):
        hours = int((b.clock - a.clock).total_seconds()) // 3600  # aware arithmetic: 23/24/25 h
        low = b.import_kwh[0] - a.import_kwh[0]
        normal = b.import_kwh[1] - a.import_kwh[1]
        assert low + normal == Decimal("0.4") * hours
        expected_normal = Decimal("6.4") if a.clock.weekday() < 5 else Decimal(0)
        assert normal == expected_normal
        assert b.export_kwh == (Decimal("0.000"), Decimal("0.000"))


def test_gas_profile_by_period_type(two_years: EMeter) -> None:
    assert two_years.gas_profile(PeriodType.INTERVAL, 2) is two_years.hourly_profile(2)
    assert two_years.gas_profile(PeriodType.DAILY, 1) is two_years.daily_profile
    assert two_years.profile("0-0:98.1.0.255") is two_years.monthly_profile
