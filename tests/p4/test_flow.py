"""The P4 main flow end to end over HTTP (issue 6, SYSTEM C3): on SQLite, and once on PostgreSQL."""

from __future__ import annotations

from meterkast.central.store_sql import SqlStore
from tests.p4.conftest import check_against_document
from tests.p4.helpers import World, main_flow, make_world


def test_main_flow(world: World) -> None:
    main_flow(world)


def test_main_flow_on_postgresql(pg_store: SqlStore) -> None:
    world = make_world(pg_store)
    with world.client:
        main_flow(world)
    check_against_document(world)
