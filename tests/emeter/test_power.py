"""Power failures: counters, the long-failure log, PDN and what is (not) filed (P3 §5.9, §4.2.5, §6.3, §7.4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meterkast.emeter import AmrStatus
from meterkast.emeter.events import Code, LogId, PoweredUp
from meterkast.errors import CommandRefused
from tests.emeter.conftest import drive, local, new_meter, utc

START = utc(2024, 1, 10, 6, 30)


def test_short_and_long_failures_are_counted_and_long_ones_logged() -> None:
    meter = new_meter(START)
    moment = START
    for seconds in (30, 179, 180, 4000, 2):
        meter.power_down(moment)
        events = meter.power_up(moment + timedelta(seconds=seconds))
        up = next(e for e in events if isinstance(e, PoweredUp))
        assert up.duration_s == seconds and up.long_failure == (seconds >= 180)
        moment += timedelta(hours=3)
    assert (meter.power.short_count, meter.power.long_count) == (3, 2)
    log = meter.power_failure_log
    assert [r.duration_s for r in log] == [180, 4000]
    assert log[1].end == local(2024, 1, 10, 17, 36, 40)  # 15:30 UTC + 4000 s, local
    view = meter.p1_view(meter.now)
    assert [r.duration_s for r in view.power_failure_log] == [4000, 180]  # most recent first
    assert (view.power_failures, view.long_power_failures) == (3, 2)
    codes = [e.code for e in meter.event_log(LogId.STANDARD)]
    assert codes == [Code.POWER_DOWN, Code.POWER_UP] * 5
    assert meter.alarm_register & 1 << 2


def test_power_failure_log_keeps_ten() -> None:
    meter = new_meter(START)
    for n in range(12):
        meter.power_down(START + timedelta(hours=n))
        meter.power_up(START + timedelta(hours=n, minutes=10 + n))
    assert len(meter.power_failure_log) == 10
    assert meter.power_failure_log[0].duration_s == 12 * 60


def test_during_power_down_nothing_happens_and_no_hour_is_invented() -> None:
    meter = new_meter(START)
    meter.set_load(START, [1000], [0], [230])
    drive(meter, utc(2024, 1, 10, 8, 30))
    energy = meter.registers.import_kwh()
    meter.power_down(utc(2024, 1, 10, 8, 30))
    assert meter.next_deadline().year == 9999
    assert meter.polls_due(utc(2024, 1, 10, 9, 1)) == []
    assert meter.advance(utc(2024, 1, 10, 9)) == []
    with pytest.raises(CommandRefused, match="powered down"):
        meter.p1_view(utc(2024, 1, 10, 9))
    meter.power_up(utc(2024, 1, 10, 11, 5))
    assert meter.registers.import_kwh() == energy
    drive(meter, utc(2024, 1, 10, 12, 30))
    hourly = list(meter.hourly_profile(1))
    assert [e.clock.hour for e in hourly] == [8, 9, 12, 13]  # 10 and 11 local were filed while down
    assert hourly[2].status == AmrStatus.PDN  # first entry after power up
    assert hourly[3].status == AmrStatus(0)
    load = meter.load_profile.entries(local(2024, 1, 10, 9, 45), local(2024, 1, 10, 12, 30))
    assert [(e.clock.hour, e.clock.minute) for e in load][:2] == [(9, 45), (10, 0)]
    filled = [e for e in load if local(2024, 1, 10, 9, 45) < e.clock <= local(2024, 1, 10, 12, 5)]
    assert len(filled) == 9 and all(e.status == AmrStatus.PDN | AmrStatus.DNV for e in filled)
    assert all(e.import_kwh == filled[0].import_kwh for e in filled)  # nothing metered while off
    regular = meter.load_profile.entries(local(2024, 1, 10, 12, 15), local(2024, 1, 10, 12, 15))[0]
    assert regular.status == AmrStatus.PDN


def test_daily_entry_missed_in_an_outage_is_filled_with_pdn_and_dnv() -> None:
    meter = new_meter(utc(2024, 1, 9, 20))
    drive(meter, utc(2024, 1, 9, 22, 30))
    meter.power_down(utc(2024, 1, 9, 22, 40))  # 23:40 local
    meter.power_up(utc(2024, 1, 10, 2))  # 03:00 local: 00:00 and its 00:11 missed
    daily = list(meter.daily_profile)
    assert [e.clock for e in daily] == [local(2024, 1, 10)]
    assert daily[0].status == AmrStatus.PDN | AmrStatus.DNV
    value = daily[0].channel(1)
    assert value is not None and value.capture_time == local(2024, 1, 9, 23)  # stale: the last value read


def test_short_outage_around_midnight_still_files_a_fresh_daily_value() -> None:
    meter = new_meter(utc(2024, 1, 9, 20))
    drive(meter, utc(2024, 1, 9, 22, 50))
    meter.power_down(utc(2024, 1, 9, 22, 58))
    meter.power_up(utc(2024, 1, 9, 23, 3))  # back at 00:03 local, before 00:11
    drive(meter, utc(2024, 1, 9, 23, 30))
    entry = meter.daily_profile[0]
    assert entry.clock == local(2024, 1, 10) and entry.status == AmrStatus.PDN
    value = entry.channel(1)
    assert value is not None and value.capture_time == local(2024, 1, 10)


def test_outage_between_midnight_and_eleven_past_still_files_the_day() -> None:
    meter = new_meter(utc(2024, 1, 31, 20))
    drive(meter, utc(2024, 1, 31, 23, 5))  # 00:05 local on 1 Feb: E values of 00:00 taken
    meter.power_down(meter.now)
    meter.power_up(utc(2024, 2, 1, 1))
    for profile in (meter.daily_profile, meter.monthly_profile):
        (entry,) = list(profile)
        assert entry.clock == local(2024, 2, 1) and entry.status == AmrStatus.PDN | AmrStatus.DNV


def test_outage_longer_than_the_clock_reserve_invalidates_the_clock() -> None:
    meter = new_meter(START)
    meter.power_down(START)
    events = meter.power_up(START + timedelta(days=6))
    assert Code.CLOCK_INVALID in [getattr(e, "code", None) for e in events]
    assert meter.clock_invalid and meter.alarm_register & 1
    assert len(meter.daily_profile) == 6  # one entry per missed day (P3 §6.3)
    drive(meter, START + timedelta(days=6, hours=2))
    assert all(e.status & AmrStatus.CIV and e.status & AmrStatus.DNV for e in meter.hourly_profile(1))
    meter.adjust_clock(meter.now, meter.now)
    assert not meter.clock_invalid


def test_power_down_twice_is_refused() -> None:
    meter = new_meter(START)
    meter.power_down(START)
    with pytest.raises(CommandRefused):
        meter.power_down(START)
    meter.power_up(START)
    with pytest.raises(CommandRefused):
        meter.power_up(START)
