"""Capture times across DST changes and month/year ends (DSMR-M 4.3.43, 4.5.4, 4.5.6, 4.5.8)."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

import pytest

from meterkast.emeter import AmrStatus, EMeter
from meterkast.emeter.events import Code, DaylightSavingChanged, LogId
from tests.emeter.conftest import AMS, drive, hourly_index, local, new_meter, utc


def run(start_utc: tuple[int, ...], hours: int) -> EMeter:
    start = utc(*start_utc)
    meter = new_meter(start)
    drive(meter, start + timedelta(hours=hours))
    return meter


def test_autumn_change_stores_the_repeated_hour_twice() -> None:
    meter = run((2024, 10, 26, 20, 30), 12)  # 22:30 CEST → 07:30 CET
    entries = list(meter.hourly_profile(1))
    twos = [e for e in entries if (e.clock.day, e.clock.hour) == (27, 2)]
    assert [e.clock.utcoffset() for e in twos] == [timedelta(hours=2), timedelta(hours=1)]
    assert [e.clock.fold for e in twos] == [0, 1]
    assert twos[0].status & AmrStatus.DST and not twos[1].status & AmrStatus.DST
    assert [e.capture_time.utcoffset() for e in twos] == [timedelta(hours=2), timedelta(hours=1)]
    utc_hours = [e.clock.astimezone(AMS).timestamp() for e in entries]
    assert all(b - a == 3600 for a, b in pairwise(utc_hours))
    dst_events = [e for e in meter.event_log(LogId.STANDARD) if e.code == Code.DST_CHANGED]
    assert len(dst_events) == 1
    assert dst_events[0].clock.hour == 3 and dst_events[0].clock.utcoffset() == timedelta(hours=2)


def test_spring_change_skips_two_oclock() -> None:
    start = utc(2024, 3, 30, 21, 30)
    meter = new_meter(start)
    events = drive(meter, start + timedelta(hours=8))
    entries = list(meter.hourly_profile(1))
    hours = [e.clock.hour for e in entries if e.clock.day == 31]
    assert hours == [0, 1, 3, 4, 5, 6, 7]
    assert [bool(e.status & AmrStatus.DST) for e in entries if e.clock.day == 31] == [False] * 2 + [True] * 5
    changed = [e for e in events if isinstance(e, DaylightSavingChanged)]
    assert len(changed) == 1 and (changed[0].clock.hour, changed[0].clock.utcoffset()) == (2, timedelta(hours=1))


@pytest.mark.parametrize(
    ("start", "month_start"),
    [
        ((2024, 10, 31, 20), local(2024, 11, 1)),  # 31 Oct → 1 Nov (CET)
        ((2024, 2, 28, 20), local(2024, 3, 1)),  # leap day in between
        ((2023, 2, 28, 20), local(2023, 3, 1)),  # no leap day
        ((2024, 12, 31, 20), local(2025, 1, 1)),  # year end
        ((2024, 6, 30, 20), local(2024, 7, 1)),  # CEST: midnight is 22:00 UTC
    ],
)
def test_month_ends_file_daily_and_monthly_at_local_midnight(start: tuple[int, ...], month_start: object) -> None:
    meter = run(start, 30 if start[1] == 2 and start[0] == 2024 else 8)
    monthly = list(meter.monthly_profile)
    assert len(monthly) == 1
    entry = monthly[0]
    assert entry.clock == month_start and entry.clock.utcoffset() == month_start.utcoffset()  # type: ignore[attr-defined]
    value = entry.channel(1)
    assert value is not None
    assert value.capture_time == entry.clock
    assert value.value_m3 == hourly_index(entry.clock)
    assert meter.daily_profile.entries(entry.clock, entry.clock)[0].channel(1) == value
    if start[:3] == (2024, 2, 28):
        assert [e.clock.day for e in meter.daily_profile] == [29, 1]


def test_capture_time_is_converted_to_local_at_reception() -> None:
    meter = new_meter(utc(2024, 7, 1, 9, 0, 30))
    drive(meter, utc(2024, 7, 1, 9, 2))
    master = meter.master_value(1)
    assert master is not None
    assert master.capture_time == local(2024, 7, 1, 11) and master.capture_time.dst()
