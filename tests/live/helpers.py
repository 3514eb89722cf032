"""Building live sessions for the tests: the default scenario, a fixed start, no real clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from meterkast.clock import SimClock
from meterkast.commands.run_live import new_world
from meterkast.live.session import LiveSession
from meterkast.live.store import Store
from meterkast.scenario_files import load_scenario

START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)


def make_session(
    *,
    start: datetime = START,
    speed: float | None = None,
    seed: int = 0,
    scenario: str = "default",
    monotonic: Callable[[], float] = lambda: 0.0,
) -> LiveSession:
    """A new session; its clock stands still in real time unless ``monotonic`` is a real clock."""
    chosen = dataclasses.replace(load_scenario(scenario), speed=speed, seed=seed)
    if not chosen.timeline:
        chosen = dataclasses.replace(chosen, start=start)
    world = new_world(chosen)
    return LiveSession(world, SimClock(world.installation.now, monotonic=monotonic), speed)


def commit_all(session: LiveSession, store: Store) -> None:
    for commit in session.take_commits():
        store.commit(commit)
