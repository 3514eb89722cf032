"""One store fixture, parametrised over SQLite and PostgreSQL: every contract test runs on both (STYLE 10).

PostgreSQL: database ``test`` on 127.0.0.1:5432, user postgres (trust), or MEETERKAST_PG_URL; each test
gets a fresh schema, dropped afterwards. If the server cannot be reached the PostgreSQL half is skipped with the reason,
unless MEETERKAST_REQUIRE_PG is set (CI sets it after .ci/start-postgres): then it fails.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from meterkast.central.store_sql import SqlStore
from meterkast.central.store_sql_db import Database, SqliteDatabase, open_database
from meterkast.errors import LinkError
from tests.central.helpers import counter_nonces

_schemas = itertools.count()
Connect = Callable[[], Database]


PG_URL = os.environ.get("MEETERKAST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def pg_database(schema: str | None = None) -> Database:
    return open_database(PG_URL if schema is None else f"{PG_URL}?schema={schema}")


def pg_required() -> bool:
    return os.environ.get("MEETERKAST_REQUIRE_PG", "") not in ("", "0")


@pytest.fixture(scope="session")
def pg_unreachable() -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        pg_database().close()
    except LinkError as exc:
        return str(exc)
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connect]:
    """Opens connections to one empty database (not migrated) on each backend."""
    opened: list[Database] = []
    if request.param == "sqlite":
        path = tmp_path / "store.db"

        def make() -> Database:
            opened.append(SqliteDatabase(path))
            return opened[-1]
    else:
        reason = request.getfixturevalue("pg_unreachable")
        if reason is not None:
            if pg_required():
                pytest.fail(f"MEETERKAST_REQUIRE_PG is set but PostgreSQL is unreachable: {reason}")
            pytest.skip(f"PostgreSQL unreachable ({reason}); set MEETERKAST_REQUIRE_PG=1 to fail instead")
        schema = f"meterkast_test_{os.getpid()}_{next(_schemas)}"

        def make() -> Database:
            opened.append(pg_database(schema))
            return opened[-1]
    yield make
    for db in opened:
        db.close()
    if request.param == "postgresql":
        cleaner = pg_database()
        cleaner.run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        cleaner.close()


@pytest.fixture
def database(connect: Connect) -> Database:
    return connect()


@pytest.fixture
def store(database: Database) -> SqlStore:
    """A migrated store with a master key and deterministic nonces."""
    return SqlStore(database, sealer=counter_nonces())
