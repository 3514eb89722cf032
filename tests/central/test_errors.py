"""Driver exceptions never leave the store: they are translated at the boundary (STYLE 9)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from meterkast.central.model import Connection, PeriodType
from meterkast.central.store import Store
from meterkast.central.store_sql import SqlStore, open_store
from meterkast.central.store_sql_db import Database, PostgresDatabase, SqliteDatabase, open_database
from meterkast.errors import InvalidInput, LinkError, MeterkastError
from tests.central.helpers import CONN, DAY, HOUR, T0, hourly, install
from tests.pg import Connect


def test_sqlstore_implements_the_store_protocol() -> None:
    store: Store = SqlStore(SqliteDatabase(":memory:"))  # mypy checks the structure; the test, that it opens
    assert store.schema_version() >= 1


def test_constraint_violation_becomes_invalid_input(store: SqlStore, database: Database) -> None:
    install(store)
    with pytest.raises(InvalidInput, match=r"refused 'INSERT INTO connections"):
        database.run("INSERT INTO connections (ean) VALUES (:ean)", {"ean": CONN.ean})
    database.rollback()
    with pytest.raises(InvalidInput, match="refused"):  # CHECK (channel BETWEEN 1 AND 4)
        database.run(
            "INSERT INTO gas_couplings (emeter, channel, gas_meter, coupled_at) VALUES ('x', 9, 'y', :t)",
            {"t": database.dialect.time_to_db(T0)},
        )
    database.rollback()


def test_other_database_errors_become_meterkast_errors(database: Database) -> None:
    with pytest.raises(MeterkastError, match="no_such_table") as caught:
        database.run("SELECT * FROM no_such_table")
    assert not isinstance(caught.value, (sqlite3.Error,))
    assert "pg8000" not in type(caught.value).__module__
    database.rollback()


def test_unreachable_postgres_is_a_link_error() -> None:
    with pytest.raises(LinkError, match=r"cannot reach PostgreSQL postgres@127\.0\.0\.1:1/test"):
        PostgresDatabase(port=1, database="test", password="secret", timeout_s=2.0)
    with pytest.raises(LinkError) as caught:
        open_database("postgresql://postgres:secret@127.0.0.1:1/test")
    assert "secret" not in str(caught.value)


def test_unopenable_sqlite_is_a_link_error(tmp_path: Path) -> None:
    with pytest.raises(LinkError, match="cannot open SQLite database"):
        SqliteDatabase(tmp_path / "missing-dir" / "store.db")


def test_locked_sqlite_is_a_link_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = open_store(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    blocked = SqliteDatabase(path)
    blocked.run("PRAGMA busy_timeout = 50")  # keep the test fast
    try:
        with pytest.raises(LinkError, match="another process holds the database"):
            SqlStore(blocked, migrate=False).add_connection(CONN)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.add_connection(CONN)


def test_closed_store_raises_meterkast_error(store: SqlStore) -> None:
    store.close()
    with pytest.raises(MeterkastError):
        store.schema_version()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/x", "scheme 'mysql' is not one of"),
        ("sqlite://", "names no file"),
        ("postgresql://u:secret@host:99999/x", "bad port"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        open_database(url)
    assert "secret" not in str(caught.value)


def test_sqlite_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_store("sqlite:///relative.db").close()
    assert (tmp_path / "relative.db").exists()
    open_store(f"sqlite:///{tmp_path / 'absolute.db'}").close()
    assert (tmp_path / "absolute.db").exists()
    assert open_store("sqlite:///:memory:").schema_version() >= 1


def test_two_connections_ingest_the_same_readings_concurrently(connect: Connect) -> None:
    """Two store processes (here: threads with their own connections) reading the same meter after an
    outage: every reading is stored once, no error escapes, nothing is lost."""
    first = SqlStore(connect())
    install(first)
    second = SqlStore(connect())  # migrating again is a no-op
    batch = hourly(T0, 48)
    counts: list[int] = []
    errors: list[BaseException] = []

    def ingest(store: SqlStore, readings: list[object]) -> None:
        try:
            for chunk in range(0, len(readings), 8):
                counts.append(store.store_readings(readings[chunk : chunk + 8]))  # type: ignore[arg-type]
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(s, list(b))) for s, b in ((first, batch), (second, batch[::-1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(counts) == 48
    assert first.readings(CONN, PeriodType.INTERVAL, T0, T0 + 2 * DAY, now=T0 + 3 * DAY) == batch
    assert second.missing_periods(Connection(CONN.ean), PeriodType.INTERVAL, T0, T0 + 47 * HOUR) == []
