"""Consent history and gas readings in SQL (SYSTEM C1, C2, E2); called by SqlStore inside its transactions.

Rules this module keeps:
- consent is appended, never rewritten, and never backdated (valid_from >= recorded_at): a consent
  given today cannot make yesterday's collection lawful after the fact;
- a reading is stored or returned only if ``rules.REQUIRED_CONSENT`` holds at its capture instant and at
  the instant of access (SYSTEM C2, E3); otherwise ConsentRefused names the instant and both levels;
- a reading names the gas meter that was coupled on its channel of an E-meter of its connection at its
  capture instant (SYSTEM M3), and its capture time lies on its period grid (``rules.on_grid``);
- the natural key (connection, gas meter, period type, capture time) makes ingestion idempotent:
  ``INSERT … ON CONFLICT DO NOTHING``, then the stored row is compared; a different value is an error
  naming both, never an overwrite; a batch is inserted in key order, so concurrent writers take row
  locks in one order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from meterkast.central import rules
from meterkast.central.model import Connection, Consent, ConsentLevel, Gap, PeriodType, Reading
from meterkast.central.store_sql_db import Database, Row
from meterkast.emeter.amr import AmrStatus
from meterkast.errors import ConsentRefused, InvalidInput


def require_connection(db: Database, connection: Connection) -> None:
    if not db.run("SELECT 1 FROM connections WHERE ean = :ean", {"ean": connection.ean}):
        raise InvalidInput(f"connection {connection.ean} is unknown to the central system; add_connection first")


# ---- consent ------------------------------------------------------------------------------------------


def consent_history(db: Database, connection: Connection) -> list[Consent]:
    rows = db.run(
        "SELECT level, valid_from, recorded_at FROM consents WHERE connection = :ean ORDER BY valid_from",
        {"ean": connection.ean},
    )
    t = db.dialect.time_from_db
    return [Consent(connection, ConsentLevel(level), t(start), t(recorded)) for level, start, recorded in rows]


def history_pairs(db: Database, connection: Connection) -> rules.ConsentHistory:
    return [(c.valid_from, c.level) for c in consent_history(db, connection)]


def set_consent(db: Database, consent: Consent) -> Consent:
    if consent.valid_from < consent.recorded_at:
        raise InvalidInput(
            f"consent for {consent.connection} valid from {consent.valid_from.isoformat()} was recorded at "
            f"{consent.recorded_at.isoformat()}: consent cannot be backdated (SYSTEM C2)"
        )
    require_connection(db, consent.connection)
    history = consent_history(db, consent.connection)
    for entry in history:
        if entry.valid_from == consent.valid_from:
            if entry.level is consent.level:
                return entry  # the same record again: a no-op
            raise InvalidInput(
                f"consent for {consent.connection} from {consent.valid_from.isoformat()} is already "
                f"{entry.level.value}; it cannot become {consent.level.value}: append a new entry instead"
            )
    if history and consent.valid_from < history[-1].valid_from:
        raise InvalidInput(
            f"consent for {consent.connection} from {consent.valid_from.isoformat()} lies before the latest "
            f"entry ({history[-1].valid_from.isoformat()}); the consent history is append-only"
        )
    to_db = db.dialect.time_to_db
    db.run(
        "INSERT INTO consents (connection, valid_from, level, recorded_at) VALUES (:ean, :vf, :level, :rec)",
        {"ean": consent.connection.ean, "vf": to_db(consent.valid_from), "level": consent.level.value,
         "rec": to_db(consent.recorded_at)},
    )
    return consent


def check_consent(
    history: rules.ConsentHistory,
    connection: Connection,
    period_type: PeriodType,
    span: tuple[datetime, datetime],
    access: tuple[str, datetime],
) -> None:
    """Raise ConsentRefused unless consent allows ``period_type`` over ``span`` and at the access instant."""
    required = rules.REQUIRED_CONSENT[period_type].value
    refusal = rules.consent_refusal(history, period_type, *span)
    if refusal is not None:
        instant, level = refusal
        raise ConsentRefused(
            f"{period_type.value} readings of connection {connection} at {instant.isoformat()} need "
            f"{required} consent; consent in force then is {level.value} (SYSTEM C2)"
        )
    what, moment = access
    level = rules.level_at(history, moment)
    if not rules.consent_allows(level, period_type):
        raise ConsentRefused(
            f"{what} {period_type.value} readings of connection {connection} at {moment.isoformat()} needs "
            f"{required} consent; consent in force now is {level.value} (SYSTEM C2: withdrawal takes effect at once)"
        )


# ---- readings -----------------------------------------------------------------------------------------

_COLUMNS = "connection, gas_meter, channel, period_type, capture_time, value_m3, amr_status, log_time"
_COUPLED = """
    SELECT 1 FROM gas_couplings g JOIN emeters e ON e.equipment_id = g.emeter
    WHERE e.connection = :ean AND g.gas_meter = :gm AND g.channel = :ch AND g.coupled_at <= :t
      AND (g.decoupled_at IS NULL OR g.decoupled_at > :t)
"""


def _reading(db: Database, row: Row) -> Reading:
    ean, gas_meter, channel, period, capture, value, status, logged = row
    t = db.dialect.time_from_db
    return Reading(
        Connection(ean), gas_meter, int(channel), PeriodType(period), t(capture),
        db.dialect.decimal_from_db(value), AmrStatus(int(status)), t(logged),
    )


def _describe(reading: Reading) -> str:
    return f"{reading.value_m3} m³ (status {int(reading.amr_status):#04x}, channel {reading.channel})"


def store_readings(db: Database, batch: Sequence[Reading]) -> int:
    histories: dict[str, rules.ConsentHistory] = {}
    for item in batch:
        if not isinstance(item, Reading):
            raise InvalidInput(f"{item!r} is not a Reading")
    to_db, new = db.dialect.time_to_db, 0
    # Key order: concurrent writers then take row locks in one order and cannot deadlock (PostgreSQL).
    for reading in sorted(batch, key=lambda r: (r.connection.ean, r.gas_meter, r.period_type.value, r.capture_time)):
        connection, capture = reading.connection, reading.capture_time
        if not rules.on_grid(reading.period_type, capture):
            raise InvalidInput(
                f"capture_time {capture.isoformat()} is not on the {reading.period_type.value} grid "
                "(xx:00, 00:00 or the first of the month at 00:00, Europe/Amsterdam)"
            )
        if connection.ean not in histories:
            require_connection(db, connection)
            histories[connection.ean] = history_pairs(db, connection)
        coupled = {"ean": connection.ean, "gm": reading.gas_meter, "ch": reading.channel, "t": to_db(capture)}
        if not db.run(_COUPLED, coupled):
            raise InvalidInput(
                f"gas meter {reading.gas_meter} was not coupled on channel {reading.channel} of an E-meter of "
                f"connection {connection} at {capture.isoformat()} (SYSTEM M3); record the coupling first"
            )
        check_consent(histories[connection.ean], connection, reading.period_type, (capture, capture),
                      ("storing", reading.log_time))
        key = {"ean": connection.ean, "gm": reading.gas_meter, "p": reading.period_type.value, "t": to_db(capture)}
        inserted = db.run(
            f"INSERT INTO readings ({_COLUMNS}) VALUES (:ean, :gm, :ch, :p, :t, :v, :s, :log) "
            "ON CONFLICT (connection, gas_meter, period_type, capture_time) DO NOTHING RETURNING 1",
            {**key, "ch": reading.channel, "v": db.dialect.decimal_to_db(reading.value_m3),
             "s": int(reading.amr_status), "log": to_db(reading.log_time)},
        )
        if inserted:
            new += 1
            continue
        stored = _reading(db, db.run(
            f"SELECT {_COLUMNS} FROM readings WHERE connection = :ean AND gas_meter = :gm "
            "AND period_type = :p AND capture_time = :t", key,
        )[0])
        if not stored.same_data(reading):
            raise InvalidInput(
                f"{reading.period_type.value} reading of gas meter {reading.gas_meter} at {capture.isoformat()} "
                f"is stored as {_describe(stored)}; refusing the conflicting {_describe(reading)}: a profile "
                "entry never changes, so one of the two reads is wrong"
            )
    return new


def select_export(
    db: Database, period_types: Sequence[PeriodType], span: tuple[datetime, datetime], now: datetime
) -> tuple[list[Reading], list[tuple[Connection, PeriodType]]]:
    """Every stored reading in ``span`` of ``period_types``, all connections, for an export; a connection's
    readings of a profile its consent in force at ``now`` does not allow are withheld (SYSTEM C2:
    withdrawal takes effect at once) and listed as (connection, period type)."""
    to_db = db.dialect.time_to_db
    names = {p.value: p for p in period_types}
    rows = db.run(
        f"SELECT {_COLUMNS} FROM readings WHERE capture_time >= :lo AND capture_time <= :hi "
        "ORDER BY connection, period_type, capture_time, gas_meter",
        {"lo": to_db(span[0]), "hi": to_db(span[1])},
    )
    kept: list[Reading] = []
    withheld: dict[tuple[str, str], tuple[Connection, PeriodType]] = {}
    levels: dict[str, ConsentLevel] = {}
    for row in rows:
        if row[3] not in names:
            continue
        reading = _reading(db, row)
        ean = reading.connection.ean
        if ean not in levels:
            levels[ean] = rules.level_at(history_pairs(db, reading.connection), now)
        if rules.consent_allows(levels[ean], reading.period_type):
            kept.append(reading)
        else:
            withheld[(ean, reading.period_type.value)] = (reading.connection, reading.period_type)
    return kept, list(withheld.values())


def select_readings(
    db: Database, connection: Connection, period_type: PeriodType, span: tuple[datetime, datetime]
) -> list[Reading]:
    to_db = db.dialect.time_to_db
    rows = db.run(
        f"SELECT {_COLUMNS} FROM readings WHERE connection = :ean AND period_type = :p "
        "AND capture_time >= :lo AND capture_time <= :hi ORDER BY capture_time, gas_meter",
        {"ean": connection.ean, "p": period_type.value, "lo": to_db(span[0]), "hi": to_db(span[1])},
    )
    return [_reading(db, row) for row in rows]


def missing_periods(
    db: Database, connection: Connection, period_type: PeriodType, span: tuple[datetime, datetime]
) -> list[Gap]:
    history = history_pairs(db, connection)
    to_db, t = db.dialect.time_to_db, db.dialect.time_from_db
    lo, hi = to_db(span[0]), to_db(span[1])
    couplings = db.run(
        "SELECT g.gas_meter, g.channel, g.coupled_at, g.decoupled_at FROM gas_couplings g "
        "JOIN emeters e ON e.equipment_id = g.emeter WHERE e.connection = :ean AND g.coupled_at <= :hi "
        "AND (g.decoupled_at IS NULL OR g.decoupled_at > :lo) ORDER BY g.coupled_at, g.channel",
        {"ean": connection.ean, "lo": lo, "hi": hi},
    )
    stored = {
        (gas_meter, t(capture))
        for gas_meter, capture in db.run(
            "SELECT gas_meter, capture_time FROM readings WHERE connection = :ean AND period_type = :p "
            "AND capture_time >= :lo AND capture_time <= :hi",
            {"ean": connection.ean, "p": period_type.value, "lo": lo, "hi": hi},
        )
    }
    gaps: list[Gap] = []
    for gas_meter, channel, coupled_at, decoupled_at in couplings:
        start = max(span[0], t(coupled_at))
        end = t(decoupled_at) if decoupled_at is not None else None
        run: list[datetime] = []
        for instant in rules.grid(period_type, start, span[1]):
            if end is not None and instant >= end:
                break
            missing = (
                rules.consent_allows(rules.level_at(history, instant), period_type)
                and (gas_meter, instant) not in stored
            )
            if missing:
                run.append(instant)
            elif run:
                gaps.append(Gap(gas_meter, int(channel), period_type, run[0], run[-1], len(run)))
                run = []
        if run:
            gaps.append(Gap(gas_meter, int(channel), period_type, run[0], run[-1], len(run)))
    return gaps
