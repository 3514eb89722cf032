"""The E-meter's schedule for gas clock syncs and status housekeeping (DSMR-M 4.5.89; P2-4.0.7 §6.2.4)."""

from __future__ import annotations

from datetime import datetime

from meterkast.emeter.gas_clock import ClockSync, GasCommand, SyncReason
from meterkast.emeter.localtime import ZONE

MIDNIGHT = datetime(2025, 6, 2, 0, 1, tzinfo=ZONE)


def test_after_a_read_the_clear_goes_before_the_sync() -> None:
    """A sync may set bit 5 again; clearing after it would hide that from the next read [§6.2.4]."""
    state = ClockSync.installed()
    state.note_reading(MIDNIGHT, 0x20, restarted=False)
    assert state.after_read() == [GasCommand.CLEAR_STATUS, GasCommand.SYNC_CLOCK]


def test_only_non_permanent_bits_call_for_housekeeping() -> None:
    """Mask 73h: power low (2), permanent error (3) and valve alarm (7) are permanent [§6.2.4]."""
    state = ClockSync()
    for status, clear in ((0x04, False), (0x08, False), (0x80, False), (0x10, True), (0x40, True), (0x01, True)):
        state.last_daily = MIDNIGHT.date()
        state.note_reading(MIDNIGHT, status, restarted=False)
        assert (GasCommand.CLEAR_STATUS in state.after_read()) is clear


def test_the_daily_sync_comes_once_per_day_of_the_e_meter_clock() -> None:
    state = ClockSync()
    state.note_reading(MIDNIGHT, 0, restarted=False)
    assert state.pending is SyncReason.DAILY
    state.synced(MIDNIGHT)
    state.note_reading(MIDNIGHT.replace(hour=1), 0, restarted=False)
    assert state.after_read() == []
    state.note_reading(MIDNIGHT.replace(day=3), 0, restarted=False)
    assert state.pending is SyncReason.DAILY


def test_a_clock_change_goes_at_once_and_a_failure_waits_for_the_next_read() -> None:
    state = ClockSync()
    state.trigger(SyncReason.DAILY, at_once=False)
    state.trigger(SyncReason.CLOCK_CHANGE, at_once=True)
    assert state.pending is SyncReason.CLOCK_CHANGE and state.at_once
    state.failed(GasCommand.SYNC_CLOCK)
    assert state.pending is SyncReason.CLOCK_CHANGE and not state.at_once and state.failures == 1
    assert state.synced(MIDNIGHT) is SyncReason.CLOCK_CHANGE and state.pending is None
