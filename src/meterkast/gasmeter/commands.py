"""What can be done to the gas meter: imperative commands (STYLE 8), applied with ``GasMeter.handle``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterkast.gasmeter.events import Fault, FirmwarePart, ValveAction


@dataclass(frozen=True, slots=True)
class SetFlow:
    """Gas starts flowing at ``flow_m3h`` (0 stops it) at ``gas_temp_c``."""

    flow_m3h: Decimal
    gas_temp_c: Decimal


@dataclass(frozen=True, slots=True)
class PressButton:
    """The red button, held for ``hold_s`` seconds (> 10 s is a long press, SYSTEM G8)."""

    hold_s: Decimal = Decimal("0.2")


@dataclass(frozen=True, slots=True)
class BreakSeal:
    pass


@dataclass(frozen=True, slots=True)
class Reseal:
    """Only the grid operator reseals a meter (SYSTEM G11)."""

    operator: str


@dataclass(frozen=True, slots=True)
class CommandValve:
    action: ValveAction


@dataclass(frozen=True, slots=True)
class UpdateFirmware:
    part: FirmwarePart
    version: str


@dataclass(frozen=True, slots=True)
class ReplaceBattery:
    operator: str


@dataclass(frozen=True, slots=True)
class DrainBattery:
    """A scenario's shortcut: spend ``amount_nah`` at once (an aged or faulty cell)."""

    amount_nah: int


@dataclass(frozen=True, slots=True)
class RaiseFault:
    fault: Fault


@dataclass(frozen=True, slots=True)
class ClearFault:
    fault: Fault


@dataclass(frozen=True, slots=True)
class SynchronizeClock:
    """The E-meter's time as it sets the gas meter's clock over P2 (CI 6C) [P2-4.0.7 §6.2]."""

    e_meter_time: datetime


@dataclass(frozen=True, slots=True)
class SetClockDrift:
    """The meter's crystal runs ``ppm`` parts per million fast (negative: slow) from now on (``meterclock``)."""

    ppm: Decimal


@dataclass(frozen=True, slots=True)
class ClearStatusBits:
    """``01 FD 97 06 mm``: clear the status bits set in ``mask`` [P2-4.0.7 §6.2.4]."""

    mask: int


Command = (
    SetFlow | PressButton | BreakSeal | Reseal | CommandValve | UpdateFirmware | ReplaceBattery
    | DrainBattery | RaiseFault | ClearFault | SynchronizeClock | SetClockDrift | ClearStatusBits
)
