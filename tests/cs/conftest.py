"""A store on either backend for the service tests (tests/pg.py): PostgreSQL is skipped when unreachable, and
fails instead when METERKAST_REQUIRE_PG is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meterkast.central.store_sql import SqlStore
from tests.central.helpers import counter_nonces
from tests.pg import BACKENDS, backend


@pytest.fixture(params=BACKENDS)
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    with backend(request.param, tmp_path / "cs.sqlite", "meterkast_cs") as connect:
        yield SqlStore(connect(), sealer=counter_nonces())
