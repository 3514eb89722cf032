"""The central system's storage behind one small protocol (issue 6; STYLE 10; SYSTEM C1–C3).

One implementation, :class:`meterkast.central.store_sql.SqlStore`, runs on SQLite (default) and
PostgreSQL (production); the contract tests in ``tests/central`` run every test against both.

Rules every implementation keeps:
- synchronous; every method is one transaction: a write is applied whole or not at all;
- time is an argument (``at``, ``now``): the store never reads a clock, nor draws random numbers;
- bad input raises a :class:`~meterkast.errors.MeterkastError` naming the value (naive datetimes:
  ClockError; anything else: InvalidInput); driver exceptions never leave the store: a database that
  cannot be reached raises LinkError;
- consumption readings are stored and returned only under sufficient consent, both at the capture
  instant and at the instant of access (``log_time`` when storing, ``now`` when reading): withdrawing
  consent takes effect at once, raising it does not reach back (SYSTEM C2; ``rules.REQUIRED_CONSENT``).
  Refusals raise ConsentRefused;
- ingestion is idempotent on (connection, gas meter, period type, capture time); a different value for
  a stored key raises InvalidInput naming both values and never overwrites;
- histories (couplings, consent, authorisations, alarms, audit) are append-only: nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from meterkast.central.model import (
    Alarm,
    AlarmKind,
    AuditEntry,
    Authorisation,
    AuthScope,
    Connection,
    Consent,
    ConsentLevel,
    EMeterRecord,
    Gap,
    GasMeterRecord,
    KeyKind,
    PeriodType,
    Reading,
    ThirdParty,
)


class Store(Protocol):
    # ---- schema ---------------------------------------------------------------------------------------
    def schema_version(self) -> int:
        """The highest migration applied."""
        ...

    def close(self) -> None: ...

    # ---- inventory (SYSTEM M3) ------------------------------------------------------------------------
    def add_connection(self, connection: Connection) -> None:
        """Register a connection; registering it again is a no-op."""
        ...

    def add_emeter(self, record: EMeterRecord) -> EMeterRecord:
        """Register an E-meter on a known connection; the same record again is a no-op."""
        ...

    def get_emeter(self, equipment_id: str) -> EMeterRecord: ...

    def couple_gas_meter(self, emeter: str, channel: int, gas_meter: str, at: datetime) -> GasMeterRecord:
        """Couple ``gas_meter`` on a free ``channel`` (1–4) from ``at`` on."""
        ...

    def decouple_gas_meter(self, emeter: str, channel: int, at: datetime) -> GasMeterRecord:
        """End the coupling on ``channel`` at ``at``; its readings stay under the gas meter's id."""
        ...

    def replace_gas_meter(self, emeter: str, channel: int, gas_meter: str, at: datetime) -> GasMeterRecord:
        """Decouple whatever hangs on ``channel`` and couple ``gas_meter`` there, at the same instant."""
        ...

    def gas_meter_history(self, emeter: str) -> list[GasMeterRecord]:
        """Every coupling of ``emeter``, oldest first."""
        ...

    def gas_meter_at(self, emeter: str, channel: int, instant: datetime) -> GasMeterRecord | None: ...

    # ---- consent (SYSTEM C2) --------------------------------------------------------------------------
    def set_consent(
        self, connection: Connection, level: ConsentLevel, valid_from: datetime, recorded_at: datetime
    ) -> Consent:
        """Append to the consent history; it cannot be backdated (valid_from >= recorded_at)."""
        ...

    def consent_at(self, connection: Connection, instant: datetime) -> ConsentLevel:
        """The level in force at ``instant``; NONE before the first record."""
        ...

    def consent_history(self, connection: Connection) -> list[Consent]: ...

    # ---- readings (SYSTEM C1, E2) ---------------------------------------------------------------------
    def store_readings(self, readings: Iterable[Reading]) -> int:
        """Store a batch atomically; returns how many were new (repeats are no-ops)."""
        ...

    def readings(
        self, connection: Connection, period_type: PeriodType, from_: datetime, to: datetime, *, now: datetime
    ) -> list[Reading]:
        """Stored readings with ``from_ <= capture_time <= to``, ordered by capture time and gas meter."""
        ...

    def missing_periods(
        self,
        connection: Connection,
        period_type: PeriodType,
        from_: datetime,
        to: datetime,
        *,
        now: datetime | None = None,
    ) -> list[Gap]:
        """Grid instants in [from_, to] where a gas meter was coupled, consent allowed collection, and
        no reading is stored: what to read after an outage. With ``now``: nothing if consent at ``now``
        forbids collection."""
        ...

    # ---- alarms (SYSTEM C1; technical events need no consent, C2) -------------------------------------
    def raise_alarm(self, emeter: str, kind: AlarmKind, channel: int, at: datetime) -> Alarm:
        """Open an alarm, or return the open one with the same (emeter, channel, kind)."""
        ...

    def acknowledge_alarm(self, alarm_id: int, at: datetime) -> Alarm: ...

    def close_alarm(self, alarm_id: int, at: datetime) -> Alarm: ...

    def open_alarms(self, emeter: str | None = None) -> list[Alarm]: ...

    # ---- P4 (SYSTEM C3) -------------------------------------------------------------------------------
    def register_party(self, party_id: str, name: str, token: str, at: datetime) -> ThirdParty:
        """Register a third party; only SHA-256 of ``token`` (random, from the caller) is kept."""
        ...

    def party_for_token(self, token: str) -> ThirdParty | None:
        """The registered party holding ``token`` (looked up by its SHA-256), or None; no audit entry."""
        ...

    def authorise(
        self,
        party_id: str,
        connection: Connection,
        scope: AuthScope,
        *,
        valid_from: datetime,
        valid_to: datetime,
        at: datetime,
    ) -> Authorisation:
        """Let ``party_id`` fetch ``scope`` data (and coarser) of ``connection`` during [valid_from, valid_to)."""
        ...

    def revoke(self, authorisation_id: int, at: datetime) -> Authorisation:
        """Revoke from ``at`` on; revoking again keeps the first instant."""
        ...

    def authorisations(self, connection: Connection) -> list[Authorisation]: ...

    def readings_for_party(
        self,
        token: str,
        connection: Connection,
        scope: AuthScope,
        from_: datetime,
        to: datetime,
        *,
        now: datetime,
        meter_number: str | None = None,
    ) -> list[Reading]:
        """Check token, authorisation, scope, period, meter number (unless None), history depth and
        consent; audit the attempt either way; raise P4AccessRefused (a ConsentRefused) with its
        ``P4Refusal`` code and a message naming the reason when refused."""
        ...

    def audit_log(self, connection: Connection) -> list[AuditEntry]:
        """Every P4 access attempt for ``connection``, oldest first."""
        ...

    # ---- keys at rest (SYSTEM C4) ---------------------------------------------------------------------
    def put_key(self, equipment_id: str, kind: KeyKind, key: bytes, at: datetime) -> int:
        """Seal and store a new version of a meter key; returns its version (1, 2, …)."""
        ...

    def get_key(self, equipment_id: str, kind: KeyKind, version: int | None = None) -> bytes:
        """The newest (or given) version of a meter key, unsealed."""
        ...

    # ---- the CS's own P3 invocation counters (DSMR P3 §3.2.3.1) ----------------------------------------
    def reserve_invocation_counters(self, emeter: str, at_least: int, count: int) -> tuple[int, int]:
        """Reserve counter values for the CS's APDUs to ``emeter``: the block [first, end), ``first`` >=
        ``at_least`` and at or above the end of every block reserved before (also by an earlier process),
        ``end`` = first + count but never past 2^32; ``end`` is recorded before this returns. An exhausted
        counter raises InvalidInput (the meter's keys must be changed first, P3 §3.2.3.1)."""
        ...
