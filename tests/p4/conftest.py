"""Fixtures for the P4 API tests: a real SqlStore on SQLite (tmp_path) and a simulated clock; PostgreSQL
for the main flow (tests/pg.py: skipped if unreachable, failed if METERKAST_REQUIRE_PG is set).

Every answer a ``world`` saw is held to the OpenAPI document when the test ends: its status is
documented for its route, an error carries a known code, and a success conforms to its schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meterkast.central.store_sql import SqlStore, open_store
from meterkast.p4.errors import ERROR_CODES
from tests.central.helpers import counter_nonces
from tests.p4.helpers import DOCUMENT, World, make_world, route_template
from tests.p4.schema_check import conforms
from tests.pg import fresh_schema, pg_database


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'cs.db'}", sealer=counter_nonces())
    yield opened
    opened.close()


@pytest.fixture
def pg_store() -> Iterator[SqlStore]:
    with fresh_schema("meterkast_p4_test") as schema:
        opened = SqlStore(pg_database(schema), sealer=counter_nonces())
        yield opened
        opened.close()


def check_against_document(world: World) -> None:
    for seen in world.seen:
        target = route_template(seen.method, seen.path)
        if target is None:
            assert seen.status in (401, 404, 405), (seen.method, seen.path, seen.status)
        else:
            method, template = target
            responses = DOCUMENT["paths"][template][method]["responses"]
            assert str(seen.status) in responses, (
                f"{method} {template} answered {seen.status}, undocumented: {seen.path!r}")
            conforms(seen.body, responses[str(seen.status)]["content"]["application/json"]["schema"], DOCUMENT,
                     f"{method} {template} {seen.status}")
        if seen.status >= 400:
            assert seen.body["error"] in ERROR_CODES and seen.body["message"], seen.body


@pytest.fixture
def world(store: SqlStore) -> Iterator[World]:
    made = make_world(store)
    with made.client:
        yield made
    check_against_document(made)
