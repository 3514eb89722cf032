"""Schema migrations for the central store: a numbered table, applied in order, recorded, idempotent.

Rules this module keeps:
- each migration is a module ``vNNNN_name.py`` with ``NAME`` and ``STATEMENTS`` (portable SQL with the
  dialect placeholders ``{time}``, ``{decimal}``, ``{blob}``, ``{serial}``, see ``store_sql_db``);
  versions are 1, 2, 3, … without holes; a published migration is never edited, a new one is added;
- ``apply_migrations`` runs every missing migration in order, in one transaction, under the dialect's
  migration lock, and records each in ``schema_version`` (version, name, checksum); running it again
  changes nothing;
- a recorded migration whose checksum differs from the code, or a database newer than the code, is an
  error: the database and this meterkast do not belong together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from types import ModuleType

from meterkast.central.migrations import (
    v0001_inventory,
    v0002_readings,
    v0003_alarms,
    v0004_p4_keys,
    v0005_p3_counters,
)
from meterkast.central.store_sql_db import Database, rollback_quietly
from meterkast.errors import MeterkastError

VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at {time} DEFAULT CURRENT_TIMESTAMP
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]

    @property
    def checksum(self) -> str:
        """SHA-256 of the dialect-neutral text, so both backends record the same value."""
        return hashlib.sha256("\n;\n".join(self.statements).encode("utf-8")).hexdigest()


def _migration(version: int, module: ModuleType) -> Migration:
    return Migration(version, str(module.NAME), tuple(str(s) for s in module.STATEMENTS))


MIGRATIONS: tuple[Migration, ...] = tuple(
    _migration(number, module)
    for number, module in enumerate(
        (v0001_inventory, v0002_readings, v0003_alarms, v0004_p4_keys, v0005_p3_counters), start=1)
)
LATEST = MIGRATIONS[-1].version


def recorded_versions(db: Database) -> dict[int, tuple[str, str]]:
    """version → (name, checksum) as recorded; the table must exist."""
    rows = db.run("SELECT version, name, checksum FROM schema_version ORDER BY version")
    return {int(version): (name, checksum) for version, name, checksum in rows}


def apply_migrations(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Bring the schema up to date; returns the versions applied now (empty when already current)."""
    latest = migrations[-1].version if migrations else 0
    db.begin(write=True)
    try:
        if db.dialect.migration_lock is not None:
            db.run(db.dialect.migration_lock)
        db.run(db.dialect.ddl(VERSION_TABLE))
        recorded = recorded_versions(db)
        newer = [version for version in recorded if version > latest]
        if newer:
            raise MeterkastError(
                f"the store's schema is at version {max(newer)}, newer than this meterkast knows ({latest}); "
                "upgrade meterkast before opening this store"
            )
        applied: list[int] = []
        for migration in migrations:
            if migration.version in recorded:
                name, checksum = recorded[migration.version]
                if checksum != migration.checksum:
                    raise MeterkastError(
                        f"migration {migration.version} ({name}) was applied with checksum {checksum[:12]}…, "
                        f"but the code now has {migration.checksum[:12]}…: published migrations must never "
                        "change; add a new one instead"
                    )
                continue
            for statement in migration.statements:
                db.run(db.dialect.ddl(statement))
            db.run(
                "INSERT INTO schema_version (version, name, checksum) VALUES (:v, :name, :sum)",
                {"v": migration.version, "name": migration.name, "sum": migration.checksum},
            )
            applied.append(migration.version)
        db.commit()
    except BaseException:
        rollback_quietly(db)
        raise
    return applied
