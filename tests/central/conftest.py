"""One store fixture, parametrised over SQLite and PostgreSQL: every contract test runs on both (STYLE 10).

The backends, and when PostgreSQL is skipped or failed, are in tests/pg.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meterkast.central.store_sql import SqlStore
from meterkast.central.store_sql_db import Database
from tests.central.helpers import counter_nonces
from tests.pg import BACKENDS, Connect, backend


@pytest.fixture(params=BACKENDS)
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connect]:
    """Opens connections to one empty database (not migrated) on each backend."""
    with backend(request.param, tmp_path / "store.db", "meterkast_test") as make:
        yield make


@pytest.fixture
def database(connect: Connect) -> Database:
    return connect()


@pytest.fixture
def store(database: Database) -> SqlStore:
    """A migrated store with a master key and deterministic nonces."""
    return SqlStore(database, sealer=counter_nonces())
