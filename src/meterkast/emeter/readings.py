"""What the shell feeds the E-meter after a P2 exchange (SYSTEM M3, E1; DSMR-M 4.3.43, 4.5.5).

The E-meter model is sans-I/O: it never touches the M-Bus. A shell performs the P2 exchanges
(EN 13757-2/-3, DSMR P2 security) and hands the decoded results in as the frozen values below.

Rules this module keeps:
- an identity is channel-independent: the same gas meter keeps its identity on any channel [P3 §7.1
  class 72 attributes 6–9];
- a reading is what the gas meter itself stored at a whole hour of its own clock: the converted volume,
  its UTC time stamp (``46 6D`` type I, [P2-4.0.7 §6.4.3]) and the status record ``01 FD 17``
  [P2-4.0.7 §6.2.4]; the E-meter converts the time stamp to local time at reception (DSMR-M 4.3.43);
- values are ``Decimal`` at the device resolution: 0.001 m³ for G4/G6, 0.01 m³ for G10 and up
  [P2-4.0.7 §6.4.4]; a bad value raises :class:`InvalidInput` naming the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum, IntFlag

from meterkast.errors import InvalidInput

GAS = 3  # EN 13757-3 medium code; P1 0-n:24.1.0 shows it as 003 [P1-4.2.2 Table 5-3]
EQUIPMENT_ID_LENGTH = 17  # [P2-4.0.7 §6.4.1]
RESOLUTIONS_M3 = (Decimal("0.001"), Decimal("0.01"))  # [P2-4.0.7 §6.4.4] VIF 13 / VIF 14
MAX_IDENTIFICATION = 99_999_999  # 8 BCD digits [P2-4.0.7 §4.2.2]


class StatusBit(IntFlag):
    """The P2 status byte ``01 FD 17 ss`` of a DSMR gas meter [P2-4.0.7 §6.2.4]."""

    BATTERY_LOW = 1 << 2
    PERMANENT_ERROR = 1 << 3
    TEMPORARY_ERROR = 1 << 4
    CLOCK_SYNC_ERROR = 1 << 5  # the device clock was more than 60 s off when synchronised
    FRAUD_ATTEMPT = 1 << 6
    VALVE_ALARM = 1 << 7  # DSMR 4.0.x only


class ValveAction(Enum):
    """What a central system might ask of a gas valve; DSMR 4.2.2 removed valve control (SYSTEM G12)."""

    OPEN = "open"
    CLOSE = "close"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class MbusDeviceIdentity:
    """The Short ID and equipment identifier of a coupled device [P2-4.0.7 §4.2.2, §6.4.1]."""

    manufacturer: str
    identification_number: int
    version: int
    device_type: int
    equipment_identifier: str

    def __post_init__(self) -> None:
        man = self.manufacturer
        if len(man) != 3 or not (man.isascii() and man.isalpha() and man.isupper()):
            raise InvalidInput(
                f"manufacturer {man!r} must be 3 capital letters (the FLAG id, e.g. 'ITG') [EN 13757-3]"
            )
        if not 0 <= self.identification_number <= MAX_IDENTIFICATION:
            raise InvalidInput(
                f"identification number {self.identification_number} must have at most 8 digits: "
                "the last 8 digits of the serial number, BCD [P2-4.0.7 §4.2.2]"
            )
        for what, value in (("version", self.version), ("device type", self.device_type)):
            if not 0 <= value <= 0xFF:
                raise InvalidInput(f"{what} {value} does not fit the one byte of the M-Bus header")
        ident = self.equipment_identifier
        if len(ident) != EQUIPMENT_ID_LENGTH or not ident.isascii() or not ident.isprintable():
            raise InvalidInput(
                f"equipment identifier {ident!r} must be {EQUIPMENT_ID_LENGTH} printable ASCII characters: "
                "5 meter code, 10 serial, 2 year [P2-4.0.7 §6.4.1]"
            )

    @classmethod
    def for_meter_number(
        cls, meter_number: str, *, manufacturer: str = "ITG", version: int = 0x40, device_type: int = GAS
    ) -> MbusDeviceIdentity:
        """The identity of a DSMR meter from its 17-character meter number (``G0001123456789012``).

        The identification number is the last 8 digits of the 10-digit serial [P2-4.0.7 §4.2.2].
        ``ITG`` (Itron Gas) is the most plausible Itron FLAG code (DSMR-FACTS §2.3, unverified).
        """
        serial = meter_number[5:15]
        if len(meter_number) != EQUIPMENT_ID_LENGTH or not (serial.isascii() and serial.isdigit()):
            raise InvalidInput(
                f"meter number {meter_number!r} must be 17 characters with a 10-digit serial at 6–15"
            )
        return cls(manufacturer, int(serial[-8:]), version, device_type, meter_number)


@dataclass(frozen=True, slots=True)
class MbusReading:
    """One hourly value as read over P2: the device's own capture time (UTC) and status."""

    value_m3: Decimal
    capture_time: datetime
    status: int
    resolution_m3: Decimal = Decimal("0.001")

    def __post_init__(self) -> None:
        if self.capture_time.tzinfo is None or self.capture_time.utcoffset() is None:
            raise InvalidInput(
                f"capture time {self.capture_time.isoformat()} has no time zone; the gas meter stamps its "
                "hourly value in UTC [P2-4.0.7 §6.4.3], pass an aware datetime"
            )
        if self.resolution_m3 not in RESOLUTIONS_M3:
            raise InvalidInput(
                f"resolution {self.resolution_m3} m³ must be 0.001 (G4/G6) or 0.01 (G10+) [P2-4.0.7 §6.4.4]"
            )
        if not isinstance(self.value_m3, Decimal) or not self.value_m3.is_finite() or self.value_m3 < 0:
            raise InvalidInput(f"gas value {self.value_m3!r} must be a finite, non-negative Decimal (m³)")
        if self.value_m3 % self.resolution_m3 != 0:
            raise InvalidInput(
                f"gas value {self.value_m3} m³ has more digits than the resolution {self.resolution_m3} m³"
            )
        if not 0 <= self.status <= 0xFF:
            raise InvalidInput(f"status {self.status} must be one byte (01 FD 17 ss) [P2-4.0.7 §6.2.4]")
