"""What the gas meter reports: past-tense events (STYLE 8), each stamped with the instant it happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

from meterkast.gasmeter.display import DisplayState, LcdFrame


class FirmwarePart(Enum):
    LEGAL = "legal"
    FUNCTIONAL = "functional"


class ValveAction(Enum):
    OPEN = "open"
    CLOSE = "close"
    RELEASE = "release"


class ValvePosition(Enum):
    # Codes as sent in the DSMR 4.0 valve status record `89 40 FD 1A vv` [P2-4.0.7 §6.4.5].
    CLOSED = 0
    OPEN = 1
    RELEASED = 2


class Fault(Enum):
    """Conditions that light the error triangle (SYSTEM G9) and set P2 status bits [P2-4.0.7 §6.2.4]."""

    TEMPERATURE_SENSOR = "temperature-sensor"  # permanent error: conversion uses the last good value
    MAGNETIC_TAMPER = "magnetic-tamper"  # a fraud attempt


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime


@dataclass(frozen=True, slots=True)
class ReadingChanged(Event):
    index_m3: Decimal


@dataclass(frozen=True, slots=True)
class RegisterWrapped(Event):
    index_m3: Decimal


@dataclass(frozen=True, slots=True)
class HourlyValueStored(Event):
    """The value the meter keeps for P2 at every whole hour of its own clock (DSMR-M 4.5.24, §6.1)."""

    captured_at: datetime
    index_m3: Decimal


@dataclass(frozen=True, slots=True)
class DisplayChanged(Event):
    state: DisplayState
    frame: LcdFrame


@dataclass(frozen=True, slots=True)
class DisplayLocked(Event):
    presses_today: int
    locked_until: datetime  # one local day later (gasmeter/display_day.py)


@dataclass(frozen=True, slots=True)
class SealBroken(Event):
    pass


@dataclass(frozen=True, slots=True)
class SealRestored(Event):
    operator: str


@dataclass(frozen=True, slots=True)
class BatteryLow(Event):
    remaining_percent: float


@dataclass(frozen=True, slots=True)
class BatteryEmpty(Event):
    pass


@dataclass(frozen=True, slots=True)
class BatteryReplaced(Event):
    operator: str


@dataclass(frozen=True, slots=True)
class ValveCommandRefused(Event):
    action: ValveAction
    reason: str


@dataclass(frozen=True, slots=True)
class FirmwareUpdateRefused(Event):
    part: FirmwarePart
    requested_version: str
    reason: str


@dataclass(frozen=True, slots=True)
class FaultRaised(Event):
    fault: Fault


@dataclass(frozen=True, slots=True)
class FaultCleared(Event):
    fault: Fault


@dataclass(frozen=True, slots=True)
class ClockSynchronized(Event):
    """The E-meter set the meter's clock; more than 60 s off sets status bit 5 [P2-4.0.7 §6.2]."""

    offset_s: float
    out_of_sync: bool


@dataclass(frozen=True, slots=True)
class StatusBitsCleared(Event):
    """The E-meter's housekeeping command cleared latched status bits [P2-4.0.7 §6.2.4]."""

    mask: int
    cleared: int
