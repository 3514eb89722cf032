"""COSEM attribute values of the E-meter, both ways: date-times, scaler-units, scaled integers (DSMR P3).

* Date-times are ``octet-string`` (12 octets, IEC 62056-6-2 §4.1.6.1) in local time with the deviation and
  the DST bit, as the clock shows them (P3 §5.3: time_zone -60, CET/CEST). "Not specified" everywhere is
  ``FFFF FF FF FF FF FF FF FF 8000 FF`` (a value the meter does not have, e.g. no M-Bus reading yet).
* scal_unit_type = structure { scaler integer, unit enum } (Blue Book class 3): unit codes from the Blue
  Book unit table: 7 s, 14 m³, 27 W, 30 Wh, 33 A, 35 V, 255 count (P3 §5.3, §5.9, §6.2, §7.3).
* A register value is an integer; value = integer × 10^scaler. P3 §6.2: +A/−A "scaler=0, unit=Wh";
  §7.3.1: the M-Bus value's scaler_unit is "set by the E-meter by reading the M-Bus device VIF/DIF", so
  -3 m³ for 0.001 m³ (VIF 13, G4/G6) and -2 m³ for 0.01 m³ (VIF 14, G10+).

Rules this module keeps: ``Decimal`` in, ``Decimal`` out; a value that is not a whole number of scaler
steps raises ``InvalidInput`` rather than being rounded; a date-time that has no deviation is read as
Europe/Amsterdam local time (the meter's own zone) rather than refused.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import IntEnum

from meterkast.dlms import (
    CaptureObject,
    ClockStatus,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DlmsData,
    EnumValue,
    Integer,
    LongUnsigned,
    ObisCode,
    OctetString,
    Structure,
)
from meterkast.emeter.localtime import ZONE
from meterkast.errors import CodecError, InvalidInput


class Unit(IntEnum):
    """Blue Book unit enumeration (the codes DSMR P3 uses)."""

    SECOND = 7
    VOLUME_CUBIC_METRE = 13  # m³, uncorrected volume: a water meter's VIF 13h
    CUBIC_METRE = 14  # m³, corrected volume: the gas meter's converted volume
    JOULE = 25  # energy: a heat meter's VIF 0Fh counts 10^7 J
    WATT = 27
    WATT_HOUR = 30
    AMPERE = 33
    VOLT = 35
    COUNT = 255


NOT_SPECIFIED = CosemDateTime(CosemDate(), CosemTime())
CLOCK = ObisCode(0, 0, 1, 0, 0)
CLOCK_COLUMN = CaptureObject(8, CLOCK, 2)
# sort_object "None, unsorted" (P3 §5.7): a capture_object_definition that refers to nothing.
NO_SORT_OBJECT = Structure((LongUnsigned(0), OctetString(bytes(6)), Integer(0), LongUnsigned(0)))


def date_time(moment: datetime | None, status: ClockStatus | None = None) -> OctetString:
    """A 12-octet date-time in the meter's local time; ``None`` → every field "not specified"."""
    if moment is None:
        return OctetString(NOT_SPECIFIED.encode())
    return OctetString(CosemDateTime.from_datetime(moment.astimezone(ZONE), status).encode())


def read_date_time(value: DlmsData, what: str = "date-time") -> datetime | None:
    """The aware datetime in a 12-octet octet-string; ``None`` when the meter says "not specified"."""
    if not isinstance(value, OctetString):
        raise CodecError(f"{what} must be a 12-octet octet-string, got {type(value).__name__}")
    stamp = CosemDateTime.decode(value.value)
    if stamp.date.year is None and stamp.time.hour is None:
        return None
    try:
        if stamp.deviation is None:
            naive = datetime.combine(stamp.date.to_date(), stamp.time.to_time())
            return naive.replace(tzinfo=ZONE)
        return stamp.to_datetime()
    except InvalidInput as exc:
        raise CodecError(f"{what} {value.value.hex().upper()} is not a point in time: {exc}") from exc


def scaler_unit(scaler: int, unit: Unit) -> Structure:
    return Structure((Integer(scaler), EnumValue(unit)))


def read_scaler_unit(value: DlmsData) -> tuple[int, int]:
    match value:
        case Structure((Integer(scaler), EnumValue(unit))):
            return scaler, unit
    raise CodecError(f"scal_unit_type must be structure {{integer, enum}}, got {value!r}")


def scaler_of(resolution: Decimal) -> int:
    """0.001 → -3, 0.01 → -2."""
    exponent = resolution.normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        raise InvalidInput(f"resolution {resolution} is not a finite number")
    return exponent


def scaled(value: Decimal, scaler: int) -> int:
    """The register integer for ``value`` = integer × 10^scaler (exact, or ``InvalidInput``)."""
    steps = value.scaleb(-scaler)
    if steps != steps.to_integral_value():
        raise InvalidInput(f"{value} is not a whole number of 10^{scaler} steps")
    return int(steps)


def unscaled(raw: int, scaler: int) -> Decimal:
    """``raw`` × 10^scaler as an exact Decimal (e.g. 1091352, -3 → 1091.352)."""
    return Decimal(raw).scaleb(scaler)


def kwh_to_wh(value_kwh: Decimal) -> int:
    """P3 §6.2 registers count Wh (scaler 0); the model keeps kWh at 0.001 resolution."""
    return scaled(value_kwh, -3)
