"""Compare meterkast's decoded values with dsmr_parser's, line by line (a test-only peer).

dsmr_parser keeps one object per name and drops lines it has no regex for, so the comparison goes
through its own per-line parsers: for every object of the spec, every line its regex finds is parsed
with that object's ``value_parser`` (exactly what ``TelegramParser.parse`` does) and compared with what
meterkast decoded for the same line's OBIS code. Datetimes are compared as instants (dsmr_parser
returns UTC; we return Europe/Amsterdam).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dsmr_parser import telegram_specifications
from dsmr_parser.exceptions import ParseError
from dsmr_parser.objects import CosemObject, MBusObject, MBusObjectPeak, ProfileGenericObject
from dsmr_parser.parsers import TelegramParser

from meterkast.p1.telegram import Telegram
from meterkast.p1.values import CapturedValue, GasProfile, MaxDemand, PowerFailure, Quantity

_CODE = re.compile(r"(\d+-\d+:\d+\.\d+\.\d+)")


def parser_for(spec_name: str) -> TelegramParser:
    return TelegramParser(getattr(telegram_specifications, spec_name), apply_checksum_validation=True)


def _instant(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _same_scalar(ours: Any, value: Any, unit: Any) -> bool:
    if isinstance(ours, Quantity):
        return isinstance(value, Decimal) and value == ours.value and unit == ours.unit
    if isinstance(ours, datetime):
        return isinstance(value, datetime) and _instant(value) == _instant(ours)
    if isinstance(ours, int):
        return value is not None and int(value) == ours and unit is None
    if isinstance(ours, str):
        return (value if isinstance(value, str) else ("" if value is None else str(value))) == ours
    return False


def same(ours: Any, theirs: Any) -> bool:
    """Does meterkast's value for a line equal dsmr_parser's object for it?"""
    if isinstance(theirs, CosemObject):
        return _same_scalar(ours, theirs.value, theirs.unit)
    if isinstance(theirs, MBusObject):
        if isinstance(ours, GasProfile):
            return (
                _instant(theirs.datetime) == _instant(ours.time)
                and theirs.value == ours.value
                and theirs.unit == ours.unit
            )
        return (
            isinstance(ours, CapturedValue)
            and _instant(theirs.datetime) == _instant(ours.time)
            and theirs.value == ours.value
            and theirs.unit == ours.unit
        )
    if isinstance(theirs, ProfileGenericObject):
        buffer = theirs.buffer
        return (
            isinstance(ours, tuple)
            and len(buffer) == len(ours)
            and all(
                isinstance(o, PowerFailure)
                # dsmr_parser gives no time for a stamp it cannot read (a lowercase DST flag)
                and (b.datetime is None or _instant(b.datetime) == _instant(o.end))
                and b.value == o.duration_s
                and b.unit in {"s", "S", None}  # a duration sent without *s is read as seconds
                for b, o in zip(buffer, ours, strict=True)
            )
        )
    if isinstance(theirs, list) and all(isinstance(t, MBusObjectPeak) for t in theirs):
        return (
            isinstance(ours, tuple)
            and len(theirs) == len(ours)
            and all(
                isinstance(o, MaxDemand)
                and (t.datetime is None or _instant(t.datetime) == _instant(o.month))
                and (t.occurred is None or _instant(t.occurred) == _instant(o.occurred))
                and t.value == o.value
                and t.unit == o.unit
                for t, o in zip(theirs, ours, strict=True)
            )
        )
    return False


def compare(text: str, spec_name: str, telegram: Telegram) -> list[tuple[str, str, bool]]:
    """(dsmr_parser name, OBIS code, agree) for every line both decoders read."""
    parser = parser_for(spec_name)
    results = []
    for obj in parser.telegram_specification["objects"]:
        pattern = parser.telegram_specification_regexes[obj["obis_reference"]]
        for line in pattern.findall(text):
            match = _CODE.match(line)
            assert match is not None, line
            theirs = obj["value_parser"].parse(line)
            code = match.group(1)
            results.append((obj["value_name"], code, same(telegram.values[code], theirs)))
    return results


def _read_nothing(theirs: Any) -> bool:
    """dsmr_parser kept the line but could not read its value (it gives None)."""
    if isinstance(theirs, CosemObject | MBusObject):
        return theirs.value is None
    return False


def compare_read(text: str, spec_name: str, telegram: Telegram) -> list[tuple[str, str, bool]]:
    """(dsmr_parser name, OBIS code, agree) for every line dsmr_parser *reads* a value from.

    Unlike ``compare`` this takes odd telegrams: a line dsmr_parser's parser refuses (it logs and skips
    it) or reads as None is not compared; for every other line meterkast must have the same value.
    """
    parser = TelegramParser(getattr(telegram_specifications, spec_name), apply_checksum_validation=False)
    results = []
    for obj in parser.telegram_specification["objects"]:
        pattern = parser.telegram_specification_regexes[obj["obis_reference"]]
        for line in pattern.findall(text):
            try:
                theirs = obj["value_parser"].parse(line)
            except (ParseError, ValueError, ArithmeticError):  # ValueError: its int() on "a(b" (it re-raises)
                continue
            if _read_nothing(theirs):
                continue
            match = _CODE.match(line)
            assert match is not None, line
            code = match.group(1)
            ours = telegram.values.get(code)
            if isinstance(theirs, MBusObject) and theirs.datetime is None and isinstance(ours, CapturedValue):
                # dsmr_parser could not read the capture time (lowercase DST flag, placeholder stamp).
                results.append((obj["value_name"], code, (ours.value, ours.unit) == (theirs.value, theirs.unit)))
                continue
            results.append((obj["value_name"], code, ours is not None and same(ours, theirs)))
    return results
