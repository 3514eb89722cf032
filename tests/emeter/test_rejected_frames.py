"""Refused P2 frames at the E-meter: counted per channel, one event each, the fraud alarm after a run.

[P3-4.2.2 §4.2.1, §4.2.4]: "fraud attempt M-Bus channel n" is code 103 + 10·(n−1) and bit 19 + n of the
error and alarm registers; ``REJECTION_ALARM_RUN`` refusals in a row raise it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from meterkast.emeter import EMeter, MbusReading
from meterkast.emeter.channels import REJECTION_ALARM_RUN
from meterkast.emeter.events import FrameRejected, LogId, MbusEventLogged, ReadFailed, ReadingReceived
from tests.emeter.conftest import hourly_index, new_meter, utc

START = utc(2024, 1, 10, 8, 30)
FRAUD_BIT = 1 << 20  # channel 1


def read_at(meter: EMeter, hour: datetime, *, refused: bool) -> list[object]:
    """One poll at xx:01 of ``hour`` (meter clock in sync): accepted, or refused over P2."""
    now = hour + timedelta(minutes=1)
    meter.advance(now)
    if refused:
        return list(meter.record_read_failure(now, 1, "2F 2F missing", rejected=True))
    return list(meter.record_reading(now, 1, MbusReading(hourly_index(hour), hour, 0, Decimal("0.001"))))


def test_each_refusal_is_an_event_and_counted_and_a_failed_read() -> None:
    meter = new_meter(START)
    events = read_at(meter, utc(2024, 1, 10, 9), refused=True)
    rejected = [e for e in events if isinstance(e, FrameRejected)]
    assert [(e.channel, e.count, e.run) for e in rejected] == [(1, 1, 1)]
    assert any(isinstance(e, ReadFailed) for e in events)
    assert meter.rejected_frames(1) == 1 and not meter.alarm_register & FRAUD_BIT


def test_a_run_below_the_threshold_raises_no_alarm_and_an_accepted_reading_ends_it() -> None:
    meter = new_meter(START)
    hour = utc(2024, 1, 10, 9)
    for n in range(3 * (REJECTION_ALARM_RUN - 1)):
        refused = n % 3 != 2  # two refused, one accepted, and again
        read_at(meter, hour + timedelta(hours=n), refused=refused)
    assert meter.rejected_frames(1) == 2 * (REJECTION_ALARM_RUN - 1)
    assert not meter.alarm_register & FRAUD_BIT
    assert 103 not in [e.code for e in meter.event_log(LogId.MBUS)]


def test_the_threshold_logs_fraud_attempt_once_and_genuine_readings_still_count() -> None:
    meter = new_meter(START)
    hour = utc(2024, 1, 10, 9)
    logged: list[int] = []
    for n in range(2 * REJECTION_ALARM_RUN):
        events = read_at(meter, hour + timedelta(hours=n), refused=True)
        logged += [e.code for e in events if isinstance(e, MbusEventLogged)]
    assert logged.count(103) == 1  # once per run, not per frame: the 30-entry M-Bus log stays readable
    assert meter.alarm_register & FRAUD_BIT and meter.error_register & FRAUD_BIT
    events = read_at(meter, hour + timedelta(hours=2 * REJECTION_ALARM_RUN), refused=False)
    assert any(isinstance(e, ReadingReceived) for e in events)  # nothing blocks the genuine reading
    assert not meter.error_register & FRAUD_BIT  # the condition is gone
    assert meter.alarm_register & FRAUD_BIT  # the alarm stays until the central system clears it
    assert meter.rejected_frames(1) == 2 * REJECTION_ALARM_RUN
