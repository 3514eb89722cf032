"""Migrations apply from empty, in order, once; schema_version records them; mismatches are errors."""

from __future__ import annotations

from dataclasses import replace

import pytest

from meterkast.central.migrations import LATEST, MIGRATIONS, apply_migrations, recorded_versions
from meterkast.central.store_sql import SqlStore
from meterkast.central.store_sql_db import Database
from meterkast.errors import MeterkastError


def test_versions_are_numbered_without_holes() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert len({m.checksum for m in MIGRATIONS}) == len(MIGRATIONS)


def test_apply_from_empty_records_every_version(database: Database) -> None:
    assert apply_migrations(database) == list(range(1, LATEST + 1))
    database.begin(write=False)
    recorded = recorded_versions(database)
    database.commit()
    assert sorted(recorded) == list(range(1, LATEST + 1))
    assert {v: c for v, (_, c) in recorded.items()} == {m.version: m.checksum for m in MIGRATIONS}


def test_rerun_is_a_no_op(database: Database) -> None:
    apply_migrations(database)
    assert apply_migrations(database) == []
    assert apply_migrations(database) == []
    assert SqlStore(database).schema_version() == LATEST


def test_applies_only_the_missing_ones_in_order(database: Database) -> None:
    assert apply_migrations(database, MIGRATIONS[:2]) == [1, 2]
    assert apply_migrations(database) == list(range(3, LATEST + 1))


def test_a_changed_migration_is_refused(database: Database) -> None:
    apply_migrations(database)
    edited = (*MIGRATIONS[:-1], replace(MIGRATIONS[-1], statements=(*MIGRATIONS[-1].statements, "SELECT 1")))
    with pytest.raises(MeterkastError, match=rf"migration {LATEST} .* must never change"):
        apply_migrations(database, edited)


def test_a_newer_database_is_refused(database: Database) -> None:
    apply_migrations(database)
    with pytest.raises(MeterkastError, match=rf"version {LATEST}, newer than this meterkast knows \({LATEST - 1}\)"):
        apply_migrations(database, MIGRATIONS[:-1])


def test_a_failing_migration_leaves_nothing_behind(database: Database) -> None:
    broken = (*MIGRATIONS, replace(MIGRATIONS[0], version=LATEST + 1, statements=("CREATE TABLE broken (",)))
    with pytest.raises(MeterkastError):
        apply_migrations(database, broken)
    # The whole upgrade was one transaction: not even the first migrations were recorded.
    assert apply_migrations(database) == list(range(1, LATEST + 1))
