"""The fixed data structure of CI 73h (EN 1434-3:1997 / M-Bus user group 4.8 §6.2, kept by EN 13757-3).

16 bytes: ID (4, BCD, LSB first) | access number | status | medium/unit 1 | medium/unit 2 | counter 1 (4)
| counter 2 (4). Status bit 7: counters binary (1) or BCD (0); bit 6: stored (1) or actual (0) values.
Each medium/unit byte: bits 7–6 two bits of the medium (byte 1 low pair, byte 2 high pair), bits 5–0
the unit code of its counter (``FIXED_UNITS``, with the label the standard prints). DSMR does not use
this structure; it is here so every frame of the libmbus corpus decodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterkast.errors import RecordError
from meterkast.mbus.datatypes import decode_bcd, decode_uint, encode_bcd
from meterkast.mbus.header import decode_ident, encode_ident

FIXED_LENGTH = 16
STATUS_BINARY = 0x80
STATUS_STORED = 0x40


@dataclass(frozen=True, slots=True)
class FixedUnit:
    label: str
    unit: str
    exponent: int


def _scaled(first: int, unit: str, exponent0: int, labels: tuple[str, ...]) -> dict[int, FixedUnit]:
    return {first + n: FixedUnit(label, unit, exponent0 + n) for n, label in enumerate(labels)}


_DECADES = ("", "10 ", "100 ")
FIXED_UNITS: dict[int, FixedUnit] = {
    0x00: FixedUnit("h,m,s", "", 0),
    0x01: FixedUnit("D,M,Y", "", 0),
    **_scaled(0x02, "Wh", 0, tuple(f"{d}{p}Wh" for p in ("", "k", "M") for d in _DECADES)),
    **_scaled(0x0B, "J", 3, tuple(f"{d}{p}J" for p in ("k", "M", "G") for d in _DECADES)),
    **_scaled(0x14, "W", 0, tuple(f"{d}{p}W" for p in ("", "k", "M") for d in _DECADES)),
    **_scaled(0x1D, "J/h", 3, tuple(f"{d}{p}J/h" for p in ("k", "M", "G") for d in _DECADES)),
    **_scaled(0x26, "m³", -6, tuple(f"{d}{p}" for p in ("ml", "l", "m^3") for d in _DECADES)),
    **_scaled(0x2F, "m³/h", -6, tuple(f"{d}{p}" for p in ("ml/h", "l/h", "m^3/h") for d in _DECADES)),
    0x38: FixedUnit("1e-3 °C", "°C", -3),
    0x39: FixedUnit("units for HCA", "HCA", 0),
    **{code: FixedUnit("reserved", "", 0) for code in range(0x3A, 0x3E)},
    0x3E: FixedUnit("reserved but historic", "", 0),
    0x3F: FixedUnit("without units", "", 0),
}


@dataclass(frozen=True, slots=True)
class FixedData:
    """CI 73h user data; ``counters`` are the raw numbers (BCD or binary, as the status says)."""

    ident: str
    access: int
    status: int
    medium: int
    units: tuple[int, int]
    counters: tuple[int, int]

    @property
    def stored(self) -> bool:
        return bool(self.status & STATUS_STORED)

    def value(self, n: int) -> Decimal:
        """Counter ``n`` (0 or 1) in the unit of ``FIXED_UNITS[units[n]]``, exactly."""
        return Decimal(self.counters[n]).scaleb(FIXED_UNITS[self.units[n]].exponent)


def decode_fixed(data: bytes, base: int = 0) -> FixedData:
    if len(data) != FIXED_LENGTH:
        raise RecordError(f"fixed data structure has {FIXED_LENGTH} bytes, got {len(data)}", offset=base)
    status = data[5]
    counters = []
    for start in (8, 12):
        raw = data[start : start + 4]
        number = decode_uint(raw) if status & STATUS_BINARY else decode_bcd(raw)
        if number is None:
            raise RecordError("fixed-structure BCD counter holds a non-decimal digit", offset=base + start)
        counters.append(number)
    medium = (data[6] >> 6) | ((data[7] >> 6) << 2)
    return FixedData(decode_ident(data[0:4]), data[4], status, medium, (data[6] & 0x3F, data[7] & 0x3F),
                     (counters[0], counters[1]))


def encode_fixed(fixed: FixedData) -> bytes:
    if not 0 <= fixed.medium <= 0x0F or any(not 0 <= u <= 0x3F for u in fixed.units):
        raise RecordError("fixed structure: medium is 4 bits and each unit code 6 bits")
    out = bytearray(encode_ident(fixed.ident))
    out += bytes((fixed.access, fixed.status, fixed.units[0] | (fixed.medium & 3) << 6,
                  fixed.units[1] | (fixed.medium >> 2) << 6))
    for counter in fixed.counters:
        if fixed.status & STATUS_BINARY:
            if not 0 <= counter <= 0xFFFFFFFF:
                raise RecordError(f"binary counter {counter} does not fit 32 bits")
            out += counter.to_bytes(4, "little")
        else:
            if counter < 0:
                raise RecordError(f"BCD counter {counter} must not be negative")
            out += encode_bcd(counter, 4)
    return bytes(out)
