"""Shared helpers for the E-meter tests: a shell-like driver that polls as the meter asks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterkast.emeter import EMeter, MbusDeviceIdentity, MbusReading
from meterkast.emeter.events import Event

AMS = ZoneInfo("Europe/Amsterdam")
E_ID = "E0031003239456716"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=AMS, fold=fold)  # type: ignore[misc]


def gas_identity(serial: int = 1234567890, code: str = "G0001") -> MbusDeviceIdentity:
    return MbusDeviceIdentity.for_meter_number(f"{code}{serial:010d}12")


def hourly_index(hour: datetime) -> Decimal:
    """A simple increasing register: 0.123 m³ per hour since 2020."""
    hours = int((hour - utc(2020, 1, 1)).total_seconds()) // 3600
    return Decimal(hours * 123).scaleb(-3)


GasSource = Callable[[int, datetime], Decimal]
FailRule = Callable[[int, datetime], bool]


def never(_channel: int, _at: datetime) -> bool:
    return False


def drive(
    meter: EMeter,
    until: datetime,
    gas: GasSource = lambda _c, hour: hourly_index(hour),
    fail: FailRule = never,
    status: Callable[[int, datetime], int] = lambda _c, _h: 0,
) -> list[Event]:
    """Run ``meter`` to ``until`` like a shell: wake at each deadline, read the channels that are due.

    The gas meter's capture time is the whole UTC hour of the read (its clock is in sync).
    """
    events: list[Event] = []
    while True:
        for channel in meter.polls_due(meter.now):
            if fail(channel, meter.now):
                events += meter.record_read_failure(meter.now, channel, "no answer")
            else:
                hour = meter.now.replace(minute=0, second=0, microsecond=0)
                reading = MbusReading(gas(channel, hour), hour, status(channel, hour))
                events += meter.record_reading(meter.now, channel, reading)
        deadline = meter.next_deadline()
        if deadline > until:
            events += meter.advance(until)
            return events
        events += meter.advance(deadline)


def new_meter(start: datetime, devices: int = 1, **kwargs: object) -> EMeter:
    meter = EMeter(E_ID, start, **kwargs)  # type: ignore[arg-type]
    for n in range(devices):
        meter.couple(start, gas_identity(1234567890 + n))
    return meter


def after(moment: datetime, **delta: float) -> datetime:
    return moment + timedelta(**delta)
