"""EN 13757-3:2013 clauses 5 and 6.1–6.2: CI field, fixed data headers, manufacturer and medium codes.

Long header (12 bytes, CI 72h/5Bh/6Ch/53h): ID (4, BCD, LSB first) | manufacturer (2, LSB first) |
version | medium | access number | status | configuration word (2, LSB first).
Short header (4 bytes, CI 7Ah/5Ah): access number | status | configuration word.
DSMR P2 §4.2: the Short ID is ID|MAN|VER|DEV; VER is the DSMR level (40h = 4.0); DEV 03h = gas;
configuration word bits 11–8 = encryption mode (15 = AES-128-CBC, DSMR P2 §5.1), bits 7–4 = number of
encrypted 16-byte blocks.

``ident`` is kept as the 8 hex digits of the BCD field (``"23456789"``), so wildcard nibbles (F) and
non-BCD identifiers survive a round trip; ``manufacturer`` is three letters (EN 62056-21 / FLAG packing
``(c1−64)·1024 + (c2−64)·32 + (c3−64)``) or, when bit 15 is set, four hex digits (``"FFFF"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from meterkast.errors import RecordError


class HeaderKind(Enum):
    NONE = 0
    SHORT = 4
    LONG = 12


class Layout(Enum):
    """What follows the CI field and its header."""

    RECORDS = "variable data records"
    ERROR = "application error"
    ALARM = "alarm"
    FIXED = "fixed data structure"
    RAW = "not interpreted"


@dataclass(frozen=True, slots=True)
class CiInfo:
    name: str
    header: HeaderKind
    layout: Layout
    to_device: bool


CI_TABLE: dict[int, CiInfo] = {
    0x50: CiInfo("application reset or select", HeaderKind.NONE, Layout.RAW, True),
    0x51: CiInfo("command to device (no header)", HeaderKind.NONE, Layout.RECORDS, True),
    0x52: CiInfo("selection of device (secondary address)", HeaderKind.NONE, Layout.RAW, True),
    0x53: CiInfo("application reset or select (long header)", HeaderKind.LONG, Layout.RAW, True),
    0x5A: CiInfo("command to device (short header)", HeaderKind.SHORT, Layout.RECORDS, True),
    0x5B: CiInfo("command to device (long header)", HeaderKind.LONG, Layout.RECORDS, True),
    0x6C: CiInfo("time synchronisation to device (long header)", HeaderKind.LONG, Layout.RAW, True),
    0x6D: CiInfo("time adjustment to device (long header)", HeaderKind.LONG, Layout.RAW, True),
    0x70: CiInfo("application error from device (no header)", HeaderKind.NONE, Layout.ERROR, False),
    0x71: CiInfo("alarm from device (no header)", HeaderKind.NONE, Layout.ALARM, False),
    0x72: CiInfo("response from device (long header)", HeaderKind.LONG, Layout.RECORDS, False),
    0x73: CiInfo("response from device (fixed data structure)", HeaderKind.NONE, Layout.FIXED, False),
    0x74: CiInfo("alarm from device (short header)", HeaderKind.SHORT, Layout.ALARM, False),
    0x75: CiInfo("alarm from device (long header)", HeaderKind.LONG, Layout.ALARM, False),
    0x78: CiInfo("response from device (no header)", HeaderKind.NONE, Layout.RECORDS, False),
    0x7A: CiInfo("response from device (short header)", HeaderKind.SHORT, Layout.RECORDS, False),
    **{0xB8 + n: CiInfo(f"set baud rate to {300 << n} Bd", HeaderKind.NONE, Layout.RAW, True) for n in range(8)},
}
UNKNOWN_CI = CiInfo("unknown CI field", HeaderKind.NONE, Layout.RAW, False)


def ci_info(ci: int) -> CiInfo:
    return CI_TABLE.get(ci, UNKNOWN_CI)


MEDIUM: dict[int, str] = {
    0x00: "other", 0x01: "oil", 0x02: "electricity", 0x03: "gas", 0x04: "heat (outlet)", 0x05: "steam",
    0x06: "warm water (30–90 °C)", 0x07: "water", 0x08: "heat cost allocator", 0x09: "compressed air",
    0x0A: "cooling load meter (outlet)", 0x0B: "cooling load meter (inlet)", 0x0C: "heat (inlet)",
    0x0D: "heat / cooling load meter", 0x0E: "bus / system component", 0x0F: "unknown medium",
    0x14: "calorific value", 0x15: "hot water (≥ 90 °C)", 0x16: "cold water", 0x17: "dual register water",
    0x18: "pressure", 0x19: "A/D converter", 0x1A: "smoke detector", 0x1B: "room sensor", 0x1C: "gas detector",
    0x20: "breaker (electricity)", 0x21: "valve (gas or water)", 0x25: "customer unit (display)",
    0x28: "waste water", 0x29: "garbage", 0x31: "communication controller", 0x32: "unidirectional repeater",
    0x33: "bidirectional repeater", 0x36: "radio converter (system side)", 0x37: "radio converter (meter side)",
}


def medium_name(code: int) -> str:
    return MEDIUM.get(code, "reserved")


# Security modes of the configuration word (EN 13757-7 / OMS; DSMR P2 §5.1 adds 15 = AES-128-CBC).
ENCRYPTION_MODES: dict[int, str] = {
    0: "no encryption", 2: "DES-CBC, IV 0", 3: "DES-CBC", 4: "AES-128-CBC, IV 0", 5: "AES-128-CBC, IV from header",
    7: "AES-128-CBC, IV 0 (OMS 4)", 8: "AES-128-CTR", 9: "AES-128-GCM", 10: "AES-128-CCM",
    13: "TLS", 15: "AES-128-CBC (DSMR P2 mode 15)",
}


def encryption_mode(configuration: int) -> int:
    return (configuration >> 8) & 0x0F


def encrypted_blocks(configuration: int) -> int:
    return (configuration >> 4) & 0x0F


def decode_manufacturer(code: int) -> str:
    if code & 0x8000:
        return f"{code:04X}"
    return "".join(chr(((code >> shift) & 0x1F) + 64) for shift in (10, 5, 0))


def encode_manufacturer(text: str) -> int:
    if len(text) == 4:
        try:
            return int(text, 16)
        except ValueError:
            pass
    if len(text) == 3 and all("@" <= c <= "_" for c in text):
        return ((ord(text[0]) - 64) << 10) | ((ord(text[1]) - 64) << 5) | (ord(text[2]) - 64)
    raise RecordError(f"manufacturer {text!r} must be three letters A–Z (FLAG id) or four hex digits")


def decode_ident(data: bytes) -> str:
    return data[::-1].hex().upper()


def encode_ident(ident: str) -> bytes:
    if len(ident) != 8:
        raise RecordError(f"identification {ident!r} must be 8 BCD digits (F = wildcard)")
    try:
        return bytes.fromhex(ident)[::-1]
    except ValueError as exc:
        raise RecordError(f"identification {ident!r} must be 8 hex digits") from exc


@dataclass(frozen=True, slots=True)
class LongHeader:
    """The 12-byte fixed data header (EN 13757-3 6.1, DSMR P2 §4.2)."""

    ident: str
    manufacturer: str
    version: int
    medium: int
    access: int
    status: int
    configuration: int

    @property
    def short_id(self) -> bytes:
        """ID|MAN|VER|DEV as on the wire (DSMR P2 §4.2.2); the IV and P3 attributes use it."""
        return encode_long_header(self)[:8]


@dataclass(frozen=True, slots=True)
class ShortHeader:
    """The 4-byte short header."""

    access: int
    status: int
    configuration: int


Header = LongHeader | ShortHeader


def decode_long_header(data: bytes, base: int = 0) -> LongHeader:
    if len(data) < HeaderKind.LONG.value:
        raise RecordError(f"long header needs 12 bytes, got {len(data)}", offset=base + len(data))
    return LongHeader(
        decode_ident(data[0:4]), decode_manufacturer(data[4] | data[5] << 8), data[6], data[7], data[8], data[9],
        data[10] | data[11] << 8,
    )


def encode_long_header(h: LongHeader) -> bytes:
    _check_bytes(version=h.version, medium=h.medium, access=h.access, status=h.status)
    _check_word(h.configuration)
    return (
        encode_ident(h.ident) + encode_manufacturer(h.manufacturer).to_bytes(2, "little")
        + bytes((h.version, h.medium, h.access, h.status)) + h.configuration.to_bytes(2, "little")
    )


def decode_short_header(data: bytes, base: int = 0) -> ShortHeader:
    if len(data) < HeaderKind.SHORT.value:
        raise RecordError(f"short header needs 4 bytes, got {len(data)}", offset=base + len(data))
    return ShortHeader(data[0], data[1], data[2] | data[3] << 8)


def encode_short_header(h: ShortHeader) -> bytes:
    _check_bytes(access=h.access, status=h.status)
    _check_word(h.configuration)
    return bytes((h.access, h.status)) + h.configuration.to_bytes(2, "little")


def _check_bytes(**fields: int) -> None:
    for name, value in fields.items():
        if not 0 <= value <= 0xFF:
            raise RecordError(f"header {name} {value} must be one byte (0–255)")


def _check_word(value: int) -> None:
    if not 0 <= value <= 0xFFFF:
        raise RecordError(f"configuration word {value} must be 0–0xFFFF")
