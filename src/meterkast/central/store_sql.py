"""The central store in SQL: one implementation of ``Store`` for SQLite and PostgreSQL (issue 6; SYSTEM C1–C4).

Rules this module keeps (with those of ``store.py``):
- one database connection per store, used under a lock, so calls from several threads are serialised;
- every public method is one transaction, committed on return and rolled back on any error; a refused
  P4 request is the one case that commits (its audit entry) and then raises;
- arguments are validated before the database sees them, so errors name the value and the rule; the
  database's own constraints (``migrations``) are the second line;
- a store opened without a ``KeySealer`` refuses key operations rather than keeping keys in plaintext.
The work is done by ``store_sql_inventory`` (meters, couplings, alarms), ``store_sql_readings`` (consent,
readings, gaps) and ``store_sql_p4`` (third parties, audit); adapters and dialects are in ``store_sql_db``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime

from meterkast.central import rules
from meterkast.central import store_sql_inventory as inv
from meterkast.central import store_sql_p4 as p4
from meterkast.central import store_sql_readings as rd
from meterkast.central.keys_at_rest import KeySealer, SealedKey, key_context
from meterkast.central.migrations import apply_migrations, recorded_versions
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
    P4AccessRefused,
    PeriodType,
    Reading,
    ThirdParty,
    aware_utc,
    meter_id,
)
from meterkast.central.store_sql_db import Database, open_database, rollback_quietly
from meterkast.emeter.obis import check_channel
from meterkast.errors import InvalidInput, MeterkastError

COUNTER_SPACE = 2**32  # an invocation counter is an Unsigned32


def _connection(value: object) -> Connection:
    if not isinstance(value, Connection):
        raise InvalidInput(f"{value!r} is not a Connection; build one with Connection(ean)")
    return value


def _period(value: object) -> PeriodType:
    if not isinstance(value, PeriodType):
        raise InvalidInput(f"period type {value!r} is not one of {[p.name for p in PeriodType]}")
    return value


def _key_kind(value: object) -> KeyKind:
    if not isinstance(value, KeyKind):
        raise InvalidInput(f"key kind {value!r} is not one of {[k.name for k in KeyKind]}")
    return value


def _span(from_: datetime, to: datetime) -> tuple[datetime, datetime]:
    span = aware_utc(from_, "period start"), aware_utc(to, "period end")
    if span[1] < span[0]:
        raise InvalidInput(f"period ends ({span[1].isoformat()}) before it begins ({span[0].isoformat()})")
    return span


class SqlStore:
    """``Store`` over a :class:`~meterkast.central.store_sql_db.Database`; migrates it on open."""

    def __init__(self, db: Database, *, sealer: KeySealer | None = None, migrate: bool = True) -> None:
        self._db = db
        self._sealer = sealer
        self._lock = threading.RLock()
        if migrate:
            with self._lock:
                apply_migrations(db)

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Database]:
        with self._lock:
            self._db.begin(write=write)
            try:
                yield self._db
            except BaseException:
                rollback_quietly(self._db)
                raise
            self._db.commit()

    def schema_version(self) -> int:
        with self._tx(write=False) as db:
            return max(recorded_versions(db), default=0)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ---- inventory --------------------------------------------------------------------------------------

    def add_connection(self, connection: Connection) -> None:
        ean = _connection(connection).ean
        with self._tx() as db:
            db.run("INSERT INTO connections (ean) VALUES (:ean) ON CONFLICT (ean) DO NOTHING", {"ean": ean})

    def add_emeter(self, record: EMeterRecord) -> EMeterRecord:
        if not isinstance(record, EMeterRecord):
            raise InvalidInput(f"{record!r} is not an EMeterRecord")
        with self._tx() as db:
            rd.require_connection(db, record.connection)
            return inv.add_emeter(db, record)

    def get_emeter(self, equipment_id: str) -> EMeterRecord:
        with self._tx(write=False) as db:
            return inv.emeter(db, meter_id(equipment_id, "E-meter equipment identifier"))

    def couple_gas_meter(self, emeter: str, channel: int, gas_meter: str, at: datetime) -> GasMeterRecord:
        record = GasMeterRecord(gas_meter, emeter, channel, at)
        with self._tx() as db:
            return inv.couple(db, record)

    def decouple_gas_meter(self, emeter: str, channel: int, at: datetime) -> GasMeterRecord:
        emeter, moment = meter_id(emeter, "E-meter equipment identifier"), aware_utc(at, "decoupled_at")
        with self._tx() as db:
            return inv.decouple(db, emeter, check_channel(channel), moment)

    def replace_gas_meter(self, emeter: str, channel: int, gas_meter: str, at: datetime) -> GasMeterRecord:
        record = GasMeterRecord(gas_meter, emeter, channel, at)
        with self._tx() as db:
            inv.decouple(db, record.emeter, record.channel, record.coupled_at)
            return inv.couple(db, record)

    def gas_meter_history(self, emeter: str) -> list[GasMeterRecord]:
        with self._tx(write=False) as db:
            return inv.couplings(db, "emeter = :e", {"e": meter_id(emeter, "E-meter equipment identifier")})

    def gas_meter_at(self, emeter: str, channel: int, instant: datetime) -> GasMeterRecord | None:
        moment = aware_utc(instant, "instant")
        found = [c for c in self.gas_meter_history(emeter) if c.channel == check_channel(channel)]
        return next((c for c in found if c.coupled_at_instant(moment)), None)

    # ---- consent ------------------------------------------------------------------------------------------

    def set_consent(
        self, connection: Connection, level: ConsentLevel, valid_from: datetime, recorded_at: datetime
    ) -> Consent:
        consent = Consent(_connection(connection), level, valid_from, recorded_at)
        with self._tx() as db:
            return rd.set_consent(db, consent)

    def consent_at(self, connection: Connection, instant: datetime) -> ConsentLevel:
        moment = aware_utc(instant, "instant")
        with self._tx(write=False) as db:
            rd.require_connection(db, _connection(connection))
            return rules.level_at(rd.history_pairs(db, connection), moment)

    def consent_history(self, connection: Connection) -> list[Consent]:
        with self._tx(write=False) as db:
            rd.require_connection(db, _connection(connection))
            return rd.consent_history(db, connection)

    # ---- readings -------------------------------------------------------------------------------------------

    def store_readings(self, readings: Iterable[Reading]) -> int:
        batch = list(readings)
        with self._tx() as db:
            return rd.store_readings(db, batch)

    def readings(
        self, connection: Connection, period_type: PeriodType, from_: datetime, to: datetime, *, now: datetime
    ) -> list[Reading]:
        span, moment = _span(from_, to), aware_utc(now, "now")
        with self._tx(write=False) as db:
            rd.require_connection(db, _connection(connection))
            history = rd.history_pairs(db, connection)
            rd.check_consent(history, connection, _period(period_type), span, ("returning", moment))
            return rd.select_readings(db, connection, period_type, span)

    def export_readings(
        self, period_types: Iterable[PeriodType], from_: datetime, to: datetime, *, now: datetime
    ) -> tuple[list[Reading], list[tuple[Connection, PeriodType]]]:
        """Stored readings of every connection for ``meterkast cs export``, and what consent withheld."""
        span, moment = _span(from_, to), aware_utc(now, "now")
        kinds = [_period(p) for p in period_types]
        with self._tx(write=False) as db:
            return rd.select_export(db, kinds, span, moment)

    def missing_periods(
        self,
        connection: Connection,
        period_type: PeriodType,
        from_: datetime,
        to: datetime,
        *,
        now: datetime | None = None,
    ) -> list[Gap]:
        span = _span(from_, to)
        moment = aware_utc(now, "now") if now is not None else None
        with self._tx(write=False) as db:
            rd.require_connection(db, _connection(connection))
            if moment is not None and not rules.consent_allows(
                rules.level_at(rd.history_pairs(db, connection), moment), _period(period_type)
            ):
                return []
            return rd.missing_periods(db, connection, _period(period_type), span)

    # ---- alarms ---------------------------------------------------------------------------------------------

    def raise_alarm(self, emeter: str, kind: AlarmKind, channel: int, at: datetime) -> Alarm:
        emeter, moment = meter_id(emeter, "E-meter equipment identifier"), aware_utc(at, "raised_at")
        if not isinstance(kind, AlarmKind):
            raise InvalidInput(f"alarm kind {kind!r} is not one of {[k.name for k in AlarmKind]}")
        if channel != 0:  # 0 is the E-meter itself
            check_channel(channel)
        with self._tx() as db:
            return inv.raise_alarm(db, emeter, kind, channel, moment)

    def _advance_alarm(self, alarm_id: int, event: rules.AlarmInput, at: datetime) -> Alarm:
        moment = aware_utc(at, f"{event.value} time")
        with self._tx() as db:
            return inv.advance_alarm(db, alarm_id, event, moment)

    def acknowledge_alarm(self, alarm_id: int, at: datetime) -> Alarm:
        return self._advance_alarm(alarm_id, rules.AlarmInput.ACKNOWLEDGE, at)

    def close_alarm(self, alarm_id: int, at: datetime) -> Alarm:
        return self._advance_alarm(alarm_id, rules.AlarmInput.CLOSE, at)

    def open_alarms(self, emeter: str | None = None) -> list[Alarm]:
        with self._tx(write=False) as db:
            if emeter is None:
                return inv.alarms(db, "closed_at IS NULL", {})
            return inv.alarms(db, "closed_at IS NULL AND emeter = :e", {"e": meter_id(emeter, "E-meter")})

    # ---- P4 -------------------------------------------------------------------------------------------------

    def register_party(self, party_id: str, name: str, token: str, at: datetime) -> ThirdParty:
        moment = aware_utc(at, "registered_at")
        with self._tx() as db:
            return p4.register_party(db, party_id, name, token, moment)

    def party_for_token(self, token: str) -> ThirdParty | None:
        if not isinstance(token, str):
            raise InvalidInput(f"a party token is a text, not {type(token).__name__}")
        with self._tx(write=False) as db:
            return p4.party_for_token(db, token)

    def authorise(
        self, party_id: str, connection: Connection, scope: AuthScope, *, valid_from: datetime, valid_to: datetime,
        at: datetime,
    ) -> Authorisation:
        span = aware_utc(valid_from, "valid_from"), aware_utc(valid_to, "valid_to")
        moment = aware_utc(at, "granted_at")
        with self._tx() as db:
            return p4.authorise(db, party_id, _connection(connection), scope, span, at=moment)

    def revoke(self, authorisation_id: int, at: datetime) -> Authorisation:
        moment = aware_utc(at, "revoked_at")
        with self._tx() as db:
            return p4.revoke(db, authorisation_id, moment)

    def authorisations(self, connection: Connection) -> list[Authorisation]:
        with self._tx(write=False) as db:
            return p4.authorisations(db, _connection(connection))

    def readings_for_party(
        self, token: str, connection: Connection, scope: AuthScope, from_: datetime, to: datetime, *, now: datetime,
        meter_number: str | None = None,
    ) -> list[Reading]:
        span, moment = _span(from_, to), aware_utc(now, "now")
        if not isinstance(token, str) or not isinstance(scope, AuthScope):
            raise InvalidInput(f"P4 request needs a text token and an AuthScope, not {type(token).__name__}/{scope!r}")
        if meter_number is not None and not isinstance(meter_number, str):
            raise InvalidInput(f"meter number {meter_number!r} is not a text")
        with self._tx() as db:
            readings, refusal = p4.access(
                db, token, _connection(connection), scope, span, now=moment, meter_number=meter_number
            )
        if refusal is not None:
            raise P4AccessRefused(refusal[0], f"P4 access refused: {refusal[1]}")
        return readings

    def audit_log(self, connection: Connection) -> list[AuditEntry]:
        with self._tx(write=False) as db:
            return p4.audit_log(db, _connection(connection))

    # ---- keys at rest -----------------------------------------------------------------------------------

    def _require_sealer(self) -> KeySealer:
        if self._sealer is None:
            raise MeterkastError("this store was opened without a master key; pass sealer=KeySealer(...)")
        return self._sealer

    def put_key(self, equipment_id: str, kind: KeyKind, key: bytes, at: datetime) -> int:
        sealer, moment = self._require_sealer(), aware_utc(at, "stored_at")
        equipment_id, kind = meter_id(equipment_id, "equipment identifier"), _key_kind(kind)
        with self._tx() as db:
            params: dict[str, object] = {"id": equipment_id, "kind": kind.value}
            (latest,) = db.run(
                "SELECT MAX(version) FROM meter_keys WHERE equipment_id = :id AND kind = :kind", params
            )[0]
            version = int(latest or 0) + 1
            sealed = sealer.seal(key, key_context(equipment_id, kind, version))
            db.run(
                "INSERT INTO meter_keys (equipment_id, kind, version, nonce, sealed, stored_at) "
                "VALUES (:id, :kind, :v, :nonce, :sealed, :at)",
                {**params, "v": version, "nonce": sealed.nonce, "sealed": sealed.ciphertext,
                 "at": db.dialect.time_to_db(moment)},
            )
            return version

    def get_key(self, equipment_id: str, kind: KeyKind, version: int | None = None) -> bytes:
        sealer = self._require_sealer()
        equipment_id, kind = meter_id(equipment_id, "equipment identifier"), _key_kind(kind)
        with self._tx(write=False) as db:
            rows = db.run(
                "SELECT version, nonce, sealed FROM meter_keys WHERE equipment_id = :id AND kind = :kind "
                "ORDER BY version DESC",
                {"id": equipment_id, "kind": kind.value},
            )
        chosen = [row for row in rows if version is None or int(row[0]) == version][:1]
        if not chosen:
            which = "any version" if version is None else f"version {version}"
            raise InvalidInput(f"no {kind.value} key of {which} is stored for {equipment_id}")
        found, nonce, sealed = chosen[0]
        return sealer.unseal(SealedKey(bytes(nonce), bytes(sealed)), key_context(equipment_id, kind, int(found)))

    # ---- the CS's own P3 invocation counters ----------------------------------------------------------------

    def reserve_invocation_counters(self, emeter: str, at_least: int, count: int) -> tuple[int, int]:
        emeter = meter_id(emeter, "E-meter equipment identifier")
        for name, value in (("at_least", at_least), ("count", count)):
            if not isinstance(value, int) or isinstance(value, bool) or value < (1 if name == "count" else 0):
                raise InvalidInput(f"invocation counter reservation: {name} {value!r} is not a valid number")
        with self._tx() as db:  # one transaction: two processes never get the same block
            db.run("INSERT INTO p3_counters (emeter, next_free) VALUES (:e, 0) ON CONFLICT (emeter) DO NOTHING",
                   {"e": emeter})
            # Lock the row first (PostgreSQL READ COMMITTED: a second reserver waits here, then reads the
            # value the first one committed); SQLite's write transaction is exclusive anyway.
            db.run("UPDATE p3_counters SET next_free = next_free WHERE emeter = :e", {"e": emeter})
            rows = db.run("SELECT next_free FROM p3_counters WHERE emeter = :e", {"e": emeter})
            first = max(at_least, int(rows[0][0]))
            end = min(first + count, COUNTER_SPACE)
            if first >= COUNTER_SPACE:
                raise InvalidInput(f"the central system's P3 invocation counter for {emeter} is exhausted "
                                   f"(2^32 values under one key); change the meter's keys (P3 §3.2.3.1)")
            db.run("UPDATE p3_counters SET next_free = :n WHERE emeter = :e", {"e": emeter, "n": end})
            return first, end


def open_store(url: str, *, sealer: KeySealer | None = None, migrate: bool = True) -> SqlStore:
    """Open (and migrate) the store at ``url``: ``sqlite:///path.db`` or ``postgresql://…`` (store_sql_db)."""
    return SqlStore(open_database(url), sealer=sealer, migrate=migrate)
