"""The central system's load test (issue 6): 1,000 simulated E-meters read over P3 TCP on 127.0.0.1 in one
schedule round, throttled, and nothing lost.

What is real: every E-meter is its own ``P3TcpServer`` on its own port (no multiplexing), with its own keys,
system title and invocation counter; the CS reads each one as in the field: a TCP connection, the IEC
62056-47 wrapper, an HLS5-GMAC association as the management client, every APDU AES-GCM ciphered; alarm
register, M-Bus event log, the gaps of each profile consent allows (selective access by range), filed in
the store (SQLite in a temporary directory by default; ``--store postgresql://…`` for PostgreSQL), alarms
raised. What is simulated: the meters are copies of one E-meter model with two days of history (hourly,
daily and a monthly entry); they stand still while read.

Two layouts: ``inprocess`` serves the meters from the CS's own event loop (both sides share one core);
``process`` serves them from a ``meterkast cs fleet`` child process (the meters get a core of their own,
as they would be other machines). Consent is detailed for 8 of every 10 connections, standard for 1, none
for 1, so refusals are part of the round.

The check: after the round, for every connection and every period type consent allows, the store holds
exactly the entries the meter holds in the read window, and nothing for the rest.

Run: ``python -m benchmarks cs_fleet`` or ``python benchmarks/bench_cs_fleet.py --meters 1000
--concurrency 64 --layout both [--store URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchmarks
from meterkast.central import KeySealer, SqlStore, open_store
from meterkast.central.model import ConsentLevel, PeriodType
from meterkast.clock import SimClock
from meterkast.cs.fleet import build_fleet, connection_for, emeter_id, template_meter
from meterkast.cs.fleet_serve import FleetServer, raise_fd_limit
from meterkast.cs.inventory import MeterEntry, parse_meters
from meterkast.cs.schedule import ScheduleSettings, periods_allowed, read_window
from meterkast.cs.service import CentralSystem, tcp_opener
from meterkast.emeter import EMeter

START = datetime(2026, 1, 31, 0, tzinfo=UTC)  # 2 days of history that hold a month boundary (1 Feb local)
NOW = START + timedelta(days=2, minutes=20)
CONSENTS = [ConsentLevel.DETAILED] * 8 + [ConsentLevel.STANDARD, ConsentLevel.NONE]
CS_TITLE = b"MKS" + (1).to_bytes(5, "big")
SEED = 7
CLI = "import sys; from meterkast.cli import main; sys.exit(main())"  # the package has no __main__


def meter_rows(meter: EMeter) -> dict[PeriodType, int]:
    """Entries of each profile in the read window at NOW (all clones hold the same entries)."""
    out = {}
    for period_type in PeriodType:
        window = read_window(period_type, NOW, START)
        assert window is not None
        if period_type is PeriodType.INTERVAL:
            clocks = [e.clock for e in meter.hourly_profile(1)]
        else:
            profile = meter.daily_profile if period_type is PeriodType.DAILY else meter.monthly_profile
            clocks = [e.clock for e in profile if e.channel(1) is not None]
        out[period_type] = sum(1 for c in clocks if window[0] <= c.astimezone(UTC) <= window[1])
    return out


def make_store(url: str | None, folder: Path) -> SqlStore:
    nonces = itertools.count(1)
    sealer = KeySealer(bytes(range(32)), lambda n: next(nonces).to_bytes(n, "big"))
    return open_store(url or f"sqlite:///{folder / 'cs.sqlite'}", sealer=sealer)


def verify(store: SqlStore, entries: list[MeterEntry], per_meter: dict[PeriodType, int]) -> tuple[int, int]:
    """(rows found, rows expected) over every connection and allowed period type; raises on a mismatch."""
    found = expected = 0
    for entry in entries:
        level = entry.consent or ConsentLevel.NONE
        for period_type in periods_allowed(level):
            window = read_window(period_type, NOW, START)
            assert window is not None
            rows = len(store.readings(entry.connection, period_type, *window, now=NOW))
            if rows != per_meter[period_type]:
                raise AssertionError(f"{entry.emeter} {period_type.value}: {rows} rows stored, "
                                     f"{per_meter[period_type]} expected: a read was lost")
            found, expected = found + rows, expected + per_meter[period_type]
            assert not store.missing_periods(entry.connection, period_type, *window, now=NOW)
    return found, expected


async def round_over(entries: list[MeterEntry], store: SqlStore, concurrency: int) -> tuple[CentralSystem, float,
                                                                                             float]:
    cs = CentralSystem(store, clock=SimClock(NOW), system_title=CS_TITLE, rng=random.Random(SEED), counter_start=1,
                       opener=tcp_opener(30.0), settings=ScheduleSettings(max_concurrent=concurrency))
    began = time.perf_counter()
    for entry in entries:
        cs.enrol(entry, at=START)
    enrolled = time.perf_counter() - began
    began = time.perf_counter()
    report = await cs.step(NOW)
    elapsed = time.perf_counter() - began
    assert report.contacts == len(entries) and report.failures == 0, report
    return cs, enrolled, elapsed


def report(layout: str, cs: CentralSystem, *, count: int, enrolled: float, elapsed: float, found: int,
           expected: int, apdus: int | None) -> None:
    s = cs.stats
    print(f"-- layout {layout}: {count:,} E-meters, at most {cs.settings.max_concurrent} reads at once")
    print(f"enrolment             {enrolled:.1f} s (connections, E-meters, couplings, sealed keys, consent)")
    print(f"round                 {elapsed:.2f} s: {s.contacts:,} E-meters read, {s.failures} failed")
    print(f"throughput            {s.contacts / elapsed:,.0f} E-meter reads/s, {s.rows_stored / elapsed:,.0f} rows/s, "
          f"{s.profile_reads / elapsed:,.0f} profile reads/s")
    print(f"stored                {s.rows_stored:,} rows ({found:,} found by connection, {expected:,} expected), "
          f"{s.rows_repeated} repeated, {s.unavailable} unavailable")
    print(f"refused for consent   {s.refusals:,} profile reads (standard: daily+hourly, none: all three)")
    print(f"alarms                {s.alarms_raised:,} raised (new M-Bus device at installation)")
    if apdus is not None:
        print(f"P3 APDUs              {apdus:,} served ({apdus / count:.1f} per E-meter)")


async def inprocess(count: int, concurrency: int, store_url: str | None) -> None:
    began = time.perf_counter()
    fleet = build_fleet(count, start=START, now=NOW, rng=random.Random(SEED), consents=CONSENTS)
    built = time.perf_counter() - began
    per_meter = meter_rows(fleet[0].meter)
    with tempfile.TemporaryDirectory() as folder:
        store = make_store(store_url, Path(folder))
        try:
            async with FleetServer(fleet, rng=random.Random(SEED + 1)) as server:
                print(f"fleet                 built in {built:.1f} s; {count:,} P3 ports open")
                cs, enrolled, elapsed = await round_over(server.entries, store, concurrency)
                apdus = server.stats().apdus
            found, expected = verify(store, server.entries, per_meter)
            report("inprocess", cs, count=count, enrolled=enrolled, elapsed=elapsed, found=found, expected=expected,
                   apdus=apdus)
        finally:
            store.close()


async def in_child(count: int, concurrency: int, store_url: str | None) -> None:
    per_meter = meter_rows(template_meter(START, NOW))
    with tempfile.TemporaryDirectory() as folder:
        meters = Path(folder) / "meters.toml"
        command = [sys.executable, "-c", CLI, "cs", "fleet", str(count), "--meters-out", str(meters),
                   "--start", START.isoformat(), "--now", NOW.isoformat(), "--seed", str(SEED),
                   "--consent", ",".join(c.value for c in CONSENTS)]
        child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None
            line = child.stdout.readline()  # "fleet: … meters file …" once every port listens
            if not line.startswith("fleet:"):
                raise AssertionError(f"the fleet process did not start: {line!r}")
            entries = parse_meters(meters.read_text(encoding="utf-8"), str(meters))
            assert [e.emeter for e in entries] == [emeter_id(n) for n in range(1, count + 1)]
            assert entries[0].connection == connection_for(1)
            store = make_store(store_url, Path(folder))
            try:
                cs, enrolled, elapsed = await round_over(entries, store, concurrency)
                found, expected = verify(store, entries, per_meter)
            finally:
                store.close()
            report("process", cs, count=count, enrolled=enrolled, elapsed=elapsed, found=found, expected=expected,
                   apdus=None)
        finally:
            child.terminate()
            child.wait(10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_cs_fleet")
    parser.add_argument("--meters", type=int, default=benchmarks.scaled(1000, 50))
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--layout", choices=["inprocess", "process", "both"],
                        default="inprocess" if benchmarks.quick() else "both")
    parser.add_argument("--store", help="store URL (default: SQLite in a temporary directory)")
    args = parser.parse_args(argv or [])
    logging.basicConfig(level=logging.ERROR, format="meterkast: %(message)s")
    raise_fd_limit(4 * args.meters + 256)
    print(f"history               {START.isoformat()} .. {NOW.isoformat()} per meter; consent 8 detailed : "
          "1 standard : 1 none")
    if args.layout in ("inprocess", "both"):
        asyncio.run(inprocess(args.meters, args.concurrency, args.store))
    if args.layout in ("process", "both"):
        asyncio.run(in_child(args.meters, args.concurrency, args.store))
    print(f"machine               {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main(sys.argv[1:])
