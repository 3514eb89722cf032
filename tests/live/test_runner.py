"""The runner: whole hours committed in order at speed max, a clean stop, a live clock, a progress bar."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from datetime import timedelta

from meterkast.live.runner import Runner
from meterkast.live.session import LiveSession
from meterkast.live.store import Store, dump_state, load_state
from tests.live.helpers import START, make_session

HOUR = timedelta(hours=1)


def fresh_store(session: LiveSession) -> Store:
    store = Store.open(None)
    store.commit(session.take_all()[0], dump_state(session.world))
    return store


def test_at_speed_max_every_hour_is_committed_and_the_run_stops_at_until() -> None:
    session = make_session()
    store = fresh_store(session)
    progress = io.StringIO()
    runner = Runner(session, store, until=START + 3 * 24 * HOUR, stop_at_until=True, snapshot_interval_s=0,
                    progress=progress)
    asyncio.run(runner.run())
    assert session.now == START + 72 * HOUR
    hours = store.hours()
    # 72 hours: the one that ends at --until too, provisionally (its P1 value shows only after it).
    assert [h.hour for h in hours] == [START + i * HOUR for i in range(72)]
    assert all(h.p1_value_m3 == h.index_m3 for h in hours[:-1])
    assert hours[-1].p1_value_m3 is None and hours[-1].index_m3 == hours[-2].index_m3 + hours[-1].consumed_m3
    assert runner.stats.snapshots >= 72, "--snapshot-interval 0: a snapshot every hour"
    saved = store.load()
    assert saved is not None and saved.snapshot_at == saved.through == START + 72 * HOUR
    lines = progress.getvalue().splitlines()
    assert lines[0].startswith("catching up") and "100%" in lines[-1]


def test_cancelling_commits_the_open_hour_and_a_snapshot_at_that_instant() -> None:
    session = make_session(speed=36_000.0, monotonic=time.monotonic)  # ten simulated hours a second
    store = fresh_store(session)

    async def run_a_while() -> Runner:
        runner = Runner(session, store)
        task = asyncio.create_task(runner.run())
        async with asyncio.timeout(60):  # a condition, with a generous deadline rather than a hang
            while session.now < START + 2 * HOUR + timedelta(minutes=10):
                await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return runner

    runner = asyncio.run(run_a_while())
    assert runner.stats.hours >= 1
    saved = store.load()
    assert saved is not None and saved.snapshot_at == saved.through == session.now
    assert not saved.commands
    world = load_state(saved.state)
    assert world.installation.now == session.now
    assert session.telegrams_made > 100, "at a finite speed the P1 port sends every telegram it can"


def test_after_until_the_clock_runs_in_real_time() -> None:
    session = make_session()
    store = fresh_store(session)

    async def catch_up() -> None:
        runner = Runner(session, store, until=START + 2 * HOUR)
        task = asyncio.create_task(runner.run())
        async with asyncio.timeout(60):
            while session.speed is None:
                await asyncio.sleep(0.001)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(catch_up())
    assert session.speed == 1.0
    assert session.now >= START + 2 * HOUR
