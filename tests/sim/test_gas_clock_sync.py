"""The E-meter keeps a drifting gas meter clock in sync over P2 and cleans its status (DSMR-M 4.5.89;
P2-4.0.7 §4.3.4, §6.2.1, §6.2.4; P3-4.2.2 §4.2.1, §4.2.5)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.events import LogId
from meterkast.emeter.gas_clock import GasClockSynchronized, GasStatusCleared, SyncReason
from meterkast.gasmeter import commands as gas
from meterkast.gasmeter.events import ClockSynchronized
from meterkast.sim.gaslink import GasMeterEvent
from meterkast.sim.installation import Event, Installation, OperateGasMeter, PowerDown, PowerUp, ShiftEMeterClock
from meterkast.sim.p2_link import P2GasLink

START = datetime(2025, 3, 10, 21, 30, tzinfo=UTC)  # 22:30 local
DAY = timedelta(days=1)
H = timedelta(hours=1)


def build(drift_ppm: int, *, p2: bool = True, seed: int = 3) -> Installation:
    link = P2GasLink(random.Random(seed)) if p2 else None
    installation = Installation.build(START, random.Random(seed), link=link)
    installation.handle(START, OperateGasMeter(gas.SetClockDrift(Decimal(drift_ppm))))
    return installation


def syncs(events: list[Event]) -> list[GasClockSynchronized]:
    return [e for e in events if isinstance(e, GasClockSynchronized)]


def gas_syncs(events: list[Event]) -> list[ClockSynchronized]:
    return [e.event for e in events if isinstance(e, GasMeterEvent) and isinstance(e.event, ClockSynchronized)]


def test_after_installation_and_then_once_a_day_after_the_first_read_of_the_day() -> None:
    """DSMR-M 4.5.89: after installation and every 24 hours; here right after the 00:01 (local) read."""
    installation = build(20)
    events = installation.advance(START + 3 * DAY)
    done = syncs(events)
    assert [e.reason for e in done] == [SyncReason.INSTALLATION] + [SyncReason.DAILY] * 3
    assert [(e.clock.hour, e.clock.minute) for e in done[1:]] == [(0, 1)] * 3
    # 20 ppm: 1.728 s a day (0.072 s in the first hour), corrected each time: the clock never runs away.
    assert [e.offset_s for e in gas_syncs(events)] == [pytest.approx(-0.0372), -0.072, -1.728, -1.728]
    assert not any(e.out_of_sync for e in gas_syncs(events))
    meter = installation.gas_meter
    assert meter is not None and timedelta(0) < meter.clock_offset < timedelta(seconds=1.728)


def test_a_drift_too_large_for_a_day_sets_bit_5_which_is_taken_over_logged_and_cleared() -> None:
    """800 ppm (69 s a day, beyond DSMR-M 4.3.5's 10 s) makes the daily sync find more than 60 s [§6.2.1]:
    the next read takes bit 5 over (event 104 [P3 §4.2.1], CAD and DNV on the hour [P3 §4.2.5]) and the
    E-meter then clears it with 01 FD 97 06 73 [§6.2.4], so the next error is a new rising edge."""
    installation = build(800)
    events = installation.advance(START + 3 * DAY + 3 * H)
    out = [e for e in gas_syncs(events) if e.out_of_sync]
    assert [e.offset_s for e in out] == [-69.12] * 3
    cleared = [e for e in events if isinstance(e, GasStatusCleared)]
    assert [e.status for e in cleared] == [0x20] * 3
    assert [e.at - s.at for e, s in zip(cleared, out, strict=True)] == [H] * 3  # after the next hourly read
    assert [e.code for e in installation.emeter.event_log(LogId.MBUS)].count(104) == 3
    cad = [e for e in installation.emeter.hourly_profile(1) if e.status & AmrStatus.CAD]
    assert len(cad) == 3 and all(e.status & AmrStatus.DNV for e in cad)
    meter = installation.gas_meter
    assert meter is not None and not meter.clock_sync_error


def test_every_clock_change_of_the_e_meter_syncs_at_once() -> None:
    """DSMR-M 4.5.89 "at every time change of the bus master": a 95 s shift reaches the gas meter at once."""
    installation = build(0)
    installation.advance(START + 2 * H)
    events = installation.handle(START + 2 * H + timedelta(minutes=20), ShiftEMeterClock(95))
    assert [e.reason for e in syncs(events)] == [SyncReason.CLOCK_CHANGE]
    assert gas_syncs(events)[0].out_of_sync  # 95 s: more than 60 s [§6.2.1]
    meter = installation.gas_meter
    assert meter is not None and abs(meter.clock_offset - timedelta(seconds=95)) < timedelta(seconds=1)


def test_after_a_power_failure_the_next_read_is_followed_by_a_sync() -> None:
    """DSMR-M 4.5.89 "after M-Bus master breakdown"."""
    installation = build(0)
    installation.schedule(START + 2 * H, PowerDown())
    installation.schedule(START + 2 * H + timedelta(minutes=5), PowerUp())
    events = installation.advance(START + 4 * H)
    assert SyncReason.COMMUNICATION_RESTART in [e.reason for e in syncs(events)]


def test_a_gas_clock_far_off_is_synced_as_soon_as_its_reply_is_refused_for_it() -> None:
    """A genuine reply refused only for its time stamp (gas_acceptance "clock") shows the gas clock is off:
    the E-meter syncs it at once, with a frame counter above the refused reply's [§5.2]."""
    installation = build(0)
    installation.advance(START + 3 * H)
    meter = installation.gas_meter
    assert meter is not None
    meter.clock_offset = -2 * H
    events = installation.advance(START + 5 * H)
    assert next(e.reason for e in syncs(events)) is SyncReason.CLOCK_OFF
    assert abs(meter.clock_offset) < timedelta(seconds=1)
    assert installation.emeter.master_value(1) is not None
    assert list(installation.emeter.hourly_profile(1))[-1].capture_time.minute == 0


def test_the_direct_link_and_p2_agree() -> None:
    """The same run through the model shortcut and through P2 bytes syncs the same way."""
    direct, p2 = build(800, p2=False), build(800)
    ends = [installation.advance(START + 2 * DAY) for installation in (direct, p2)]
    assert [(e.at, e.reason) for e in syncs(ends[0])] == [(e.at, e.reason) for e in syncs(ends[1])]
    assert list(direct.emeter.hourly_profile(1)) == list(p2.emeter.hourly_profile(1))
