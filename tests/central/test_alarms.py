"""Alarms: raised (deduplicated while open), acknowledged, closed, listed (SYSTEM C1); the state table."""

from __future__ import annotations

import pytest

from meterkast.central import rules
from meterkast.central.model import AlarmKind
from meterkast.central.store import Store
from meterkast.errors import ClockError, InvalidInput
from tests.central.helpers import CONN, DAY, E_ID, E_OTHER, HOUR, T0, install

FRAUD = AlarmKind.MBUS_FRAUD_ATTEMPT


def test_raise_is_deduplicated_while_open(store: Store) -> None:
    install(store)
    first = store.raise_alarm(E_ID, FRAUD, 1, T0 + HOUR)
    again = store.raise_alarm(E_ID, FRAUD, 1, T0 + 2 * HOUR)
    assert again == first and again.raised_at == T0 + HOUR
    other_channel = store.raise_alarm(E_ID, FRAUD, 2, T0 + 2 * HOUR)
    battery = store.raise_alarm(E_ID, AlarmKind.MBUS_REPLACE_BATTERY, 1, T0 + 3 * HOUR)
    assert len({first.alarm_id, other_channel.alarm_id, battery.alarm_id}) == 3
    assert store.open_alarms(E_ID) == [first, other_channel, battery]


def test_acknowledge_close_and_raise_anew(store: Store) -> None:
    install(store)
    alarm = store.raise_alarm(E_ID, FRAUD, 1, T0)
    acked = store.acknowledge_alarm(alarm.alarm_id, T0 + HOUR)
    assert acked.acknowledged_at == T0 + HOUR and acked.is_open
    assert store.acknowledge_alarm(alarm.alarm_id, T0 + 2 * HOUR) == acked  # ignored: first ack stands
    assert store.raise_alarm(E_ID, FRAUD, 1, T0 + 2 * HOUR) == acked  # still open: deduplicated
    closed = store.close_alarm(alarm.alarm_id, T0 + DAY)
    assert closed.closed_at == T0 + DAY and not closed.is_open
    assert store.close_alarm(alarm.alarm_id, T0 + 2 * DAY) == closed  # idempotent
    assert store.open_alarms() == []
    anew = store.raise_alarm(E_ID, FRAUD, 1, T0 + 3 * DAY)  # the same fault again after closing: a new alarm
    assert anew.alarm_id != alarm.alarm_id
    assert store.open_alarms() == [anew]


def test_alarm_rules(store: Store) -> None:
    install(store)
    alarm = store.raise_alarm(E_ID, AlarmKind.CLOCK_INVALID, 0, T0 + DAY)  # channel 0: the E-meter itself
    with pytest.raises(InvalidInput, match="before its last change"):
        store.acknowledge_alarm(alarm.alarm_id, T0)
    store.close_alarm(alarm.alarm_id, T0 + 2 * DAY)
    with pytest.raises(InvalidInput, match=f"alarm {alarm.alarm_id} is closed; it cannot be acknowledged"):
        store.acknowledge_alarm(alarm.alarm_id, T0 + 3 * DAY)
    with pytest.raises(InvalidInput, match="alarm 9999 does not exist"):
        store.close_alarm(9999, T0)
    with pytest.raises(InvalidInput, match=f"E-meter {E_OTHER} is unknown"):
        store.raise_alarm(E_OTHER, FRAUD, 1, T0)
    with pytest.raises(InvalidInput, match="channel 7 does not exist"):
        store.raise_alarm(E_ID, FRAUD, 7, T0)
    with pytest.raises(InvalidInput, match="alarm kind 'fraud' is not one of"):
        store.raise_alarm(E_ID, "fraud", 1, T0)  # type: ignore[arg-type]
    with pytest.raises(ClockError):
        store.raise_alarm(E_ID, FRAUD, 1, T0.replace(tzinfo=None))


def test_alarms_need_no_consent(store: Store) -> None:
    install(store, consent=None)  # SYSTEM C2: technical events are not consumption data
    assert store.raise_alarm(E_ID, FRAUD, 1, T0).is_open
    assert store.consent_at(CONN, T0).value == "none"


def test_transition_table_is_total() -> None:
    assert set(rules.ALARM_TRANSITIONS) == {(s, i) for s in rules.AlarmState for i in rules.AlarmInput}


def test_alarm_register_bits() -> None:
    register = 1 << 0 | 1 << 13 | 1 << 21 | 1 << 27 | 1 << 31  # bit 31 is not defined: ignored
    assert rules.alarms_in_register(register) == [
        (AlarmKind.CLOCK_INVALID, 0),
        (AlarmKind.FRAUD_ATTEMPT, 0),
        (AlarmKind.MBUS_FRAUD_ATTEMPT, 2),
        (AlarmKind.NEW_MBUS_DEVICE, 4),
    ]
