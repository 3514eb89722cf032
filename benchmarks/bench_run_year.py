"""A simulated year of ``meterkast run --speed max``, the whole chain, timed (issue 5: "under 60 s").

What the year includes (nothing is skipped that a P1 reader could see or the store must keep):
- the default installation: household (De Bilt weather), gas meter, the real P2 path (M-Bus frames,
  AES-GCM with the user key, replay checks) for every hourly read and retry, the E-meter with its
  profiles, tariff, load and events;
- the P1 TCP port open, and the telegram of every whole hour made (DSMR 4 encoding), decoded again to
  note the gas value the stream showed, and sent: 8,760 telegrams;
- the store: one SQLite transaction per hour (that hour's events, its truth record), a full snapshot
  every second of real time.

What it leaves out, and why: at ``--speed max`` the runner does not make the 3.15 million telegrams a
DSMR 4 port sends in a year (one every 10 s) — nobody could read them at that pace, and a P1 port shows
the meter *now*. The cost of doing so anyway is measured on one simulated day and extrapolated below.

Run: ``python -m benchmarks run_year``.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchmarks
from meterkast.cli import main as cli
from meterkast.clock import SimClock
from meterkast.commands.run_live import new_world
from meterkast.live.session import LiveSession
from meterkast.live.store import DATABASE_NAME, Store
from meterkast.scenario_files import load_scenario
from meterkast.timeutil import HOUR

START = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = START.replace(year=START.year + 1)
QUICK_UNTIL = START.replace(month=START.month + 1)  # python -m benchmarks --quick: one month
TELEGRAMS_PER_YEAR = 365 * 24 * 360


def every_telegram_seconds_per_day() -> float:
    """Real seconds to step one simulated day on the 10 s telegram grid, each telegram made."""
    world = new_world(dataclasses.replace(load_scenario("default"), start=START))
    session = LiveSession(world, SimClock(START), None)
    end = START + timedelta(days=1)
    began = time.perf_counter()
    while session.now < end:
        session.step(session.next_telegram_at(), telegram=True)
    return time.perf_counter() - began


def main() -> None:
    until = QUICK_UNTIL if benchmarks.quick() else UNTIL
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "data"
        argv = ["run", "--data", str(data), "--speed", "max", "--start", START.isoformat(), "--until",
                until.isoformat(), "--stop", "--p1-port", "0", "--no-http"]
        began = time.perf_counter()
        code = cli(argv)
        elapsed = time.perf_counter() - began
        assert code == 0, f"meterkast run exited {code}"
        store = Store.open(data)
        counts = store.counts()
        hours = store.hours()
        store.close()
        size_mb = sum(f.stat().st_size for f in data.iterdir()) / 1e6
    simulated_h = (until - START) / HOUR
    shown = sum(1 for h in hours if h.p1_value_m3 is not None and h.p1_value_m3 == h.index_m3)
    per_day = every_telegram_seconds_per_day()
    target = "[target < 60 s]" if until == UNTIL else "[quick: one month; the target is for a year]"
    print(f"simulated             {START.date()} .. {until.date()} ({simulated_h:,.0f} h)")
    print(f"wall time             {elapsed:.1f} s  ({simulated_h / elapsed:,.0f} simulated hours/s)  {target}")
    print(f"hours committed       {counts['hours']:,} (P1 value = truth index in {shown:,})")
    print(f"events stored         {counts['events']:,}")
    print(f"store                 {size_mb:.1f} MB ({DATABASE_NAME} + WAL)")
    print(f"every telegram        {per_day:.2f} s per simulated day at 10 s intervals "
          f"→ ~{per_day * 365:.0f} s for the {TELEGRAMS_PER_YEAR:,} telegrams of a year (not done at max speed)")
    print(f"machine               {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
