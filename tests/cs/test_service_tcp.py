"""The CS service over P3 TCP on 127.0.0.1, on simulated time: a small fleet in one round (the load test in
small, also on PostgreSQL), a wrong key, an outage and its catch-up, alarms, consent raised later."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from meterkast.central.model import AlarmKind, ConsentLevel, KeyKind, PeriodType
from meterkast.central.store import Store
from meterkast.central.store_sql import SqlStore
from meterkast.cosem.access import MeterInfo
from meterkast.cosem.client import P3Client
from meterkast.cs.alarms import P3_COMMUNICATION_LOSS
from meterkast.cs.fleet import FleetMeter, build_fleet
from meterkast.cs.fleet_serve import FleetServer
from meterkast.cs.inventory import MeterEntry, system_title_for
from meterkast.cs.schedule import ScheduleSettings, periods_allowed, read_window
from meterkast.cs.service import CentralSystem, P3Link, tcp_opener
from meterkast.emeter.readings import StatusBit
from meterkast.io.p3_server import P3TcpServer
from tests.cs.helpers import (
    CONN,
    E_ID,
    KEYS,
    WRONG_KEYS,
    drive,
    entry_for,
    make_cs,
    meter_values,
    new_meter,
    sqlite_store,
    stored_rows,
)

HOST = "127.0.0.1"
# The fleet holds a month boundary: monthly entry 2026-02-01 00:00 local = 2026-01-31 23:00 UTC.
START = datetime(2026, 1, 31, 12, tzinfo=UTC)
NOW = datetime(2026, 2, 2, 0, 20, tzinfo=UTC)
MIXED = [ConsentLevel.DETAILED, ConsentLevel.STANDARD, ConsentLevel.DETAILED, ConsentLevel.NONE]


def counting(opener: Callable[[MeterEntry, P3Client], Awaitable[P3Link]], seen: list[int]
             ) -> Callable[[MeterEntry, P3Client], Awaitable[P3Link]]:
    """An opener that records how many links are open at once."""
    state = {"open": 0}

    class Counted:
        def __init__(self, link: P3Link) -> None:
            self.link = link

        async def run(self, procedure):  # type: ignore[no-untyped-def]
            return await self.link.run(procedure)

        async def close(self) -> None:
            state["open"] -= 1
            await self.link.close()

    async def open_link(entry: MeterEntry, client: P3Client) -> P3Link:
        link = await opener(entry, client)
        state["open"] += 1
        seen.append(state["open"])
        await asyncio.sleep(0.001)  # let the others pile up if the throttle would allow it
        return Counted(link)
    return open_link


def expected_rows(fleet: list[FleetMeter], now: datetime) -> dict[str, dict[PeriodType, int]]:
    out = {}
    for item in fleet:
        counts = {}
        for period_type in periods_allowed(item.consent):
            window = read_window(period_type, now, item.installed_at)
            assert window is not None
            counts[period_type] = sum(1 for t in meter_values(item.meter, period_type) if window[0] <= t <= window[1])
        out[item.meter.equipment_id] = counts
    return out


def test_a_small_fleet_is_read_in_one_round_throttled_and_nothing_is_lost(any_store: SqlStore) -> None:
    """The load test in small (benchmarks/bench_cs_fleet.py has the 1,000-meter version): 20 E-meters, each on
    its own P3 port, read in one round with at most 4 reads at once; store row counts = what the meters hold
    under each one's consent."""
    fleet = build_fleet(20, start=START, now=NOW, rng=random.Random(5), consents=MIXED)
    seen: list[int] = []

    async def main() -> CentralSystem:
        async with FleetServer(fleet, rng=random.Random(6)) as server:
            cs = make_cs(any_store, START, counting(tcp_opener(5.0), seen),
                         settings=ScheduleSettings(max_concurrent=4))
            for entry in server.entries:
                cs.enrol(entry, at=START)
            report = await cs.step(NOW)
            assert report.contacts == 20 and report.failures == 0
            assert server.stats().connections == 20
            return cs

    cs = asyncio.run(main())
    assert max(seen) <= 4 and len(seen) == 20
    expected = expected_rows(fleet, NOW)
    for item in fleet:
        for period_type in PeriodType:
            window = read_window(period_type, NOW, START)
            assert window is not None
            want = expected[item.meter.equipment_id].get(period_type)
            if want is None:  # consent does not allow it: nothing kept, and it cannot be served either
                assert not any_store.missing_periods(item.connection, period_type, *window, now=NOW)
                continue
            rows = any_store.readings(item.connection, period_type, *window, now=NOW)
            assert len(rows) == want > 0
            assert not any_store.missing_periods(item.connection, period_type, *window, now=NOW)
    total = sum(sum(counts.values()) for counts in expected.values())
    assert cs.stats.rows_stored == total and cs.stats.rows_repeated == 0 and cs.stats.unavailable == 0
    refused = {(r.emeter, r.period_type) for r in cs.journal.refusals}
    assert refused == {
        (m.meter.equipment_id, p) for m in fleet for p in PeriodType if p not in periods_allowed(m.consent)}


def test_a_wrong_key_fails_that_meter_alone_and_becomes_a_communication_loss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fleet = build_fleet(3, start=START, now=NOW, rng=random.Random(5))
    store = sqlite_store(tmp_path / "cs.sqlite")
    bad = fleet[1].meter.equipment_id

    async def main() -> CentralSystem:
        async with FleetServer(fleet, rng=random.Random(6)) as server:
            cs = make_cs(store, START, tcp_opener(5.0))
            for entry in server.entries:
                keys = WRONG_KEYS if entry.emeter == bad else entry.keys
                cs.enrol(MeterEntry(entry.emeter, entry.connection, entry.host, entry.port, entry.installed_at,
                                    entry.gas, entry.system_title, entry.consent, keys), at=START)
            moment = NOW
            for _ in range(3):  # 3 failures in a row, each after its backoff (60 s, 120 s)
                report = await cs.step(moment)
                assert report.failures == 1
                moment = cs.scheduler.links[bad].retry_at or moment
            assert cs.stats.contacts == 5  # the others were read once, the bad one three times
            loss = [a for a in cs.open_alarms() if (a.kind, a.channel) == P3_COMMUNICATION_LOSS]
            assert [a.emeter for a in loss] == [bad]
            # The operator puts the right key in: the next retry reads it, and the loss is closed.
            store.put_key(bad, KeyKind.P3_ENCRYPTION, fleet[1].keys.encryption_key, moment)
            store.put_key(bad, KeyKind.P3_AUTHENTICATION, fleet[1].keys.authentication_key, moment)
            report = await cs.step(moment)
            assert (report.contacts, report.failures) == (1, 0)
            return cs

    with caplog.at_level(logging.WARNING, logger="meterkast.cs"):
        cs = asyncio.run(main())
    errors = [r for r in caplog.records if "AuthenticationError" in r.getMessage()]
    assert len(errors) == 3 and all(bad in r.getMessage() and r.levelno == logging.ERROR for r in errors)
    assert not [a for a in cs.open_alarms() if (a.kind, a.channel) == P3_COMMUNICATION_LOSS]
    assert cs.stats.alarms_closed == 1
    good = [m for m in fleet if m.meter.equipment_id != bad]
    for item in fleet:
        assert store.readings(item.connection, PeriodType.INTERVAL, START, NOW, now=NOW)
    assert len(good) == 2
    store.close()


def _hourly(store: Store, moment: datetime) -> int:
    return len(store.readings(CONN, PeriodType.INTERVAL, START, moment, now=moment))


def test_an_outage_is_caught_up_without_gaps_or_duplicates(tmp_path: Path) -> None:
    """The E-meter's P3 port is down for six simulated hours; afterwards one read fills the gap."""
    path = tmp_path / "cs.sqlite"
    store = sqlite_store(path)
    meter = new_meter(START)
    settings = ScheduleSettings(backoff_cap=timedelta(minutes=30))

    async def main() -> CentralSystem:
        server = P3TcpServer(lambda: meter, MeterInfo(system_title_for(E_ID)), KEYS, rng=random.Random(3))
        port = await server.start(HOST, 0)
        cs = make_cs(store, START, tcp_opener(2.0), settings=settings)
        cs.enrol(entry_for(meter, START, consent=ConsentLevel.DETAILED, port=port), at=START)
        try:
            for hour in range(1, 13):
                moment = START + timedelta(hours=hour, minutes=15)
                drive(meter, moment, START)
                if hour == 4:
                    await server.stop()
                if hour == 10:
                    await server.start(HOST, port)
                report = await cs.step(moment)
                assert report.failures == (1 if 4 <= hour < 10 else 0)
                if hour == 9:
                    assert _hourly(store, moment) == 4  # 12:00 … 15:00 UTC, read before the outage
        finally:
            await server.stop()
        return cs

    cs = asyncio.run(main())
    end = START + timedelta(hours=12, minutes=15)
    assert not store.missing_periods(CONN, PeriodType.INTERVAL, START, end, now=end)
    assert stored_rows(path)[PeriodType.INTERVAL] == {t: v for t, v in meter_values(meter, PeriodType.INTERVAL).items()
                                                      if t <= end - timedelta(minutes=15)}
    assert cs.stats.rows_repeated == 0 and _hourly(store, end) == 13
    store.close()


def test_seal_broken_and_battery_low_become_alarms_that_are_acknowledged_and_closed(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path / "cs.sqlite")
    meter = new_meter(START)
    trouble = START + timedelta(hours=5)

    def status(_channel: int, hour: datetime) -> int:  # the gas meter reports both from 17:00 on
        return int(StatusBit.FRAUD_ATTEMPT | StatusBit.BATTERY_LOW) if hour >= trouble else 0

    async def main() -> CentralSystem:
        server = P3TcpServer(lambda: meter, MeterInfo(system_title_for(E_ID)), KEYS, rng=random.Random(3))
        port = await server.start(HOST, 0)
        cs = make_cs(store, START, tcp_opener(2.0))
        cs.enrol(entry_for(meter, START, consent=ConsentLevel.NONE, port=port), at=START)
        try:
            for hours in (2, 8, 9):
                moment = START + timedelta(hours=hours, minutes=15)
                drive(meter, moment, START, status)
                await cs.step(moment)
        finally:
            await server.stop()
        return cs

    cs = asyncio.run(main())
    kinds = {(a.kind, a.channel): a for a in cs.open_alarms()}
    assert set(kinds) == {(AlarmKind.NEW_MBUS_DEVICE, 1), (AlarmKind.MBUS_FRAUD_ATTEMPT, 1),
                          (AlarmKind.MBUS_REPLACE_BATTERY, 1)}
    battery = kinds[AlarmKind.MBUS_REPLACE_BATTERY, 1]
    assert battery.raised_at == trouble + timedelta(minutes=1)  # the M-Bus event's own clock (the xx:01 read)
    assert meter.alarm_register == 0  # the CS cleared it once read (P3 §4.2.4)
    assert cs.stats.alarms_raised == 3  # nothing twice: the register was cleared, events are read once
    fraud = kinds[AlarmKind.MBUS_FRAUD_ATTEMPT, 1]
    later = START + timedelta(hours=10)
    assert cs.acknowledge_alarm(fraud.alarm_id, later).acknowledged_at == later
    assert cs.close_alarm(fraud.alarm_id, later).closed_at == later
    cs.close_alarm(battery.alarm_id, later)
    assert {a.kind for a in cs.open_alarms()} == {AlarmKind.NEW_MBUS_DEVICE}
    assert [a["kind"] for a in cs.status()["open_alarms"]] == ["new M-Bus device"]
    # Consent is none: alarms are technical and need no consent (SYSTEM C2), consumption data was not read.
    assert cs.stats.rows_stored == 0 and cs.stats.profile_reads == 0
    store.close()


def test_consent_raised_later_is_read_from_its_valid_from_only(tmp_path: Path) -> None:
    path = tmp_path / "cs.sqlite"
    store = sqlite_store(path)
    meter = new_meter(START)
    raised_at = START + timedelta(hours=30, minutes=40)

    async def main() -> None:
        server = P3TcpServer(lambda: meter, MeterInfo(system_title_for(E_ID)), KEYS, rng=random.Random(3))
        port = await server.start(HOST, 0)
        cs = make_cs(store, START, tcp_opener(2.0))
        cs.enrol(entry_for(meter, START, consent=ConsentLevel.STANDARD, port=port), at=START)
        try:
            for hours in range(6, 40, 6):
                moment = START + timedelta(hours=hours, minutes=15)
                drive(meter, moment, START)
                if moment > raised_at and store.consent_at(CONN, moment) is ConsentLevel.STANDARD:
                    store.set_consent(CONN, ConsentLevel.DETAILED, raised_at, raised_at)
                await cs.step(moment)
        finally:
            await server.stop()

    asyncio.run(main())
    kept = stored_rows(path)
    hourly = sorted(kept[PeriodType.INTERVAL])
    assert hourly and hourly[0] == datetime(2026, 2, 1, 19, tzinfo=UTC)  # the first whole hour after 18:40
    assert sorted(kept[PeriodType.MONTHLY]) == [datetime(2026, 1, 31, 23, tzinfo=UTC)]  # standard allowed it
    assert sorted(kept[PeriodType.DAILY]) == [datetime(2026, 2, 1, 23, tzinfo=UTC)]  # 2 Feb 00:00 local, not 1 Feb
    store.close()
