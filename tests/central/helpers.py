"""Builders shared by the central store tests: one connection with one E-meter and one gas meter."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterkast.central.keys_at_rest import KeySealer
from meterkast.central.model import Connection, ConsentLevel, EMeterRecord, PeriodType, Reading
from meterkast.central.store import Store
from meterkast.emeter.amr import AmrStatus

AMS = ZoneInfo("Europe/Amsterdam")
CONN = Connection.from_body("87168714000000001")
OTHER = Connection.from_body("87168714000000002")
E_ID = "E0031003239456716"
E_OTHER = "E0031003239456816"
G_ID = "G0019340315370616"
G_NEW = "G0019340315370721"
T0 = datetime(2025, 1, 1, tzinfo=AMS).astimezone(UTC)  # local midnight, first of the month
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
TOKEN = "p4-token-" + "x" * 40
MASTER_KEY = bytes(range(32))


def counter_nonces() -> KeySealer:
    """A sealer whose nonces count up: deterministic for tests (production passes os.urandom)."""
    counter = itertools.count(1)
    return KeySealer(MASTER_KEY, lambda n: next(counter).to_bytes(n, "big"))


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A local (Europe/Amsterdam) wall-clock time, as the UTC instant the store returns."""
    return datetime(year, month, day, hour, tzinfo=AMS).astimezone(UTC)


@dataclass(frozen=True)
class Installation:
    connection: Connection
    emeter: str
    gas_meter: str


def install(
    store: Store,
    connection: Connection = CONN,
    *,
    emeter: str = E_ID,
    gas_meter: str = G_ID,
    consent: ConsentLevel | None = ConsentLevel.DETAILED,
    at: datetime = T0,
) -> Installation:
    store.add_connection(connection)
    store.add_emeter(EMeterRecord(emeter, connection, at))
    store.couple_gas_meter(emeter, 1, gas_meter, at)
    if consent is not None:
        store.set_consent(connection, consent, at, at)
    return Installation(connection, emeter, gas_meter)


def reading(
    capture: datetime,
    value: str = "100.000",
    period: PeriodType = PeriodType.INTERVAL,
    *,
    connection: Connection = CONN,
    gas_meter: str = G_ID,
    channel: int = 1,
    status: int = 0,
    log_delay: timedelta = timedelta(minutes=20),
) -> Reading:
    return Reading(connection, gas_meter, channel, period, capture, Decimal(value), AmrStatus(status),
                   capture + log_delay)


def hourly(start: datetime, count: int, *, first_value: int = 100_000, **kwargs: object) -> list[Reading]:
    """``count`` hourly readings from ``start``; the register grows 0.123 m³ an hour."""
    return [
        reading(start + i * HOUR, str(Decimal(first_value + 123 * i).scaleb(-3)), **kwargs)  # type: ignore[arg-type]
        for i in range(count)
    ]
