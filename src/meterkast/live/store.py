"""Where a live run keeps its state (``meterkast run --data DIR``): one SQLite file in WAL mode.

Tables (all instants UTC, fixed-width ISO 8601 text that sorts as time does; volumes exact decimal text):

- ``meta``: schema version, the run's settings, and ``through``: the simulated instant up to which
  everything below is committed;
- ``snapshots``: the pickled world (installation with its random generator, the P1 output stage) at an
  instant, with the last event and command numbers it contains;
- ``events``: every event, numbered (``seq``), append-only;
- ``hours``: per simulated hour, the ground truth beside what the P1 stream showed, append-only but for
  one row: the hour that ended where a run stopped cleanly is written *provisionally* (its P1 value shows
  only after that hour; ``meta.provisional_hour`` names it), and the next run's final record replaces it;
- ``commands``: what was done to the installation through the control surface, numbered, append-only.

Rules this module keeps:
- a commit is one transaction: the events, hours and commands of one simulated hour, ``through``, and
  optionally a snapshot; a killed process (SIGKILL) leaves the file at the previous commit, never half of
  one (WAL; ``synchronous=NORMAL`` gives up durability against power loss, not consistency);
- every table but ``meta`` and ``snapshots`` is append-only and keyed, so nothing is ever stored twice:
  a duplicate is an error (``InvalidInput``), never silently overwritten;
- a snapshot need not be taken every hour (pickling costs ~10 ms): restoring loads the newest snapshot
  and the runner replays the commands after it and the simulated time up to ``through``; the simulation
  is deterministic, so the result is the state that was committed (``LiveSession.restore``);
- driver errors are translated here (STYLE 9): a locked or unreadable database → ``LinkError``;
- the E-meter's P3 invocation counters (``meta`` key ``p3_counters``, ``cosem.session_counters``) are not
  part of the snapshot: a snapshot can be hours old, and a counter restored from it would be used a second
  time with the same key. They are written, in a transaction of their own, whenever they move (before the
  P3 reply that used them leaves), are never replayed, and survive ``--fresh`` (the keys do too: they are
  kept in the CS store).

``Store.open(None)`` is the in-memory twin (STYLE 10): the same SQL on ``:memory:``.
"""

from __future__ import annotations

import copyreg
import io
import json
import pickle
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterkast.errors import InvalidInput, LinkError, MeterkastError
from meterkast.mbus.gas_slave import GasMeterSlave

# 2: the pickled models gained the gas meter's drifting clock and the channels' clock sync (P2 §6.2.1), the
# SMR 5 variant and the water and heat meters; a run saved by version 1 is refused with --fresh advised
# rather than failing half-way through unpickling.
SCHEMA_VERSION = 2
DATABASE_NAME = "meterkast.sqlite"
DEFAULT_DATA_DIR = Path("meterkast-data")
KEEP_SNAPSHOTS = 3
P3_COUNTERS = "p3_counters"
PROVISIONAL_HOUR = "provisional_hour"  # meta key: the hour a clean stop wrote provisionally (module docstring)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, last_seq INTEGER NOT NULL, last_command INTEGER NOT NULL,
    state BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, source TEXT NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hours (
    hour TEXT PRIMARY KEY, consumed_m3 TEXT, index_m3 TEXT, p1_value_m3 TEXT
);
CREATE TABLE IF NOT EXISTS commands (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, command BLOB NOT NULL);
"""
_TABLES = ("snapshots", "events", "hours", "commands", "meta")


# -- records ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    at: datetime
    source: str  # "gas_meter", "e_meter"
    kind: str  # the event's class name
    detail: dict[str, Any]  # JSON-ready (meterkast.jsonable)

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "source": self.source, "kind": self.kind,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class HourRecord:
    """One simulated hour (its start, UTC): the truth, and the gas value the P1 stream showed for it."""

    hour: datetime
    consumed_m3: Decimal | None
    index_m3: Decimal | None
    p1_value_m3: Decimal | None

    def to_json(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {"hour": self.hour.isoformat(), "consumed_m3": text(self.consumed_m3),
                "index_m3": text(self.index_m3), "p1_value_m3": text(self.p1_value_m3)}


@dataclass(frozen=True, slots=True)
class CommandRecord:
    seq: int
    at: datetime
    command: object  # a LiveSession command (picklable, frozen)


@dataclass(slots=True)
class Commit:
    """What one transaction stores: everything that happened up to ``through``."""

    through: datetime
    events: list[EventRecord] = field(default_factory=list)
    hours: list[HourRecord] = field(default_factory=list)
    commands: list[CommandRecord] = field(default_factory=list)
    # The hour that ended at a clean stop, with what the P1 port has shown so far (LiveSession.take_all).
    provisional: HourRecord | None = None

    @property
    def all_hours(self) -> list[HourRecord]:
        """The final hours, then the provisional one if any."""
        return [*self.hours, *([] if self.provisional is None else [self.provisional])]


@dataclass(frozen=True, slots=True)
class Saved:
    """What a restart resumes from: the newest snapshot and what was committed after it."""

    snapshot_at: datetime
    state: bytes
    through: datetime
    commands: list[CommandRecord]  # after the snapshot, oldest first
    last_seq: int  # the highest event number stored
    last_command: int


# -- pickling the world ----------------------------------------------------------------------------------


def _revive_slave(meter: Any, state: dict[str, Any]) -> GasMeterSlave:
    slave = GasMeterSlave(meter)
    slave.__dict__.update(state)
    return slave


def _reduce_slave(slave: GasMeterSlave) -> tuple[Any, ...]:
    # GasMeterSlave keeps two lambdas in its routing table; pickle cannot store them, so the table is
    # rebuilt by __init__ and everything else restored. (Asked for: methods instead of the lambdas.)
    state = {k: v for k, v in slave.__dict__.items() if k != "_routes"}
    return _revive_slave, (slave.meter, state)


def dump_state(world: object) -> bytes:
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = copyreg.dispatch_table.copy()
    pickler.dispatch_table[GasMeterSlave] = _reduce_slave
    pickler.dump(world)
    return buffer.getvalue()


def load_state(data: bytes) -> Any:
    # Only ever our own file in --data DIR: pickle is fine for state we wrote ourselves.
    return pickle.loads(data)


# -- the store ---------------------------------------------------------------------------------------------


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _parse_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path | None) -> None:
        self._db = connection
        self.path = path

    @classmethod
    def open(cls, directory: Path | None) -> Store:
        """Open (creating) ``directory/meterkast.sqlite``; ``None``: an in-memory database."""
        path = None if directory is None else directory / DATABASE_NAME
        try:
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(":memory:" if path is None else path, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise LinkError(f"cannot open the data store {path or ':memory:'}: {exc}") from exc
        store = cls(db, path)
        version = store.meta("schema_version")
        if version is None:
            store.set_meta({"schema_version": str(SCHEMA_VERSION)})
        elif version != str(SCHEMA_VERSION):
            raise InvalidInput(
                f"{path} has schema version {version}, this meterkast writes {SCHEMA_VERSION}; "
                "start over with --fresh or use another --data directory"
            )
        return store

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.IntegrityError as exc:
            raise InvalidInput(f"the data store refused a duplicate record: {exc}") from exc
        except sqlite3.OperationalError as exc:
            raise LinkError(f"data store {self.path or ':memory:'}: {exc}") from exc
        except sqlite3.Error as exc:
            raise MeterkastError(f"data store {self.path or ':memory:'}: {exc}") from exc

    # -- meta ----------------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, values: dict[str, str]) -> None:
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", values.items())

    def settings(self) -> dict[str, Any] | None:
        """The settings the stored run was started with (``None``: nothing stored)."""
        text = self.meta("settings")
        return None if text is None else dict(json.loads(text))

    def begin(self, settings: dict[str, Any], start: datetime) -> None:
        """Record a new run's settings; the store must hold no run."""
        self.set_meta({"settings": json.dumps(settings, sort_keys=True), "through": _time(start)})

    def clear(self) -> None:
        """Forget the stored run (``--fresh``); the E-meter's P3 counters stay (module docstring)."""
        with self._transaction() as db:
            for table in _TABLES:
                if table == "meta":
                    db.execute("DELETE FROM meta WHERE key <> ?", (P3_COUNTERS,))
                else:
                    db.execute(f"DELETE FROM {table}")
            db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    # -- the E-meter's P3 counters --------------------------------------------------------------------

    def p3_counters(self) -> dict[str, Any] | None:
        """The saved ``P3Counters.to_json()`` of the E-meter (``None``: a meter that never spoke P3)."""
        text = self.meta(P3_COUNTERS)
        return None if text is None else dict(json.loads(text))

    def save_p3_counters(self, state: dict[str, Any]) -> None:
        self.set_meta({P3_COUNTERS: json.dumps(state, sort_keys=True)})

    # -- writing -------------------------------------------------------------------------------------

    def commit(self, commit: Commit, snapshot: bytes | None = None) -> None:
        """One transaction: the commit's records, ``through``, and the snapshot taken at ``through``."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO events (seq, at, source, kind, detail) VALUES (?, ?, ?, ?, ?)",
                [(e.seq, _time(e.at), e.source, e.kind, json.dumps(e.detail)) for e in commit.events],
            )
            self._write_hours(db, commit)
            db.executemany(
                "INSERT INTO commands (seq, at, command) VALUES (?, ?, ?)",
                [(c.seq, _time(c.at), pickle.dumps(c.command)) for c in commit.commands],
            )
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('through', ?)", (_time(commit.through),))
            if snapshot is not None:
                db.execute(
                    "INSERT INTO snapshots (at, last_seq, last_command, state) VALUES (?, "
                    "(SELECT coalesce(max(seq), 0) FROM events), (SELECT coalesce(max(seq), 0) FROM commands), ?)",
                    (_time(commit.through), snapshot),
                )
                # Only the newest snapshot is ever restored; keep a few, and the file small.
                db.execute("DELETE FROM snapshots WHERE id <= (SELECT max(id) FROM snapshots) - ?", (KEEP_SNAPSHOTS,))

    def _write_hours(self, db: sqlite3.Connection, commit: Commit) -> None:
        """The commit's hours; only the one provisional row may be replaced, by its final record or by
        a newer provisional one (a run stopped twice in the same hour)."""
        provisional = self.meta(PROVISIONAL_HOUR)
        hours = commit.all_hours
        if provisional is not None and any(_time(h.hour) == provisional for h in hours):
            db.execute("DELETE FROM hours WHERE hour = ?", (provisional,))
            db.execute("DELETE FROM meta WHERE key = ?", (PROVISIONAL_HOUR,))
        db.executemany(
            "INSERT INTO hours (hour, consumed_m3, index_m3, p1_value_m3) VALUES (?, ?, ?, ?)",
            [(_time(h.hour), _decimal(h.consumed_m3), _decimal(h.index_m3), _decimal(h.p1_value_m3))
             for h in hours],
        )
        if commit.provisional is not None:
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                       (PROVISIONAL_HOUR, _time(commit.provisional.hour)))

    # -- reading -------------------------------------------------------------------------------------

    def load(self) -> Saved | None:
        """The newest snapshot and what came after it; ``None`` if no snapshot was ever taken."""
        row = self._db.execute(
            "SELECT at, last_seq, last_command, state FROM snapshots ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        at, _, last_command, state = row
        commands = [
            CommandRecord(seq, _parse_time(when), load_state(blob))
            for seq, when, blob in self._db.execute(
                "SELECT seq, at, command FROM commands WHERE seq > ? ORDER BY seq", (last_command,)
            )
        ]
        through = self.meta("through")
        return Saved(
            snapshot_at=_parse_time(at),
            state=bytes(state),
            through=_parse_time(through) if through is not None else _parse_time(at),
            commands=commands,
            last_seq=self._max("events"),
            last_command=self._max("commands"),
        )

    def _max(self, table: str) -> int:
        row = self._db.execute(f"SELECT coalesce(max(seq), 0) FROM {table}").fetchone()
        return int(row[0])

    def recent_events(self, limit: int) -> list[EventRecord]:
        """The newest ``limit`` events, oldest first."""
        rows = self._db.execute(
            "SELECT seq, at, source, kind, detail FROM events ORDER BY seq DESC LIMIT ?", (limit,)
        ).fetchall()
        return [EventRecord(s, _parse_time(a), src, k, json.loads(d)) for s, a, src, k, d in reversed(rows)]

    def hours(self, limit: int | None = None) -> list[HourRecord]:
        """The newest ``limit`` hours (all if ``None``), oldest first."""
        rows = self._db.execute(
            "SELECT hour, consumed_m3, index_m3, p1_value_m3 FROM hours ORDER BY hour DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall()
        return [
            HourRecord(_parse_time(h), _parse_decimal(c), _parse_decimal(i), _parse_decimal(p))
            for h, c, i, p in reversed(rows)
        ]

    def counts(self) -> dict[str, int]:
        return {
            table: int(self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("snapshots", "events", "hours", "commands")
        }


def integrity(path: Path) -> str:
    """``PRAGMA integrity_check`` of a store file ("ok" when sound)."""
    db = sqlite3.connect(path)
    try:
        return "; ".join(str(row[0]) for row in db.execute("PRAGMA integrity_check"))
    finally:
        db.close()

