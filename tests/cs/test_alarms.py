"""Alarms from the alarm register and the M-Bus event log (cs/alarms.py): new bits only, each event once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meterkast.central.model import AlarmKind
from meterkast.cs.alarms import EVENT_ACTIONS, P3_COMMUNICATION_LOSS, AlarmWatch, CloseAlarm, RaiseAlarm
from meterkast.emeter.events import MbusCode, mbus_code
from meterkast.emeter.localtime import ZONE
from meterkast.emeter.logs import LogEntry

T0 = datetime(2026, 2, 1, 12, tzinfo=UTC)
FRAUD_CH1 = 1 << 20
COMM_CH2 = 1 << 17


def local(moment: datetime) -> datetime:
    return moment.astimezone(ZONE)


def test_only_bits_not_seen_before_raise_an_alarm() -> None:
    watch = AlarmWatch(T0)
    first = watch.commands(FRAUD_CH1, [], T0)
    assert first == [RaiseAlarm(AlarmKind.MBUS_FRAUD_ATTEMPT, 1, T0, "alarm register")]
    assert watch.commands(FRAUD_CH1, [], T0 + timedelta(hours=1)) == []  # still set: nothing new
    both = watch.commands(FRAUD_CH1 | COMM_CH2, [], T0 + timedelta(hours=2))
    assert [(c.kind, c.channel) for c in both] == [(AlarmKind.MBUS_COMMUNICATION_ERROR, 2)]
    watch.commands(0, [], T0 + timedelta(hours=3))  # someone cleared it
    again = watch.commands(FRAUD_CH1, [], T0 + timedelta(hours=4))
    assert [(c.kind, c.channel) for c in again] == [(AlarmKind.MBUS_FRAUD_ATTEMPT, 1)]


def test_a_register_the_cs_cleared_shows_every_bit_as_new() -> None:
    watch = AlarmWatch(T0)
    assert len(watch.commands(FRAUD_CH1, [], T0, register_cleared=True)) == 1
    assert len(watch.commands(FRAUD_CH1, [], T0 + timedelta(hours=1), register_cleared=True)) == 1


def test_events_raise_and_close_once_each_from_the_cursor_on() -> None:
    watch = AlarmWatch(T0)
    battery = LogEntry(local(T0 + timedelta(minutes=1)), mbus_code(MbusCode.REPLACE_BATTERY, 1))
    error = LogEntry(local(T0 + timedelta(hours=1, minutes=11)), mbus_code(MbusCode.COMMUNICATION_ERROR, 1))
    ok = LogEntry(local(T0 + timedelta(hours=2, minutes=1)), mbus_code(MbusCode.COMMUNICATION_OK, 1))
    old = LogEntry(local(T0 - timedelta(hours=1)), mbus_code(MbusCode.FRAUD_ATTEMPT, 1))
    commands = watch.commands(None, [ok, battery, old, error], T0 + timedelta(hours=3))
    assert commands == [
        RaiseAlarm(AlarmKind.MBUS_REPLACE_BATTERY, 1, battery.clock.astimezone(UTC), "M-Bus event 102"),
        RaiseAlarm(AlarmKind.MBUS_COMMUNICATION_ERROR, 1, error.clock.astimezone(UTC), "M-Bus event 100"),
        CloseAlarm(AlarmKind.MBUS_COMMUNICATION_ERROR, 1, ok.clock.astimezone(UTC), "M-Bus event 101"),
    ]
    # The next read starts at the newest clock (inclusive): what was seen is not seen again ...
    assert watch.commands(None, [ok], T0 + timedelta(hours=4)) == []
    # ... but a second entry at that very second is new.
    twin = LogEntry(ok.clock, mbus_code(MbusCode.REPLACE_BATTERY, 1))
    assert [c.kind for c in watch.commands(None, [ok, twin], T0 + timedelta(hours=4))] == [
        AlarmKind.MBUS_REPLACE_BATTERY]


def test_the_tables_cover_battery_fraud_and_communication_on_every_channel() -> None:
    for channel in (1, 2, 3, 4):
        assert EVENT_ACTIONS[102 + 10 * (channel - 1)].kind is AlarmKind.MBUS_REPLACE_BATTERY
        assert EVENT_ACTIONS[103 + 10 * (channel - 1)].kind is AlarmKind.MBUS_FRAUD_ATTEMPT
        assert EVENT_ACTIONS[101 + 10 * (channel - 1)].close
    assert P3_COMMUNICATION_LOSS == (AlarmKind.P3_COMMUNICATION_LOSS, 0)
