"""The two store backends for the tests that run on both (STYLE 10): SQLite in a temporary file, PostgreSQL in a
fresh schema per test.

PostgreSQL: database ``test`` on 127.0.0.1:5432, user postgres (trust), or METERKAST_PG_URL; each test gets a
schema of its own, dropped afterwards. If the server cannot be reached a test that needs it is skipped with the
reason, unless METERKAST_REQUIRE_PG is set (CI sets it after .ci/start-postgres): then it fails.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from meterkast import environment
from meterkast.central.store_sql_db import Database, SqliteDatabase, open_database
from meterkast.errors import LinkError

PG_URL = environment.get("METERKAST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["sqlite", "postgresql"]
Connect = Callable[[], Database]

_schemas = itertools.count()


def pg_database(schema: str | None = None) -> Database:
    return open_database(PG_URL if schema is None else f"{PG_URL}?schema={schema}")


def pg_required() -> bool:
    return environment.is_set("METERKAST_REQUIRE_PG")


@functools.cache
def pg_unreachable() -> str | None:
    """None if PostgreSQL answers, else why not (asked once per test run)."""
    try:
        pg_database().close()
    except LinkError as exc:
        return str(exc)
    return None


@contextmanager
def fresh_schema(prefix: str) -> Iterator[str]:
    """A schema name no other test uses, dropped on the way out. Skips the test if PostgreSQL is unreachable,
    or fails it if METERKAST_REQUIRE_PG is set."""
    reason = pg_unreachable()
    if reason is not None:
        if pg_required():
            pytest.fail(f"METERKAST_REQUIRE_PG is set but PostgreSQL is unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable ({reason}); set METERKAST_REQUIRE_PG=1 to fail instead")
    schema = f"{prefix}_{os.getpid()}_{next(_schemas)}"
    yield schema
    cleaner = pg_database()
    cleaner.run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    cleaner.close()


@contextmanager
def backend(name: str, sqlite_path: Path, schema_prefix: str) -> Iterator[Connect]:
    """Opens connections to one empty database (not migrated) on backend ``name`` (one of BACKENDS): the SQLite
    file at ``sqlite_path``, or a fresh PostgreSQL schema. Every connection it opened is closed on the way out."""
    with ExitStack() as stack:
        open_one: Connect
        if name == "sqlite":
            open_one = functools.partial(SqliteDatabase, sqlite_path)
        else:
            open_one = functools.partial(pg_database, stack.enter_context(fresh_schema(schema_prefix)))

        def connect() -> Database:
            db = open_one()
            stack.callback(db.close)
            return db
        yield connect
