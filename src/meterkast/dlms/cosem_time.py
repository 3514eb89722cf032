"""COSEM date, time and date-time (IEC 62056-6-2 §4.1.6.1, the Blue Book formats DSMR P3 refers to).

Wire formats, all big-endian (DSMR P3 Annex C: "formatted as set in 4.1.6.1 for date_time"):

* date (5 bytes): year (long-unsigned, FFFF = not specified), month (1..12, FD = end of daylight saving,
  FE = begin of daylight saving, FF = not specified), day of month (1..31, FD = second last day, FE = last
  day, FF = not specified), day of week (1..7 with Monday = 1, FF = not specified);
* time (4 bytes): hour (0..23), minute (0..59), second (0..59), hundredths (0..99), each FF = not specified;
* date-time (12 bytes): date ‖ time ‖ deviation (long, minutes from local time to UTC, -720..720,
  8000 = not specified) ‖ clock status (unsigned, FF = not specified).

The deviation is "local time to UTC": UTC = local + deviation. A Dutch meter has time_zone = -60
(DSMR P3 §5.3 Clock) and sends -120 in summer with the daylight-saving bit set.

Rules this module keeps:
- ``None`` stands for "not specified" (FF / FFFF / 8000); the special values FD and FE are kept as ints,
  so every valid wire form decodes and re-encodes byte for byte;
- reserved values (month 13, day E0..FC, hour 24, deviation 721, …) are rejected with the offset;
- ``to_datetime`` gives an aware ``datetime`` only when every field it needs is specified, and says
  which one is missing otherwise; ``from_datetime`` takes aware datetimes only (naive → ``ClockError``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntFlag
from typing import TypeVar

from meterkast.dlms.reader import Reader, read_whole
from meterkast.errors import ClockError, CodecError, InvalidInput

NOT_SPECIFIED = 0xFF
YEAR_NOT_SPECIFIED = 0xFFFF
DEVIATION_NOT_SPECIFIED = -0x8000
MAX_DEVIATION_MIN = 720
DST_END = 0xFD  # month: end of daylight saving time
DST_BEGIN = 0xFE  # month: begin of daylight saving time
SECOND_LAST_DAY = 0xFD  # day of month
LAST_DAY = 0xFE  # day of month
DATE_SIZE = 5
TIME_SIZE = 4
DATE_TIME_SIZE = 12


class ClockStatus(IntFlag):
    """Clock status bits (§4.1.6.1); bits 4..6 are reserved and kept as they arrive."""

    INVALID_VALUE = 0x01
    DOUBTFUL_VALUE = 0x02
    DIFFERENT_CLOCK_BASE = 0x04
    INVALID_CLOCK_STATUS = 0x08
    DAYLIGHT_SAVING_ACTIVE = 0x80


# field name → (allowed plain range, allowed special values); None (not specified) is always allowed.
_RANGES: dict[str, tuple[range, frozenset[int]]] = {
    "month": (range(1, 13), frozenset({DST_END, DST_BEGIN})),
    "day": (range(1, 32), frozenset({SECOND_LAST_DAY, LAST_DAY})),
    "day_of_week": (range(1, 8), frozenset()),
    "hour": (range(24), frozenset()),
    "minute": (range(60), frozenset()),
    "second": (range(60), frozenset()),
    "hundredths": (range(100), frozenset()),
}


def _check(name: str, value: int | None) -> None:
    if value is None:
        return
    plain, special = _RANGES[name]
    if value not in plain and value not in special:
        raise InvalidInput(f"COSEM {name} {value} is out of range (IEC 62056-6-2 §4.1.6.1)")


def _byte(value: int | None) -> int:
    return NOT_SPECIFIED if value is None else value


def _field(raw: int) -> int | None:
    return None if raw == NOT_SPECIFIED else raw


_Value = TypeVar("_Value")


def _from_wire(make: Callable[..., _Value], offset: int, *fields: object) -> _Value:
    """``make(*fields)`` for fields read at ``offset``: a value it refuses is a ``CodecError`` there."""
    try:
        return make(*fields)
    except InvalidInput as exc:
        raise CodecError(str(exc), offset=offset) from exc


@dataclass(frozen=True, slots=True)
class CosemDate:
    year: int | None = None
    month: int | None = None
    day: int | None = None
    day_of_week: int | None = None

    def __post_init__(self) -> None:
        if self.year is not None and not 0 <= self.year < YEAR_NOT_SPECIFIED:
            raise InvalidInput(f"COSEM year {self.year} must be 0..65534 or None (not specified)")
        for name in ("month", "day", "day_of_week"):
            _check(name, getattr(self, name))

    def encode(self) -> bytes:
        year = YEAR_NOT_SPECIFIED if self.year is None else self.year
        return year.to_bytes(2, "big") + bytes((_byte(self.month), _byte(self.day), _byte(self.day_of_week)))

    @classmethod
    def read(cls, reader: Reader) -> CosemDate:
        start = reader.offset
        year = reader.uint(2, "date year")
        raw = reader.take(3, "date")
        return _from_wire(cls, start, None if year == YEAR_NOT_SPECIFIED else year, *map(_field, raw))

    @classmethod
    def decode(cls, data: bytes) -> CosemDate:
        return read_whole(data, cls.read, "date")

    @classmethod
    def from_date(cls, day: dt.date) -> CosemDate:
        return cls(day.year, day.month, day.day, day.isoweekday())

    def to_date(self) -> dt.date:
        if self.year is None or self.month is None or self.day is None or self.month > 12 or self.day > 31:
            raise InvalidInput(f"{self} is a pattern, not a calendar date: year, month and day must be specified")
        try:
            return dt.date(self.year, self.month, self.day)
        except ValueError as exc:  # the wire allows years 0-65534 and day 31 in any month; Python's dates do not
            raise InvalidInput(f"{self} is not a calendar date: {exc}") from exc


@dataclass(frozen=True, slots=True)
class CosemTime:
    hour: int | None = None
    minute: int | None = None
    second: int | None = None
    hundredths: int | None = None

    def __post_init__(self) -> None:
        for name in ("hour", "minute", "second", "hundredths"):
            _check(name, getattr(self, name))

    def encode(self) -> bytes:
        return bytes((_byte(self.hour), _byte(self.minute), _byte(self.second), _byte(self.hundredths)))

    @classmethod
    def read(cls, reader: Reader) -> CosemTime:
        start = reader.offset
        raw = reader.take(TIME_SIZE, "time")
        return _from_wire(cls, start, *map(_field, raw))

    @classmethod
    def decode(cls, data: bytes) -> CosemTime:
        return read_whole(data, cls.read, "time")

    @classmethod
    def from_time(cls, moment: dt.time) -> CosemTime:
        """Hundredths are the microseconds truncated to 10 ms: the wire cannot carry more."""
        return cls(moment.hour, moment.minute, moment.second, moment.microsecond // 10_000)

    def to_time(self) -> dt.time:
        if self.hour is None or self.minute is None or self.second is None:
            raise InvalidInput(f"{self} is a pattern, not a time of day: hour, minute and second must be specified")
        return dt.time(self.hour, self.minute, self.second, 10_000 * (self.hundredths or 0))


@dataclass(frozen=True, slots=True)
class CosemDateTime:
    date: CosemDate
    time: CosemTime
    deviation: int | None = None  # minutes from local time to UTC (UTC = local + deviation)
    clock_status: ClockStatus | None = None

    def __post_init__(self) -> None:
        if self.deviation is not None and not -MAX_DEVIATION_MIN <= self.deviation <= MAX_DEVIATION_MIN:
            raise InvalidInput(f"COSEM deviation {self.deviation} min must be -720..720 or None (not specified)")
        if self.clock_status is not None and not 0 <= self.clock_status < NOT_SPECIFIED:
            raise InvalidInput(f"clock status {int(self.clock_status)} must be 0..254 or None (not specified)")

    def encode(self) -> bytes:
        deviation = DEVIATION_NOT_SPECIFIED if self.deviation is None else self.deviation
        status = NOT_SPECIFIED if self.clock_status is None else int(self.clock_status)
        return self.date.encode() + self.time.encode() + deviation.to_bytes(2, "big", signed=True) + bytes((status,))

    @classmethod
    def read(cls, reader: Reader) -> CosemDateTime:
        day = CosemDate.read(reader)
        moment = CosemTime.read(reader)
        start = reader.offset
        deviation = reader.sint(2, "date-time deviation")
        status = reader.u8("date-time clock status")
        return _from_wire(cls, start, day, moment, None if deviation == DEVIATION_NOT_SPECIFIED else deviation,
                          None if status == NOT_SPECIFIED else ClockStatus(status))

    @classmethod
    def decode(cls, data: bytes) -> CosemDateTime:
        return read_whole(data, cls.read, "date-time")

    @classmethod
    def from_datetime(cls, moment: dt.datetime, clock_status: ClockStatus | None = None) -> CosemDateTime:
        """An aware datetime as the meter sends it; the DST bit follows ``moment.dst()``."""
        offset = moment.utcoffset()
        if offset is None:
            raise ClockError(f"{moment.isoformat()} is naive: a COSEM date-time needs its UTC offset")
        minutes, rest = divmod(offset, dt.timedelta(minutes=1))
        if rest:
            raise InvalidInput(f"UTC offset {offset} of {moment.isoformat()} is not a whole number of minutes")
        status = ClockStatus(0) if clock_status is None else clock_status
        if moment.dst():
            status |= ClockStatus.DAYLIGHT_SAVING_ACTIVE
        return cls(CosemDate.from_date(moment.date()), CosemTime.from_time(moment.time()), -minutes, status)

    def to_datetime(self) -> dt.datetime:
        """The aware datetime this stands for; fields that are patterns or unspecified raise ``InvalidInput``."""
        if self.deviation is None:
            raise InvalidInput(f"{self} has no deviation (8000): its UTC offset is unknown")
        zone = dt.timezone(dt.timedelta(minutes=-self.deviation))
        return dt.datetime.combine(self.date.to_date(), self.time.to_time(), zone)
