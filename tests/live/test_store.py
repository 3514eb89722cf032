"""The live store: one contract run against the file and the in-memory database (STYLE 10)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterkast.errors import InvalidInput
from meterkast.live.session import World
from meterkast.live.store import (
    KEEP_SNAPSHOTS,
    CommandRecord,
    Commit,
    EventRecord,
    HourRecord,
    Store,
    dump_state,
    integrity,
    load_state,
)
from tests.live.helpers import START, make_session

HOUR = timedelta(hours=1)


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data" if request.param == "file" else None)
    yield opened
    opened.close()


def commit_at(hour: int, seq: int) -> Commit:
    at = START + hour * HOUR
    return Commit(
        at,
        events=[EventRecord(seq, at, "gas_meter", "HourlyValueStored", {"index_m3": f"{hour}.000"})],
        hours=[HourRecord(at - HOUR, Decimal("0.5"), Decimal(hour), Decimal(hour))],
        commands=[CommandRecord(seq, at, ("press", hour))],
    )


def test_commits_read_back_in_order(store: Store) -> None:
    store.begin({"seed": 1}, START)
    store.commit(Commit(START), b"snapshot-0")
    for hour in range(1, 4):
        store.commit(commit_at(hour, hour))
    saved = store.load()
    assert saved is not None
    assert saved.state == b"snapshot-0" and saved.snapshot_at == START
    assert saved.through == START + 3 * HOUR
    assert [c.command for c in saved.commands] == [("press", 1), ("press", 2), ("press", 3)]
    assert (saved.last_seq, saved.last_command) == (3, 3)
    assert [h.index_m3 for h in store.hours()] == [1, 2, 3]
    assert [e.seq for e in store.recent_events(2)] == [2, 3]
    assert store.settings() == {"seed": 1}


def test_a_snapshot_hides_the_commands_before_it(store: Store) -> None:
    store.commit(commit_at(1, 1), b"old")
    store.commit(commit_at(2, 2), b"new")
    store.commit(commit_at(3, 3))
    saved = store.load()
    assert saved is not None and saved.state == b"new"
    assert [c.seq for c in saved.commands] == [3]


def test_nothing_is_stored_twice(store: Store) -> None:
    store.commit(commit_at(1, 1))
    with pytest.raises(InvalidInput, match="duplicate"):
        store.commit(commit_at(1, 2))  # the same hour again
    assert store.counts()["events"] == 1, "the refused commit left nothing behind"


def test_only_the_provisional_hour_is_replaced_by_its_final_record(store: Store) -> None:
    """A clean stop writes the hour that just ended without its P1 value; the next run's record replaces
    it. Any other hour written twice is still refused."""
    first = HourRecord(START, Decimal("0.1"), Decimal("1.1"), Decimal("1.1"))
    provisional = HourRecord(START + HOUR, Decimal("0.2"), Decimal("1.3"), None)
    store.commit(Commit(START + 2 * HOUR, hours=[first], provisional=provisional))
    assert store.hours() == [first, provisional]
    again = HourRecord(START + HOUR, Decimal("0.2"), Decimal("1.3"), None)  # stopped twice in one hour
    store.commit(Commit(START + 2 * HOUR, provisional=again))
    final = HourRecord(START + HOUR, Decimal("0.2"), Decimal("1.3"), Decimal("1.3"))
    store.commit(Commit(START + 3 * HOUR, hours=[final]))
    assert store.hours() == [first, final]
    with pytest.raises(InvalidInput, match="duplicate"):
        store.commit(Commit(START + 4 * HOUR, hours=[final]))  # no longer provisional
    with pytest.raises(InvalidInput, match="duplicate"):
        store.commit(Commit(START + 4 * HOUR, provisional=first))


def test_only_a_few_snapshots_are_kept(store: Store) -> None:
    for hour in range(1, 8):
        store.commit(commit_at(hour, hour), f"s{hour}".encode())
    assert store.counts()["snapshots"] == KEEP_SNAPSHOTS
    saved = store.load()
    assert saved is not None and saved.state == b"s7"


def test_clear_forgets_the_run(store: Store) -> None:
    store.begin({"seed": 1}, START)
    store.commit(commit_at(1, 1), b"s")
    store.clear()
    assert store.load() is None and store.settings() is None
    assert store.counts() == {"snapshots": 0, "events": 0, "hours": 0, "commands": 0}


def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    db = sqlite3.connect(tmp_path / "meterkast.sqlite")
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(InvalidInput, match="schema version 99"):
        Store.open(tmp_path)


def test_the_file_is_sound_and_in_wal_mode(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    store.commit(commit_at(1, 1), b"s")
    store.close()
    assert integrity(tmp_path / "meterkast.sqlite") == "ok"
    db = sqlite3.connect(tmp_path / "meterkast.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_pickled_world_runs_on_exactly_as_the_original() -> None:
    """The P2 link (a gas meter slave with its routing table) survives pickling, and so does determinism."""
    original = make_session()
    original.step(START + 30 * HOUR)
    copy = load_state(dump_state(original.world))
    assert isinstance(copy, World)
    later = START + 60 * HOUR
    original.world.installation.advance(later)
    events = copy.installation.advance(later)
    assert copy.installation.gas_meter is not None and original.world.installation.gas_meter is not None
    assert copy.installation.gas_meter.index_m3 == original.world.installation.gas_meter.index_m3
    assert events, "the copy keeps running"
    assert copy.rng.getstate() == original.world.rng.getstate()
