"""Compare meterkast's decoding of a corpus frame with libmbus's normalised XML, record by record.

libmbus normalises values to base units (seconds, Wh, m^3 ...) as doubles printed with six decimals;
meterkast keeps exact Decimals in the unit the VIF names. The comparison converts ours to libmbus's
units and compares within libmbus's printing precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from meterkast.mbus.application import VariableData, decode_telegram
from meterkast.mbus.dif import Function
from meterkast.mbus.fixed import FIXED_UNITS, FixedData
from meterkast.mbus.records import DataRecord, GlobalReadout, IdleFiller, ManufacturerData
from meterkast.mbus.vif import VIF_PLAIN_TEXT
from tests.mbus.corpus import LibmbusRecord, libmbus_records, read_hex

FUNCTIONS = {
    Function.INSTANTANEOUS: "Instantaneous value", Function.MAXIMUM: "Maximum value",
    Function.MINIMUM: "Minimum value", Function.ERROR: "Value during error state",
}
# our unit -> (libmbus unit, factor to multiply our value by)
UNITS: dict[str, tuple[str, Decimal]] = {
    "m³": ("m^3", Decimal(1)), "m³/h": ("m^3/h", Decimal(1)), "m³/min": ("m^3/min", Decimal(1)),
    "m³/s": ("m^3/s", Decimal(1)), "HCA": ("Units for H.C.A.", Decimal(1)),
    "min": ("s", Decimal(60)), "h": ("s", Decimal(3600)), "d": ("s", Decimal(86400)),
}


@dataclass(frozen=True)
class Outcome:
    index: int
    ok: bool
    reason: str = ""


def compare_frame(path: Path) -> list[Outcome]:
    payload = decode_telegram(read_hex(path)).payload
    if isinstance(payload, FixedData):
        return compare_fixed(payload, libmbus_records(path))
    assert isinstance(payload, VariableData)
    ours = [item for item in payload.records if not isinstance(item, IdleFiller | GlobalReadout)]
    theirs = libmbus_records(path)
    outcomes = [compare_record(i, o, t) for i, (o, t) in enumerate(zip(ours, theirs, strict=False))]
    longer = max(len(ours), len(theirs))
    outcomes += [Outcome(i, False, "record count differs") for i in range(min(len(ours), len(theirs)), longer)]
    return outcomes


def compare_fixed(fixed: FixedData, theirs: list[LibmbusRecord]) -> list[Outcome]:
    function = "Stored value" if fixed.stored else "Actual value"
    outcomes = []
    for n, record in enumerate(theirs):
        label = FIXED_UNITS[fixed.units[n]].label
        ok = (record.function, record.unit, record.value) == (function, label, str(fixed.counters[n]))
        outcomes.append(Outcome(n, ok, "" if ok else f"{function} {label} {fixed.counters[n]} vs libmbus {record}"))
    return outcomes


def compare_record(index: int, ours: DataRecord | ManufacturerData, theirs: LibmbusRecord) -> Outcome:
    reason = _difference(ours, theirs)
    return Outcome(index, reason is None, reason or "")


def _difference(ours: DataRecord | ManufacturerData, theirs: LibmbusRecord) -> str | None:  # noqa: PLR0911
    if not theirs.function:
        return "libmbus produced an empty record"
    if isinstance(ours, ManufacturerData):
        expected = "More records follow" if ours.more_records_follow else "Manufacturer specific"
        if theirs.function != expected:
            return f"function {expected!r} vs libmbus {theirs.function!r}"
        if ours.data.hex(" ").upper() != theirs.value:
            return f"manufacturer data {ours.data.hex(' ').upper()!r} vs libmbus {theirs.value!r}"
        return None
    if FUNCTIONS[ours.function] != theirs.function:
        return f"function {FUNCTIONS[ours.function]!r} vs libmbus {theirs.function!r}"
    if ours.storage != theirs.storage:
        return f"storage {ours.storage} vs libmbus {theirs.storage}"
    if theirs.tariff is not None and (ours.tariff, ours.subunit) != (theirs.tariff, theirs.device):
        return f"tariff/subunit {ours.tariff}/{ours.subunit} vs libmbus {theirs.tariff}/{theirs.device}"
    if ours.vib.vif == VIF_PLAIN_TEXT:  # libmbus puts the plain-text unit under Quantity
        return None if theirs.quantity == ours.vib.text else f"plain text {ours.vib.text!r} vs {theirs.quantity!r}"
    unit, factor = UNITS.get(ours.unit, (ours.unit, Decimal(1)))
    their_unit = "" if theirs.unit in ("-", "Reserved") else theirs.unit
    if unit != their_unit:
        return f"unit {ours.unit!r} vs libmbus {theirs.unit!r}"
    return _value_difference(ours.value, factor, theirs.value)


def _value_difference(value: object, factor: Decimal, theirs: str) -> str | None:  # noqa: PLR0911
    if isinstance(value, Decimal):
        try:
            their_number = Decimal(theirs)
        except InvalidOperation:
            return f"value {value} vs libmbus {theirs!r}"
        mine = value * factor
        if abs(mine - their_number) <= Decimal("0.0000005") + abs(their_number) * Decimal("1e-12"):
            return None
        return f"value {mine} vs libmbus {their_number}"
    if isinstance(value, datetime):
        return None if theirs.rstrip("Z") == value.isoformat() else f"value {value.isoformat()} vs libmbus {theirs}"
    if isinstance(value, date):
        return None if theirs == value.isoformat() else f"value {value.isoformat()} vs libmbus {theirs}"
    if isinstance(value, time):
        return f"time {value} vs libmbus {theirs}"
    if isinstance(value, str):
        return None if value == theirs else f"text {value!r} vs libmbus {theirs!r}"
    if isinstance(value, bytes):
        if theirs in (value.hex(" ").upper(), value[::-1].hex(" ").upper()):
            return None
        if "-00" in theirs[:10] or theirs.startswith("1900"):
            return None  # an invalid date: we keep the raw bytes, libmbus prints zero fields
        return f"raw {value.hex(' ').upper()} vs libmbus {theirs!r}"
    return None if value is None and theirs in ("", "0.000000") else f"value {value!r} vs libmbus {theirs!r}"
