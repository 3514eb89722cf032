"""The central system's P3 invocation counter survives a restart of the CS (its store) and of the meter (its
saved ``P3Counters``): neither side ever uses or accepts a counter twice under one key (DSMR P3 §3.2.3.1)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from meterkast.central.model import ConsentLevel
from meterkast.central.store_sql import SqlStore
from meterkast.cli import main as cli_main
from meterkast.cosem.session_counters import P3Counters, key_identity
from meterkast.cs.fleet import build_fleet
from meterkast.cs.fleet_serve import FleetServer
from meterkast.cs.service import COUNTER_BLOCK, CentralSystem, tcp_opener
from meterkast.live.cs_link import CsOptions, start_cs_link
from meterkast.live.store import Store as RunStore
from tests.cs.helpers import CS_TITLE, KEYS, drive, entry_for, make_cs, memory_cs, new_meter, p3_server
from tests.live.helpers import START as LIVE_START
from tests.live.helpers import make_session

START = datetime(2026, 1, 5, tzinfo=UTC)


def contact(cs: CentralSystem, at: datetime) -> None:
    report = asyncio.run(cs.step(at))
    assert (report.contacts, report.failures) == (1, 0), cs.journal


def test_a_restarted_cs_continues_above_its_last_counter_and_the_meter_serves_it(any_store: SqlStore) -> None:
    meter = new_meter(START)
    drive(meter, START + timedelta(hours=3), START)
    server = p3_server(meter)
    first = memory_cs(any_store, START, {meter.equipment_id: server})
    first.enrol(entry_for(meter, START, consent=ConsentLevel.DETAILED), at=START)
    contact(first, START + timedelta(hours=1))
    identity = key_identity(CS_TITLE, KEYS)
    seen = server.counters.client_last[identity]
    assert 1 <= seen < COUNTER_BLOCK
    # A new CS process on the same store (counter_start 1 again, as main had it): the meter remembers what
    # it accepted, so reusing counters would be refused; the store makes the CS start above them instead.
    restarted = memory_cs(any_store, START, {meter.equipment_id: server})
    restarted.enrol(entry_for(meter, START, consent=ConsentLevel.DETAILED), at=START)
    drive(meter, START + timedelta(hours=4), START)
    contact(restarted, START + timedelta(hours=3))
    assert server.counters.client_last[identity] > COUNTER_BLOCK > seen
    assert any_store.reserve_invocation_counters(meter.equipment_id, 0, 1)[0] == 2 * COUNTER_BLOCK + 1


def test_a_restarted_fleet_meter_keeps_its_counters(any_store: SqlStore) -> None:
    """A fleet served, stopped and served again from its saved counters (a meter restart): the meters' own
    counters go on from where they stood and the CS, restarted too, is served."""
    fleet = build_fleet(2, start=START, now=START + timedelta(hours=3), rng=random.Random(4))

    async def main() -> dict[bytes, P3Counters]:
        saved: dict[bytes, P3Counters] = {}
        for round_ in range(2):
            async with FleetServer(fleet, rng=random.Random(round_), counters=saved) as served:
                cs = make_cs(any_store, START, tcp_opener(5.0))
                for entry in served.entries:
                    cs.enrol(entry, at=START)
                report = await cs.step(START + timedelta(hours=3, minutes=round_))
                assert (report.contacts, report.failures) == (2, 0)
            if round_ == 0:
                after_first = {title: c.server.next_value for title, c in saved.items()}
                saved = {title: P3Counters.from_json(c.to_json()) for title, c in saved.items()}  # persisted
        assert all(saved[title].server.next_value > value > 1 for title, value in after_first.items())
        return saved

    saved = asyncio.run(main())
    assert len(saved) == 2 and all(c.client_last for c in saved.values())


def test_a_restarted_live_run_keeps_the_meters_p3_counters_in_its_store(tmp_path: Path) -> None:
    """``meterkast run --cs`` restarted: the E-meter's counters come back from the run's store, not from a
    snapshot, so its own counter goes on and the CS's earlier counters stay refused."""
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.DETAILED)
    session = make_session()
    run_store = RunStore.open(tmp_path)

    async def twice() -> tuple[dict[str, Any], P3Counters]:
        link = await start_cs_link(session, options, meter_state=run_store)
        for _ in range(3):
            session.step(session.now + timedelta(hours=1))
            await link.cs.step(session.now)
        await link.close()
        saved = run_store.p3_counters()
        assert saved is not None
        link = await start_cs_link(session, options, meter_state=run_store)
        try:
            restored = link.server.core.counters
            assert restored.to_json() == saved  # what the meter had when it stopped
            session.step(session.now + timedelta(hours=1))
            await link.cs.step(session.now)
            assert link.cs.stats.failures == 0
        finally:
            await link.close()
        return saved, restored

    saved, restored = asyncio.run(twice())
    assert saved["server_next"] > 1 and saved["client_last"]
    assert restored.server.next_value > saved["server_next"]
    assert all(restored.client_last[k] > v for k, v in saved["client_last"].items())
    assert run_store.p3_counters() == restored.to_json()
    run_store.clear()  # --fresh forgets the run, not the counters
    assert run_store.p3_counters() == restored.to_json()
    run_store.close()


def test_meterkast_run_cs_twice_goes_on_with_the_counters_of_both_sides(tmp_path: Path) -> None:
    """The CLI, stopped and started again on its data directory: the E-meter's counters come from the run's
    store, the CS's from its own, and the second run reads without a failure."""
    data = tmp_path / "run"
    common = ["run", "--data", str(data), "--cs", "--cs-consent", "detailed", "--speed", "max", "--stop",
              "--no-http", "--no-p1", "--p3-port", "0"]
    assert cli_main([*common, "--until", (LIVE_START + timedelta(hours=6)).isoformat(),
                     "--start", LIVE_START.isoformat()]) == 0
    first = RunStore.open(data)
    saved = first.p3_counters()
    first.close()
    assert saved is not None and saved["server_next"] > 1 and saved["client_last"]
    assert cli_main([*common, "--until", (LIVE_START + timedelta(hours=12)).isoformat()]) == 0
    second = RunStore.open(data)
    again = second.p3_counters()
    second.close()
    assert again is not None and again["server_next"] > saved["server_next"]
    assert all(again["client_last"][k] > v for k, v in saved["client_last"].items())
    with sqlite3.connect(data / "cs.sqlite") as db:
        (readings,) = db.execute("SELECT COUNT(*) FROM readings WHERE period_type = 'interval'").fetchone()
    assert readings == 12
