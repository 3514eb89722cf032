"""Builders for the central system tests: one E-meter model on a P3 server, a store, a CS on a simulated clock."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from meterkast.central.model import Connection, ConsentLevel, PeriodType
from meterkast.central.store import Store
from meterkast.central.store_sql import SqlStore
from meterkast.central.store_sql_db import SqliteDatabase
from meterkast.clock import SimClock
from meterkast.cosem.access import MeterInfo
from meterkast.cosem.server import P3Server
from meterkast.cosem.session_counters import P3Counters
from meterkast.cs.fleet import StatusSource, linear_gas, no_status, run_meter
from meterkast.cs.inventory import GasCoupling, MeterEntry, system_title_for
from meterkast.cs.loopback import memory_opener
from meterkast.cs.schedule import ScheduleSettings
from meterkast.cs.service import CentralSystem, LinkOpener
from meterkast.dlms import SecurityKeys
from meterkast.emeter import EMeter, MbusDeviceIdentity
from tests.central.helpers import counter_nonces

E_ID = "E0031003239456716"
G_ID = "G0001123456789012"
CONN = Connection.from_body("87168714000000001")
KEYS = SecurityKeys(bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
                    bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"))
WRONG_KEYS = SecurityKeys(bytes(16), KEYS.authentication_key)
CS_TITLE = b"MKS" + (1).to_bytes(5, "big")
HOUR = timedelta(hours=1)


def sqlite_store(path: Path) -> SqlStore:
    return SqlStore(SqliteDatabase(path), sealer=counter_nonces())


def new_meter(start: datetime, emeter: str = E_ID, gas_meter: str = G_ID) -> EMeter:
    meter = EMeter(emeter, start)
    meter.couple(start, MbusDeviceIdentity.for_meter_number(gas_meter))
    return meter


def drive(meter: EMeter, until: datetime, start: datetime, status: StatusSource = no_status) -> None:
    run_meter(meter, until, linear_gas(start), status)


def p3_server(meter: EMeter, keys: SecurityKeys = KEYS) -> P3Server:
    return P3Server(lambda: meter, MeterInfo(system_title_for(meter.equipment_id)), keys, random.Random(7),
                    P3Counters())


def entry_for(meter: EMeter, start: datetime, *, connection: Connection = CONN, consent: ConsentLevel | None = None,
              keys: SecurityKeys | None = KEYS, port: int = 4059, gas_meter: str = G_ID) -> MeterEntry:
    return MeterEntry(meter.equipment_id, connection, "127.0.0.1", port, start, (GasCoupling(1, gas_meter, start),),
                      system_title_for(meter.equipment_id), consent, keys)


def make_cs(store: Store, start: datetime, opener: LinkOpener, *, settings: ScheduleSettings | None = None,
            clear_alarm_register: bool = True) -> CentralSystem:
    return CentralSystem(store, clock=SimClock(start), system_title=CS_TITLE, rng=random.Random(1),
                         counter_start=1, opener=opener, settings=settings, clear_alarm_register=clear_alarm_register)


def memory_cs(store: Store, start: datetime, servers: dict[str, P3Server],
              down: Callable[[str], bool] = lambda _e: False, **kwargs: object) -> CentralSystem:
    return make_cs(store, start, memory_opener(servers, down), **kwargs)  # type: ignore[arg-type]


def stored_rows(path: Path) -> dict[PeriodType, dict[datetime, Decimal]]:
    """Every reading in the store's SQLite file, by period type and capture instant (read past the store's
    consent check on purpose: the test looks at what is *kept*, not at what may be served)."""
    out: dict[PeriodType, dict[datetime, Decimal]] = {p: {} for p in PeriodType}
    with sqlite3.connect(path) as db:
        for period, capture, value in db.execute("SELECT period_type, capture_time, value_m3 FROM readings"):
            moment = datetime.fromisoformat(capture).astimezone(UTC)
            assert moment not in out[PeriodType(period)], "a reading stored twice"
            out[PeriodType(period)][moment] = Decimal(value)
    return out


def meter_values(meter: EMeter, period_type: PeriodType, channel: int = 1) -> dict[datetime, Decimal]:
    """What the E-meter holds for ``period_type``, by the entry's clock in UTC (entries with a value)."""
    if period_type is PeriodType.INTERVAL:
        return {e.clock.astimezone(UTC): e.value_m3 for e in meter.hourly_profile(channel)}
    profile = meter.daily_profile if period_type is PeriodType.DAILY else meter.monthly_profile
    return {e.clock.astimezone(UTC): v.value_m3 for e in profile if (v := e.channel(channel)) is not None}
