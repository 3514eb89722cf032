"""EN 13757-3:2013 Annex A data types: integers (B), BCD (A), real (H), date/time (F, G, I, J), LVAR.

Rules this module keeps:
- every ``decode_*`` has an ``encode_*``; ``decode(encode(v)) == v`` always, and ``encode(decode(b)) == b``
  except for the date flags named below;
- integers are little-endian two's complement (type B) of 1, 2, 3, 4, 6 or 8 bytes;
- BCD is little-endian, two digits per byte; a high nibble ``F`` in the most significant byte marks a
  negative number (type A, EN 13757-3 Annex A); any other non-decimal nibble makes the BCD invalid and
  ``decode_bcd`` returns ``None`` (the caller keeps the raw bytes);
- date/time types decode to naive ``datetime``/``date``/``time`` (M-Bus carries no zone; DSMR P2 §6.4.3
  says UTC) when the bytes hold a valid date and the invalid (IV) bit is clear; otherwise ``None`` and
  the caller keeps the raw bytes. Years: 0–99 plus, in type F, the hundred-year bits (1900 + 100·HY + y);
  without them 81–99 are 1981–1999 and 0–80 are 2000–2080 (Annex A note on two-digit meters). Flags
  that a ``datetime`` cannot carry (summer time, day of week, week) are dropped, and the encoder writes
  the canonical form (HY = 0 for 1981–2080), so a frame with such flags does not re-encode byte for byte.
- LVAR (EN 13757-3 Table 5): 00–BF text of that many bytes, C0–C9 positive BCD and D0–D9 negative BCD
  of 2·(LVAR−C0/D0) digits, E0–EF binary of LVAR−E0 bytes, F0–F4 binary of 4·(LVAR−ECh) bytes, F5 48
  and F6 64 bytes of binary; F7–FF are reserved and rejected.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum

from meterkast.errors import RecordError

_REAL = struct.Struct("<f")
TWO_DIGIT_PIVOT = 80
MAX_YEAR_FIELD = 99
MAX_TEXT = 0xBF


def decode_int(data: bytes) -> int:
    """Type B: signed little-endian integer."""
    return int.from_bytes(data, "little", signed=True)


def encode_int(value: int, length: int) -> bytes:
    try:
        return value.to_bytes(length, "little", signed=True)
    except OverflowError as exc:
        raise RecordError(f"integer {value} does not fit a {8 * length}-bit signed field") from exc


def decode_uint(data: bytes) -> int:
    """Type C: unsigned little-endian integer (headers, bit fields)."""
    return int.from_bytes(data, "little")


def decode_bcd(data: bytes) -> int | None:
    """Type A: BCD, LSB first; ``None`` when a nibble is not a decimal digit (other than a sign F)."""
    text = data[::-1].hex()
    negative = text[:1] == "f"
    if negative:
        text = text[1:]
    if not text.isdigit():
        return None
    value = int(text)
    return -value if negative else value


def encode_bcd(value: int, length: int, *, negative_zero: bool = False) -> bytes:
    """Type A with ``length`` bytes; a negative number puts ``F`` in the most significant nibble."""
    digits = 2 * length
    negative = value < 0 or negative_zero
    text = "f" + str(-value).rjust(digits - 1, "0") if negative else str(value).rjust(digits, "0")
    if len(text) > digits:
        raise RecordError(f"{value} does not fit {digits} BCD digits")
    return bytes.fromhex(text)[::-1]


def bcd_is_negative_zero(data: bytes) -> bool:
    return data[-1] >> 4 == 0xF and decode_bcd(data) == 0


def decode_real(data: bytes) -> float:
    """Type H: IEEE 754 single precision, little-endian."""
    return float(_REAL.unpack(data)[0])


def encode_real(value: float) -> bytes:
    try:
        return _REAL.pack(value)
    except OverflowError as exc:
        raise RecordError(f"{value} does not fit a 32-bit real") from exc


def _year(y: int, hundreds: int = 0) -> int:
    """EN 13757-3 Annex A: year 0–99; with no hundred-year bits 81–99 mean 1981–1999 (two-digit meters)."""
    if hundreds:
        return 1900 + 100 * hundreds + y
    return 1900 + y if y > TWO_DIGIT_PIVOT else 2000 + y


def _year_field(low: int, high: int) -> int:
    return (low >> 5) | ((high & 0xF0) >> 1)


def _year_bits(year: int, *, hundreds_allowed: bool = False) -> tuple[int, int, int]:
    """(low bits for the day byte, high bits for the month byte, hundred-year field)."""
    if 1900 + TWO_DIGIT_PIVOT < year <= 2000 + TWO_DIGIT_PIVOT:
        y, hundreds = year % 100, 0
    elif hundreds_allowed and 2000 + TWO_DIGIT_PIVOT < year < 2300:
        y, hundreds = year % 100, (year - 1900) // 100
    else:
        raise RecordError(f"year {year} cannot be coded in this M-Bus date type")
    return (y & 0x07) << 5, (y & 0x78) << 1, hundreds


def decode_date_g(data: bytes) -> date | None:
    """Type G (2 bytes): day, month, year; ``None`` when not a valid date (e.g. all zero)."""
    y = _year_field(data[0], data[1])
    if y > MAX_YEAR_FIELD:
        return None
    try:
        return date(_year(y), data[1] & 0x0F, data[0] & 0x1F)
    except ValueError:
        return None


def encode_date_g(value: date) -> bytes:
    low, high, _ = _year_bits(value.year)
    return bytes((value.day | low, value.month | high))


def decode_datetime_f(data: bytes) -> datetime | None:
    """Type F (4 bytes): minute, hour, day, month, year; ``None`` when the IV bit is set or invalid.

    The summer-time flag (byte 1 bit 7) and reserved bit (byte 0 bit 6) are not kept."""
    y = _year_field(data[2], data[3])
    if data[0] & 0x80 or y > MAX_YEAR_FIELD:
        return None
    try:
        return datetime(_year(y, (data[1] >> 5) & 0x03), data[3] & 0x0F, data[2] & 0x1F, data[1] & 0x1F,
                        data[0] & 0x3F)
    except ValueError:
        return None


def encode_datetime_f(value: datetime) -> bytes:
    low, high, hundreds = _year_bits(value.year, hundreds_allowed=True)
    return bytes((value.minute, value.hour | hundreds << 5, value.day | low, value.month | high))


def decode_datetime_i(data: bytes) -> datetime | None:
    """Type I (6 bytes): second, minute, hour, day, month, year; ``None`` when IV is set or invalid.

    Day of week, week number and the daylight-saving fields are not kept (DSMR P2 §6.2.1 codes them 0)."""
    y = _year_field(data[3], data[4])
    if data[1] & 0x80 or y > MAX_YEAR_FIELD:
        return None
    try:
        return datetime(_year(y), data[4] & 0x0F, data[3] & 0x1F, data[2] & 0x1F, data[1] & 0x3F, data[0] & 0x3F)
    except ValueError:
        return None


def encode_datetime_i(value: datetime) -> bytes:
    low, high, _ = _year_bits(value.year)
    return bytes((value.second, value.minute, value.hour, value.day | low, value.month | high, 0))


def decode_time_j(data: bytes) -> time | None:
    """Type J (3 bytes): second, minute, hour."""
    try:
        return time(data[2] & 0x1F, data[1] & 0x3F, data[0] & 0x3F)
    except ValueError:
        return None


def encode_time_j(value: time) -> bytes:
    return bytes((value.second, value.minute, value.hour))


def time_fields(data: bytes) -> tuple[int, ...]:
    """(year field, month, day, hour, minute, second) as the raw bits say, valid or not (for display)."""
    if len(data) == 2:
        return (_year_field(data[0], data[1]), data[1] & 0x0F, data[0] & 0x1F, 0, 0, 0)
    if len(data) == 4:
        return (_year_field(data[2], data[3]), data[3] & 0x0F, data[2] & 0x1F, data[1] & 0x1F, data[0] & 0x3F, 0)
    if len(data) == 6:
        return (_year_field(data[3], data[4]), data[4] & 0x0F, data[3] & 0x1F, data[2] & 0x1F, data[1] & 0x3F,
                data[0] & 0x3F)
    return (0, 0, 0, data[2] & 0x1F, data[1] & 0x3F, data[0] & 0x3F) if len(data) == 3 else ()


class LvarKind(Enum):
    TEXT = "text"
    BCD_POSITIVE = "positive BCD"
    BCD_NEGATIVE = "negative BCD"
    BINARY = "binary"


@dataclass(frozen=True, slots=True)
class LvarRange:
    """One row of EN 13757-3 Table 5: LVAR bytes ``first``..``last``; data length = step·(LVAR−base)."""

    first: int
    last: int
    kind: LvarKind
    base: int
    step: int = 1


LVAR_TABLE = (
    LvarRange(0x00, 0xBF, LvarKind.TEXT, 0x00),
    LvarRange(0xC0, 0xC9, LvarKind.BCD_POSITIVE, 0xC0),
    LvarRange(0xD0, 0xD9, LvarKind.BCD_NEGATIVE, 0xD0),
    LvarRange(0xE0, 0xEF, LvarKind.BINARY, 0xE0),
    LvarRange(0xF0, 0xF4, LvarKind.BINARY, 0xEC, 4),
    LvarRange(0xF5, 0xF5, LvarKind.BINARY, 0xF5 - 48),
    LvarRange(0xF6, 0xF6, LvarKind.BINARY, 0xF6 - 64),
)
_LVAR: dict[int, tuple[LvarKind, int]] = {
    b: (row.kind, row.step * (b - row.base)) for row in LVAR_TABLE for b in range(row.first, row.last + 1)
}
_LVAR_BYTE: dict[tuple[LvarKind, int], int] = {}
for _byte, _key in sorted(_LVAR.items(), reverse=True):
    _LVAR_BYTE[_key] = _byte  # the lowest LVAR byte wins where two rows give the same length


def decode_lvar(lvar: int, offset: int | None = None) -> tuple[LvarKind, int]:
    """The kind and byte length of the data after an LVAR byte."""
    found = _LVAR.get(lvar)
    if found is None:
        raise RecordError(f"LVAR 0x{lvar:02X} is reserved (EN 13757-3 Table 5)", offset=offset)
    return found


def encode_lvar(kind: LvarKind, length: int) -> int:
    found = _LVAR_BYTE.get((kind, length))
    if found is None:
        raise RecordError(f"{kind.value} of {length} bytes has no LVAR code (EN 13757-3 Table 5)")
    return found


def decode_text(data: bytes) -> str:
    """LVAR text is sent last character first (EN 13757-3 Annex A; DSMR P2 App. B1.5)."""
    return data[::-1].decode("latin-1")


def encode_text(value: str) -> bytes:
    try:
        return value.encode("latin-1")[::-1]
    except UnicodeEncodeError as exc:
        raise RecordError(f"text {value!r} is not Latin-1") from exc
