"""What the E-meter reports: past-tense events, and the DSMR event-code table that drives the logs.

Event codes, their log, and the error/alarm register bit they set come from [P3-4.2.2 §4.2.1–§4.2.4]
as one table, ``EVENT_SPECS`` (STYLE 5). Every event carries ``at``, the true instant (UTC) the model
was told about; logged events also carry ``clock``, the E-meter's own local time written into the log.

Codes: standard log 1 power down, 2 power up, 3 daylight saving changed, 4/5 clock adjusted (old/new),
6 clock invalid, 10/11 error/alarm register cleared, 255 event log cleared; M-Bus log 100–106 for
channel 1, +10 per further channel (110…, 120…, 130…). DSMR 4.2.2 removed valve control and has no
code for a refused valve command (SYSTEM E4 wants it visible): this model logs it in the M-Bus log
under a manufacturer-specific code, 230 + channel − 1 (230–249 are manufacturer specific, §4.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum, IntEnum

from meterkast.emeter import obis
from meterkast.emeter.profiles import BillingEntry, HourlyEntry, LoadEntry
from meterkast.emeter.readings import MbusDeviceIdentity, ValveAction


class LogId(Enum):
    STANDARD = obis.STANDARD_LOG
    FRAUD = obis.FRAUD_LOG
    MBUS = obis.MBUS_LOG


LOG_SIZES = {LogId.STANDARD: 100, LogId.FRAUD: 30, LogId.MBUS: 30}  # [P3-4.2.2 §4.2.2]


class Code(IntEnum):
    POWER_DOWN = 1
    POWER_UP = 2
    DST_CHANGED = 3
    CLOCK_ADJUSTED_OLD = 4
    CLOCK_ADJUSTED_NEW = 5
    CLOCK_INVALID = 6
    ERROR_REGISTER_CLEARED = 10
    ALARM_REGISTER_CLEARED = 11
    EVENT_LOG_CLEARED = 255


class MbusCode(IntEnum):
    """Channel-1 codes; channel n adds 10·(n−1) [P3-4.2.2 §4.2.1]."""

    COMMUNICATION_ERROR = 100
    COMMUNICATION_OK = 101
    REPLACE_BATTERY = 102
    FRAUD_ATTEMPT = 103
    CLOCK_ADJUSTED = 104
    NEW_DEVICE = 105
    PERMANENT_ERROR = 106


VALVE_REFUSED_BASE = 230  # manufacturer-specific range, see module docstring


def mbus_code(kind: MbusCode, channel: int) -> int:
    return int(kind) + 10 * (obis.check_channel(channel) - 1)


def valve_refused_code(channel: int) -> int:
    return VALVE_REFUSED_BASE + obis.check_channel(channel) - 1


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    log: LogId
    register_bit: int | None = None  # bit in the error and alarm registers [P3-4.2.2 §4.2.3, §4.2.4]
    self_clearing: bool = False  # the error bit clears when the condition disappears (§4.2.3)


def _build_specs() -> dict[int, EventSpec]:
    std = LogId.STANDARD
    specs = {
        Code.POWER_DOWN: EventSpec("power down", std),
        Code.POWER_UP: EventSpec("power up", std, register_bit=2),
        Code.DST_CHANGED: EventSpec("daylight saving time enabled or disabled", std),
        Code.CLOCK_ADJUSTED_OLD: EventSpec("clock adjusted (old date/time)", std),
        Code.CLOCK_ADJUSTED_NEW: EventSpec("clock adjusted (new date/time)", std),
        Code.CLOCK_INVALID: EventSpec("clock invalid", std, register_bit=0),
        Code.ERROR_REGISTER_CLEARED: EventSpec("error register cleared", std),
        Code.ALARM_REGISTER_CLEARED: EventSpec("alarm register cleared", std),
    }
    table: dict[int, EventSpec] = {int(code): spec for code, spec in specs.items()}
    for x in obis.CHANNELS:
        per_channel = {
            MbusCode.COMMUNICATION_ERROR: (f"communication error M-Bus channel {x}", 15 + x, True),
            MbusCode.COMMUNICATION_OK: (f"communication ok M-Bus channel {x}", None, False),
            MbusCode.REPLACE_BATTERY: (f"replace battery M-Bus channel {x}", None, False),
            MbusCode.FRAUD_ATTEMPT: (f"fraud attempt M-Bus channel {x}", 19 + x, True),
            MbusCode.CLOCK_ADJUSTED: (f"clock adjusted M-Bus channel {x}", None, False),
            MbusCode.NEW_DEVICE: (f"new M-Bus device discovered channel {x}", 23 + x, False),
            MbusCode.PERMANENT_ERROR: (f"permanent error from M-Bus device channel {x}", None, False),
        }
        for kind, (name, bit, clears) in per_channel.items():
            table[mbus_code(kind, x)] = EventSpec(name, LogId.MBUS, bit, clears)
        table[valve_refused_code(x)] = EventSpec(f"valve command refused M-Bus channel {x}", LogId.MBUS)
    return table


EVENT_SPECS: dict[int, EventSpec] = _build_specs()


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime


@dataclass(frozen=True, slots=True)
class Logged(Event):
    """An event that is also an entry (clock, code) in one of the DSMR event logs."""

    clock: datetime
    code: int


@dataclass(frozen=True, slots=True)
class PoweredDown(Logged):
    pass


@dataclass(frozen=True, slots=True)
class PoweredUp(Logged):
    duration_s: int
    long_failure: bool


@dataclass(frozen=True, slots=True)
class DaylightSavingChanged(Logged):
    """Code 3; the clock is the local time before the change [P3-4.2.2 §4.2.1]."""


@dataclass(frozen=True, slots=True)
class ClockAdjusted(Logged):
    """Code 4 carries the old time, code 5 the new one."""


@dataclass(frozen=True, slots=True)
class ClockInvalidated(Logged):
    pass


@dataclass(frozen=True, slots=True)
class RegisterCleared(Logged):
    """Codes 10 (error register) and 11 (alarm register)."""


@dataclass(frozen=True, slots=True)
class EventLogCleared(Logged):
    log: LogId


@dataclass(frozen=True, slots=True)
class MbusEventLogged(Logged):
    """An M-Bus log entry (100–106 + 10·(n−1)): communication, battery, fraud, clock, discovery, error."""

    channel: int
    kind: MbusCode


@dataclass(frozen=True, slots=True)
class ValveCommandRefused(Logged):
    channel: int
    action: ValveAction
    reason: str


@dataclass(frozen=True, slots=True)
class AlarmRaised(Event):
    """New bits in the alarm register 0-0:97.98.0 (what a P3 shell would push)."""

    register: int
    new_bits: int


@dataclass(frozen=True, slots=True)
class DeviceCoupled(Event):
    channel: int
    identity: MbusDeviceIdentity


@dataclass(frozen=True, slots=True)
class DeviceDecoupled(Event):
    channel: int
    identity: MbusDeviceIdentity


@dataclass(frozen=True, slots=True)
class DeviceReplaced(Event):
    channel: int
    old: MbusDeviceIdentity
    new: MbusDeviceIdentity


@dataclass(frozen=True, slots=True)
class ReadingReceived(Event):
    """0-x:24.2.1 was updated: value, capture time converted to local time, status."""

    channel: int
    value_m3: Decimal
    capture_time: datetime
    status: int


@dataclass(frozen=True, slots=True)
class ReadFailed(Event):
    channel: int
    reason: str
    attempt: int
    retry_at: datetime | None  # None: no retry before xx:11; the hour's entry will carry DNV


@dataclass(frozen=True, slots=True)
class FrameRejected(Event):
    """A P2 reply arrived whole but the E-meter refused it (wrong key, replay, implausible records).

    Not a DSMR log entry: 30 forged frames would flush the 30-entry M-Bus log [P3-4.2.2 §4.2.2]. A run of
    ``run`` refusals reaching the threshold logs "fraud attempt M-Bus channel n" once (``channels``).
    """

    channel: int
    reason: str
    count: int  # refused frames on this channel since the device was installed
    run: int  # refused frames since the last accepted one


@dataclass(frozen=True, slots=True)
class ProfileEntryFiled(Event):
    obis: str
    entry: HourlyEntry | BillingEntry | LoadEntry


@dataclass(frozen=True, slots=True)
class TariffSwitched(Event):
    tariff: int


@dataclass(frozen=True, slots=True)
class VoltageSagDetected(Event):
    phase: int
    count: int


@dataclass(frozen=True, slots=True)
class VoltageSwellDetected(Event):
    phase: int
    count: int
