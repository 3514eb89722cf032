"""One contact of the central system with one E-meter, as a P3 procedure (SYSTEM C1, C4; DSMR 4.2.2 P3): sans-I/O.

``collect(client, plan)`` is a ``Procedure`` (a generator of APDUs, see ``meterkast.cosem.client``), so the
same contact runs over TCP (``io.p3_client.P3TcpClient.run``) and in memory (``cosem.loopback.run``):

1. associate as the management client (HLS5-GMAC, every APDU ciphered with the meter's keys, P3 §3.2);
2. read alarm register 1, 0-0:97.98.0 attribute 2 [P3-4.2.2 §4.2.4];
3. read the M-Bus event log 0-0:99.98.3 from the last entry seen on (range descriptor on its clock) [§7.5];
4. read each planned gap run with ``read_profile`` (range descriptor on the clock, both ends inclusive),
   the hourly profile 0-x:24.3.0 or the billing profiles 1-0:99.2.0 / 0-0:98.1.0 with channel x's columns;
5. with ``clear_alarms``, write 0 to the alarm register once it was read (the head-end's acknowledgement;
   "alarm bits stay until the management client clears the register", §4.2.4);
6. release the association.

``rotate(client, new_keys, kek)`` is the other procedure: a key change (``cs.service.rotate_keys``);
``change_gas_meter_key(client, channel, wrapped, user_key)`` changes a gas meter's P2 user key through the
E-meter (``cs.service.rotate_gas_meter_key``).

``readings_from`` keeps, of what was read, exactly the planned instants that carry a value: an entry
outside the plan (the range descriptor is inclusive, and a repeated autumn hour is two entries) is
dropped, and an entry without a value (a channel without a reading yet) is counted, never stored as zero.

Rules this module keeps: values stay ``Decimal`` m³ as the meter's integer and scaler give them; the
capture time of a ``Reading`` is the entry's clock in UTC (the store's grid); a refusal by the meter raises
``CommandRefused`` naming the object; nothing here reads a clock: ``log_time`` comes from the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from meterkast.central.model import Reading
from meterkast.cosem.client import P3Client, Procedure
from meterkast.cosem.readings import GasProfileRow, read_clock, read_profile
from meterkast.cosem.values import CLOCK_COLUMN, date_time, read_date_time
from meterkast.cs.schedule import MeterPlan, ProfileRead
from meterkast.dlms import (
    ActionResult,
    Array,
    AttributeDescriptor,
    DataAccessResult,
    DlmsData,
    DoubleLongUnsigned,
    MethodDescriptor,
    ObisCode,
    OctetString,
    RangeDescriptor,
    SecurityKeys,
    Structure,
)
from meterkast.dlms.data import FixedInteger
from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.logs import LogEntry
from meterkast.emeter.obis import ALARM_REGISTER, MBUS_LOG
from meterkast.errors import CodecError, CommandRefused

DATA_CLASS = 1
PROFILE_GENERIC = 7
MBUS_CLIENT = 72
SET_ENCRYPTION_KEY = 7  # class 72 methods [P3-4.2.2 §7.1]
TRANSFER_KEY = 8
ALARM_REGISTER_VALUE = AttributeDescriptor(DATA_CLASS, ObisCode.parse(ALARM_REGISTER), 2)
MBUS_EVENT_LOG = ObisCode.parse(MBUS_LOG)


@dataclass(frozen=True, slots=True)
class Collected:
    """What one contact brought back."""

    alarm_register: int
    mbus_events: tuple[LogEntry, ...]
    rows: tuple[tuple[ProfileRead, tuple[GasProfileRow, ...]], ...]
    register_cleared: bool

    @property
    def row_count(self) -> int:
        return sum(len(rows) for _, rows in self.rows)


def _result(value: DlmsData | DataAccessResult, what: str) -> DlmsData:
    if isinstance(value, DataAccessResult):
        raise CommandRefused(f"{what}: the meter answered {value.name.lower().replace('_', '-')}")
    return value


def read_alarm_register(client: P3Client) -> Procedure[int]:
    value = _result((yield from client.get(ALARM_REGISTER_VALUE)), f"alarm register {ALARM_REGISTER}")
    if not isinstance(value, FixedInteger):
        raise CodecError(f"alarm register {ALARM_REGISTER} must be a double-long-unsigned, got {type(value).__name__}")
    return value.value


def clear_alarm_register(client: P3Client) -> Procedure[None]:
    result = yield from client.set(ALARM_REGISTER_VALUE, DoubleLongUnsigned(0))
    if result is not DataAccessResult.SUCCESS:
        raise CommandRefused(f"clearing alarm register {ALARM_REGISTER}: the meter answered {result.name}")


def read_event_log(client: P3Client, logical_name: ObisCode, after: datetime | None) -> Procedure[list[LogEntry]]:
    """(clock, code) entries of an event log with a clock at or after ``after`` (None: all of them)."""
    where = f"event log {logical_name}"
    access = RangeDescriptor(CLOCK_COLUMN, date_time(after), date_time(None))
    buffer = _result((yield from client.get(AttributeDescriptor(PROFILE_GENERIC, logical_name, 2), access)),
                     f"{where} buffer")
    if not isinstance(buffer, Array):
        raise CodecError(f"{where} buffer is not an array")
    entries = []
    for item in buffer.items:
        if not isinstance(item, Structure) or len(item.items) != 2 or not isinstance(item.items[1], FixedInteger):
            raise CodecError(f"{where}: an entry is not {{clock, event code}}")
        clock = read_date_time(item.items[0], f"{where} clock")
        if clock is None:
            raise CodecError(f"{where}: an entry without a clock")
        entries.append(LogEntry(clock, item.items[1].value))
    return entries


def collect(client: P3Client, plan: MeterPlan, *, clear_alarms: bool = False) -> Procedure[Collected]:
    """Associate, read alarms, events and the planned profile runs, release."""
    yield from client.associate()
    register = yield from read_alarm_register(client)
    events = yield from read_event_log(client, MBUS_EVENT_LOG, plan.events_after)
    rows: list[tuple[ProfileRead, tuple[GasProfileRow, ...]]] = []
    for read in plan.reads:
        found = yield from read_profile(client, ObisCode.parse(read.logical_name), read.first, read.last,
                                        channel=read.channel)
        rows.append((read, tuple(found)))
    cleared = False
    if clear_alarms and register:
        yield from clear_alarm_register(client)
        cleared = True
    yield from client.release()
    return Collected(register, tuple(events), tuple(rows), cleared)


def rotate(client: P3Client, new_keys: SecurityKeys, kek: bytes) -> Procedure[None]:
    """Associate, replace both global keys (``global_key_transfer`` wrapped under ``kek``), read the clock
    with the new keys in the same association ("The next message shall use the new key", P3 §5.1 footnote
    4), release. ``client.keys`` is ``new_keys`` exactly when the meter confirmed the transfer."""
    yield from client.associate()
    yield from client.replace_keys(new_keys, kek)
    yield from read_clock(client)
    yield from client.release()


def change_gas_meter_key(client: P3Client, channel: int, wrapped: bytes, user_key: bytes) -> Procedure[None]:
    """Associate, give M-Bus client setup 0-x:24.1.0 the new user key, release (DSMR-FACTS §2.5, P3 §7.1).

    ``transfer_key`` first, with the key wrapped under the gas meter's default key (MSB first, P3 §3.2.3.1),
    for the E-meter to relay over P2; then ``set_encryption_key`` with the key in plain, for the E-meter's
    own reads; the order OSGP uses for DSMR 4.2.2. A method the meter does not answer ``success`` raises
    ``CommandRefused``; success only means the E-meter received it (P3 §3.5), not that the gas meter did.
    """
    setup = ObisCode.parse(f"0-{channel}:24.1.0.255")
    yield from client.associate()
    for method, value, name in ((TRANSFER_KEY, wrapped, "transfer_key"),
                                (SET_ENCRYPTION_KEY, user_key, "set_encryption_key")):
        result, _ = yield from client.action(MethodDescriptor(MBUS_CLIENT, setup, method), OctetString(value))
        if result is not ActionResult.SUCCESS:
            raise CommandRefused(f"{name} on {setup}: the meter answered {result.name.lower().replace('_', '-')}")
    yield from client.release()


@dataclass(frozen=True, slots=True)
class Harvest:
    readings: tuple[Reading, ...]
    unavailable: int  # planned instants the meter had no value for


def readings_from(plan: MeterPlan, rows: Sequence[tuple[ProfileRead, Sequence[GasProfileRow]]],
                  log_time: datetime) -> Harvest:
    """The ``Reading``s for exactly the planned instants that the meter gave a value for."""
    readings: list[Reading] = []
    unavailable = 0
    for read, found in rows:
        by_clock = {row.clock.astimezone(UTC): row for row in found}
        for instant in read.instants():
            row = by_clock.get(instant)
            if row is None or row.value_m3 is None:
                unavailable += 1
                continue
            # 0-0:98.1.0 has no status column [P3-4.2.2 §5.5]: its entries carry status 0.
            status = row.status if row.status is not None else AmrStatus(0)
            readings.append(Reading(plan.connection, read.gas_meter, read.channel, read.period_type, instant,
                                    row.value_m3, status, log_time))
    return Harvest(tuple(readings), unavailable)
