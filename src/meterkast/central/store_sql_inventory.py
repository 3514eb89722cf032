"""Equipment in SQL: E-meters, gas meter couplings with history, and the alarms they raise (SYSTEM M3, C1).

Called by SqlStore inside its transactions. Rules this module keeps:
- an E-meter registered twice with the same record is a no-op; with a different one, an error;
- couplings of a channel, and of a gas meter, never overlap in time; a coupling cannot begin before its
  E-meter was installed; decoupling closes the history entry, nothing is deleted, so a replaced gas
  meter keeps its readings under its own identifier;
- an alarm is open until closed; raising the same (E-meter, channel, kind) while one is open returns
  that one (a partial unique index makes this hold under concurrency too); acknowledge and close follow
  ``rules.ALARM_TRANSITIONS``. Alarms are technical events and need no consent (SYSTEM C2).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from meterkast.central import rules
from meterkast.central.model import Alarm, AlarmKind, Connection, EMeterRecord, GasMeterRecord
from meterkast.central.store_sql_db import Database, Row
from meterkast.errors import InvalidInput

_COUPLING = "gas_meter, emeter, channel, coupled_at, decoupled_at"
_ALARM = "alarm_id, emeter, channel, kind, raised_at, acknowledged_at, closed_at"
_ALARM_COLUMN = {rules.AlarmState.ACKNOWLEDGED: "acknowledged_at", rules.AlarmState.CLOSED: "closed_at"}


def emeter(db: Database, equipment_id: str) -> EMeterRecord:
    rows = db.run(
        "SELECT equipment_id, connection, installed_at FROM emeters WHERE equipment_id = :id", {"id": equipment_id}
    )
    if not rows:
        raise InvalidInput(f"E-meter {equipment_id} is unknown to the central system; add_emeter first")
    found, ean, installed = rows[0]
    return EMeterRecord(found, Connection(ean), db.dialect.time_from_db(installed))


def add_emeter(db: Database, record: EMeterRecord) -> EMeterRecord:
    if db.run(
        "INSERT INTO emeters (equipment_id, connection, installed_at) VALUES (:id, :ean, :at) "
        "ON CONFLICT (equipment_id) DO NOTHING RETURNING 1",
        {"id": record.equipment_id, "ean": record.connection.ean, "at": db.dialect.time_to_db(record.installed_at)},
    ):
        return record
    stored = emeter(db, record.equipment_id)
    if stored != record:
        raise InvalidInput(
            f"E-meter {record.equipment_id} is already registered on connection {stored.connection} since "
            f"{stored.installed_at.isoformat()}; it cannot also be on {record.connection} since "
            f"{record.installed_at.isoformat()}"
        )
    return stored


def couplings(db: Database, where: str, params: dict[str, object]) -> list[GasMeterRecord]:
    rows = db.run(f"SELECT {_COUPLING} FROM gas_couplings WHERE {where} ORDER BY coupled_at, coupling_id", params)
    t = db.dialect.time_from_db
    return [GasMeterRecord(g, e, int(ch), t(on), t(off) if off is not None else None) for g, e, ch, on, off in rows]


def couple(db: Database, record: GasMeterRecord) -> GasMeterRecord:
    installed = emeter(db, record.emeter).installed_at
    if record.coupled_at < installed:
        raise InvalidInput(
            f"coupling at {record.coupled_at.isoformat()} lies before E-meter {record.emeter} was installed "
            f"({installed.isoformat()})"
        )
    at = db.dialect.time_to_db(record.coupled_at)
    overlapping = "AND (decoupled_at IS NULL OR decoupled_at > :at)"
    for where, params, what in (
        ("emeter = :e AND channel = :ch", {"e": record.emeter, "ch": record.channel},
         f"channel {record.channel} of E-meter {record.emeter}"),
        ("gas_meter = :gm", {"gm": record.gas_meter}, f"gas meter {record.gas_meter}"),
    ):
        clash = couplings(db, f"{where} {overlapping}", {**params, "at": at})
        if clash:
            old = clash[0]
            until = "on" if old.decoupled_at is None else f"until {old.decoupled_at.isoformat()}"
            raise InvalidInput(
                f"{what} is taken at {record.coupled_at.isoformat()}: gas meter {old.gas_meter} hangs on channel "
                f"{old.channel} of E-meter {old.emeter} from {old.coupled_at.isoformat()} {until}; couplings "
                "cannot overlap (SYSTEM M3): decouple first, or use replace_gas_meter"
            )
    db.run(
        "INSERT INTO gas_couplings (emeter, channel, gas_meter, coupled_at) VALUES (:e, :ch, :gm, :at)",
        {"e": record.emeter, "ch": record.channel, "gm": record.gas_meter, "at": at},
    )
    return record


def decouple(db: Database, emeter_id: str, channel: int, at: datetime) -> GasMeterRecord:
    params: dict[str, object] = {"e": emeter_id, "ch": channel}
    current = couplings(db, "emeter = :e AND channel = :ch AND decoupled_at IS NULL", params)
    if not current:
        emeter(db, emeter_id)  # an unknown E-meter says so
        raise InvalidInput(f"channel {channel} of E-meter {emeter_id} carries no gas meter to decouple")
    if at <= current[0].coupled_at:
        raise InvalidInput(
            f"decoupling at {at.isoformat()} is not after the coupling at {current[0].coupled_at.isoformat()}"
        )
    db.run(
        "UPDATE gas_couplings SET decoupled_at = :at WHERE emeter = :e AND channel = :ch AND decoupled_at IS NULL",
        {**params, "at": db.dialect.time_to_db(at)},
    )
    return replace(current[0], decoupled_at=at)


# ---- alarms ---------------------------------------------------------------------------------------------


def _alarm(db: Database, row: Row) -> Alarm:
    alarm_id, emeter_id, channel, kind, raised, acked, closed = row
    t = db.dialect.time_from_db
    return Alarm(
        int(alarm_id), emeter_id, int(channel), AlarmKind(kind), t(raised),
        t(acked) if acked is not None else None, t(closed) if closed is not None else None,
    )


def alarms(db: Database, where: str, params: dict[str, object]) -> list[Alarm]:
    rows = db.run(f"SELECT {_ALARM} FROM alarms WHERE {where} ORDER BY raised_at, alarm_id", params)
    return [_alarm(db, row) for row in rows]


def raise_alarm(db: Database, emeter_id: str, kind: AlarmKind, channel: int, at: datetime) -> Alarm:
    emeter(db, emeter_id)
    params: dict[str, object] = {"e": emeter_id, "ch": channel, "kind": kind.value}
    db.run(
        "INSERT INTO alarms (emeter, channel, kind, raised_at) VALUES (:e, :ch, :kind, :at) "
        "ON CONFLICT (emeter, channel, kind) WHERE closed_at IS NULL DO NOTHING",
        {**params, "at": db.dialect.time_to_db(at)},
    )
    return alarms(db, "emeter = :e AND channel = :ch AND kind = :kind AND closed_at IS NULL", params)[0]


def alarm_state(alarm: Alarm) -> rules.AlarmState:
    if alarm.closed_at is not None:
        return rules.AlarmState.CLOSED
    if alarm.acknowledged_at is not None:
        return rules.AlarmState.ACKNOWLEDGED
    return rules.AlarmState.RAISED


def advance_alarm(db: Database, alarm_id: int, event: rules.AlarmInput, at: datetime) -> Alarm:
    found = alarms(db, "alarm_id = :id", {"id": alarm_id})
    if not found:
        raise InvalidInput(f"alarm {alarm_id!r} does not exist")
    alarm = found[0]
    state = alarm_state(alarm)
    outcome = rules.ALARM_TRANSITIONS[(state, event)]
    if outcome is rules.Outcome.IGNORE:
        return alarm
    if not isinstance(outcome, rules.AlarmState):  # Outcome.REFUSE
        raise InvalidInput(f"alarm {alarm_id} is {state.value}; it cannot be {event.value}d any more")
    latest = alarm.acknowledged_at or alarm.raised_at
    if at < latest:
        raise InvalidInput(
            f"alarm {alarm_id} cannot be {event.value}d at {at.isoformat()}, before its last change at "
            f"{latest.isoformat()}"
        )
    db.run(
        f"UPDATE alarms SET {_ALARM_COLUMN[outcome]} = :at WHERE alarm_id = :id",
        {"at": db.dialect.time_to_db(at), "id": alarm_id},
    )
    return alarms(db, "alarm_id = :id", {"id": alarm_id})[0]
