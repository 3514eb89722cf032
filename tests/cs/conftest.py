"""A store on either backend for the service tests, in the fixture style of tests/central/conftest.py:
PostgreSQL is skipped when unreachable, and fails instead when MEETERKAST_REQUIRE_PG is set."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterkast.central.store_sql import SqlStore
from meterkast.errors import LinkError
from tests.central.conftest import pg_database, pg_required
from tests.central.helpers import counter_nonces
from tests.cs.helpers import sqlite_store

_schemas = itertools.count()


@pytest.fixture(scope="session")
def pg_reason() -> str | None:
    try:
        pg_database().close()
    except LinkError as exc:
        return str(exc)
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        store = sqlite_store(tmp_path / "cs.sqlite")
        yield store
        store.close()
        return
    reason = request.getfixturevalue("pg_reason")
    if reason is not None:
        if pg_required():
            pytest.fail(f"MEETERKAST_REQUIRE_PG is set but PostgreSQL is unreachable: {reason}")
        pytest.skip(f"PostgreSQL unreachable ({reason}); set MEETERKAST_REQUIRE_PG=1 to fail instead")
    schema = f"meterkast_cs_{os.getpid()}_{next(_schemas)}"
    store = SqlStore(pg_database(schema), sealer=counter_nonces())
    yield store
    store.close()
    cleaner = pg_database()
    cleaner.run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    cleaner.close()
