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
                and _instant(b.datetime) == _instant(o.end)
                and b.value == o.duration_s
                and b.unit == "s"
                for b, o in zip(buffer, ours, strict=True)
            )
        )
    if isinstance(theirs, list) and all(isinstance(t, MBusObjectPeak) for t in theirs):
        return (
            isinstance(ours, tuple)
            and len(theirs) == len(ours)
            and all(
                isinstance(o, MaxDemand)
                and _instant(t.datetime) == _instant(o.month)
                and _instant(t.occurred) == _instant(o.occurred)
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
