"""Clock adjustments: sync limit, events 4/5, CAD, monotonic profiles (P3 §4.2.1, §4.2.5, §5.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meterkast.emeter import AmrStatus
from meterkast.emeter.events import ClockAdjusted, Code, LogId
from meterkast.errors import ClockError
from tests.emeter.conftest import drive, local, new_meter, utc

START = utc(2024, 1, 10, 6, 30)


def test_small_adjustment_is_silent() -> None:
    meter = new_meter(START)
    events = meter.adjust_clock(START, START + timedelta(seconds=45))
    assert not [e for e in events if isinstance(e, ClockAdjusted)]
    assert meter.meter_time() == local(2024, 1, 10, 7, 30, 45)


def test_small_forward_adjustment_across_a_capture_instant_still_captures() -> None:
    meter = new_meter(START)
    drive(meter, utc(2024, 1, 10, 6, 44, 50))
    meter.adjust_clock(meter.now, meter.now + timedelta(seconds=20))
    assert meter.load_profile.last is not None
    assert meter.load_profile.last.clock == local(2024, 1, 10, 7, 45)


def test_large_adjustment_logs_old_and_new_time_and_marks_next_entries_cad() -> None:
    meter = new_meter(START)
    drive(meter, utc(2024, 1, 10, 8, 30))
    events = meter.adjust_clock(meter.now, meter.now + timedelta(minutes=10))
    adjusted = [e for e in events if isinstance(e, ClockAdjusted)]
    assert [(e.code, e.clock) for e in adjusted] == [
        (Code.CLOCK_ADJUSTED_OLD, local(2024, 1, 10, 9, 30)),
        (Code.CLOCK_ADJUSTED_NEW, local(2024, 1, 10, 9, 40)),
    ]
    assert [e.code for e in meter.event_log(LogId.STANDARD)][-2:] == [4, 5]
    drive(meter, utc(2024, 1, 10, 10, 30))
    hourly = list(meter.hourly_profile(1))
    assert hourly[-2].status == AmrStatus.CAD | AmrStatus.DNV
    assert hourly[-1].status == AmrStatus(0)
    quarter = meter.load_profile.entries(local(2024, 1, 10, 9, 45), local(2024, 1, 10, 9, 45))[0]
    assert quarter.status == AmrStatus.CAD | AmrStatus.DNV


def test_backward_adjustment_keeps_profiles_monotonic() -> None:
    meter = new_meter(START)
    drive(meter, utc(2024, 1, 10, 10, 30))
    meter.adjust_clock(meter.now, meter.now - timedelta(hours=2))
    drive(meter, utc(2024, 1, 10, 14, 30))
    for profile in (meter.hourly_profile(1), meter.load_profile):
        stamps = [e.clock.timestamp() for e in profile]
        assert stamps == sorted(set(stamps))
    # the first entry after the repeated hours carries CAD
    entries = list(meter.hourly_profile(1))
    first_new = next(e for e in entries if e.clock == local(2024, 1, 10, 12))
    assert first_new.status & AmrStatus.CAD


def test_large_forward_jump_fills_the_quarters_it_skipped() -> None:
    meter = new_meter(START)
    drive(meter, utc(2024, 1, 10, 8, 5))
    meter.adjust_clock(meter.now, meter.now + timedelta(hours=1))
    skipped = meter.load_profile.entries(local(2024, 1, 10, 9, 15), local(2024, 1, 10, 10, 0))
    assert [e.clock.minute for e in skipped] == [15, 30, 45, 0]
    assert all(e.status == AmrStatus.CAD | AmrStatus.DNV for e in skipped)


def test_time_never_goes_back_and_needs_a_zone() -> None:
    meter = new_meter(START)
    with pytest.raises(ClockError):
        meter.advance(START - timedelta(seconds=1))
    with pytest.raises(ClockError):
        meter.advance(START.replace(tzinfo=None))
    with pytest.raises(ClockError, match="advance"):
        meter.p1_view(START + timedelta(seconds=1))
