"""The gas meter's drifting clock, its synchronisation and bit 5 (P2-4.0.7 §6.2.1, §6.2.4; DSMR-M 4.3.5)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import InvalidInput
from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.events import ClockSynchronized, HourlyValueStored, StatusBitsCleared
from meterkast.gasmeter.meterclock import P2_DEVICE_LIMIT_PPM, DriftingClock, drift_ppb
from tests.gasmeter.conftest import T0, make_meter

H = timedelta(hours=1)
DAY = timedelta(days=1)


def test_a_clock_five_ppm_fast_gains_432_ms_a_day() -> None:
    meter = make_meter()
    meter.handle(T0, cmd.SetClockDrift(Decimal(5)))
    meter.advance(T0 + DAY)
    assert meter.clock_offset == timedelta(microseconds=432_000)
    assert meter.meter_time(T0 + 10 * DAY) - (T0 + 10 * DAY) == timedelta(seconds=4, microseconds=320_000)


def test_the_p2_device_limit_is_ten_seconds_a_day() -> None:
    """DSMR-M 4.3.5: a P2 device's clock deviates at most 10 s per 24 h."""
    clock = DriftingClock.exact(T0)
    clock.set_drift(T0, drift_ppb(P2_DEVICE_LIMIT_PPM.quantize(Decimal("0.001"))))
    assert abs(clock.offset_at(T0 + DAY) - timedelta(seconds=10)) < timedelta(milliseconds=1)


def test_drift_refuses_absurd_or_too_fine_values() -> None:
    with pytest.raises(InvalidInput, match="must lie within"):
        drift_ppb(Decimal(20_000))
    with pytest.raises(InvalidInput, match="finer than"):
        drift_ppb(Decimal("0.0001"))


@given(ppb=st.integers(-10_000_000, 10_000_000), shown_us=st.integers(0, 10**12))
def test_true_time_of_is_the_first_instant_the_clock_shows_it(ppb: int, shown_us: int) -> None:
    clock = DriftingClock(T0, T0, ppb)
    shown = T0 + timedelta(microseconds=shown_us)
    when = clock.true_time_of(shown)
    assert clock.time_at(when) >= shown
    assert clock.time_at(when - timedelta(microseconds=1)) < shown


@given(ppb=st.integers(-200_000, 200_000), cuts=st.lists(st.integers(1, 10**10), min_size=1, max_size=6))
def test_the_clock_reads_the_same_however_time_is_sliced(ppb: int, cuts: list[int]) -> None:
    whole, sliced = DriftingClock(T0, T0, ppb), DriftingClock(T0, T0, ppb)
    moment = T0
    for cut in sorted(cuts):
        moment = T0 + timedelta(microseconds=cut)
        sliced.set_drift(moment, ppb)  # moves the base point without changing the line
    assert whole.time_at(moment + H) == sliced.time_at(moment + H)


def test_hourly_values_follow_the_drifting_clock_not_true_time() -> None:
    """The meter stores its value at every whole hour of its own clock [P2-4.0.7 §6.1]."""
    meter = make_meter()
    meter.handle(T0, cmd.SetClockDrift(Decimal(-100)))  # 0.36 s an hour slow
    stored = [e for e in meter.advance(T0 + 3 * H + timedelta(seconds=2)) if isinstance(e, HourlyValueStored)]
    assert [e.captured_at for e in stored] == [T0 + H, T0 + 2 * H, T0 + 3 * H]
    late = [(e.at - e.captured_at).total_seconds() for e in stored]
    assert late == pytest.approx([0.360036, 0.720072, 1.080108], abs=2e-6)  # 3600 s / (1 − 10⁻⁴) per hour
    one_us = timedelta(microseconds=1)
    assert all(meter.meter_time(e.at - one_us) < e.captured_at <= meter.meter_time(e.at) for e in stored)


def test_sync_beyond_60_s_latches_bit_5_until_the_e_meter_clears_it() -> None:
    """§6.2.1: "If the difference is more than 60 seconds then a Clock synchronization error is set";
    the meter always takes the time; §6.2.4: ``01 FD 97 06 73`` clears the non-permanent bits."""
    meter = make_meter()
    meter.handle(T0, cmd.SetClockDrift(Decimal(700)))  # 60.48 s a day
    events = meter.handle(T0 + DAY, cmd.SynchronizeClock(T0 + DAY))
    sync = next(e for e in events if isinstance(e, ClockSynchronized))
    assert sync.out_of_sync and sync.offset_s == pytest.approx(-60.48)
    assert meter.status_byte() & 0x20 and meter.clock_offset == timedelta(0)
    assert sync in meter.log
    assert not meter.handle(T0 + DAY, cmd.ClearStatusBits(0x0F))  # bit 5 not in the mask: stays
    assert meter.status_byte() & 0x20
    assert meter.handle(T0 + DAY, cmd.ClearStatusBits(0x73)) == [StatusBitsCleared(T0 + DAY, 0x73, 0x20)]
    assert not meter.status_byte() & 0x20


def test_sync_within_60_s_sets_nothing() -> None:
    meter = make_meter()
    meter.handle(T0, cmd.SetClockDrift(Decimal(600)))  # 51.84 s a day
    events = meter.handle(T0 + DAY, cmd.SynchronizeClock(T0 + DAY))
    assert not next(e for e in events if isinstance(e, ClockSynchronized)).out_of_sync
    assert not meter.status_byte() & 0x20


def test_a_clock_set_forward_past_a_whole_hour_stores_that_hour() -> None:
    meter = make_meter()
    meter.advance(T0 + timedelta(minutes=50))
    events = meter.handle(T0 + timedelta(minutes=50), cmd.SynchronizeClock(T0 + timedelta(minutes=62)))
    assert [e.captured_at for e in events if isinstance(e, HourlyValueStored)] == [T0 + H]
    assert [e.captured_at for e in meter.advance(T0 + 2 * H) if isinstance(e, HourlyValueStored)] == [T0 + 2 * H]
