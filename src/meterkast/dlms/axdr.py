"""A-XDR encoding of the DLMS ``Data`` CHOICE (IEC 61334-6 as used by IEC 62056-5-3; DSMR P3 §3.4).

Each value is its tag octet followed by its content (DSMR P3 Table 3-5):

* fixed-size integers, enum, float32/64: big-endian, no length (IEC 61334-6 §6.1.1, §6.3);
* boolean: one octet, zero is false and any other value true (§6.2); true is encoded ``01`` (as Gurux and
  dlms-cosem do), so ``03 FF`` decodes to ``Boolean(True)`` and re-encodes as ``03 01``;
* octet-string, visible-string, utf8-string: A-XDR length, then the octets (§6.5.2);
* bit-string: A-XDR length in *bits*, then the bits packed first-bit-leftmost, unused bits zero;
* array and structure: A-XDR element count, then the elements (§6.10.2); ``01 00`` is an empty array;
* bcd: one octet, two digits; date-time/date/time [25..27]: 12/5/4 octets without a length;
* null-data and dont-care: the tag alone.

Rules this module keeps:
- ``decode_data(encode_data(v)) == v`` for every value (Hypothesis, ``tests/dlms/test_axdr.py``);
- decoding is bounded: nesting deeper than ``MAX_DEPTH`` and element counts larger than the bytes left are
  rejected before any work, so hostile input cannot exhaust the stack or memory;
- every error is a ``CodecError`` with the byte offset of the offending field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meterkast.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterkast.dlms.data import (
    FIXED_INTEGER_TYPES,
    FLOAT_TYPES,
    Array,
    Bcd,
    BitString,
    Boolean,
    DataTag,
    DateTimeValue,
    DateValue,
    DlmsData,
    DontCare,
    FixedInteger,
    FloatValue,
    NullData,
    OctetString,
    Structure,
    TimeValue,
    Utf8String,
    VisibleString,
)
from meterkast.dlms.reader import Reader, encode_length, read_whole
from meterkast.errors import CodecError

MAX_DEPTH = 32
BOOLEAN_TRUE = 0x01

_INTEGERS: dict[int, type[FixedInteger]] = {int(cls.TAG): cls for cls in FIXED_INTEGER_TYPES}
_FLOATS: dict[int, type[FloatValue]] = {int(cls.TAG): cls for cls in FLOAT_TYPES}


# ---- encoding -------------------------------------------------------------------------------------------

def _encode_bits(bits: str) -> bytes:
    padded = bits + "0" * (-len(bits) % 8)
    return bytes(int(padded[i : i + 8], 2) for i in range(0, len(padded), 8))


def _encode_content(value: DlmsData) -> bytes:
    """Everything after the tag octet."""
    if isinstance(value, FixedInteger):
        return value.value.to_bytes(value.SIZE, "big", signed=value.SIGNED)
    if isinstance(value, FloatValue):
        return value.FORMAT.pack(value.value)
    if isinstance(value, Array | Structure):
        return encode_length(len(value.items)) + b"".join(encode_data(item) for item in value.items)
    encoder = _CONTENT_ENCODERS.get(type(value))
    if encoder is None:
        raise CodecError(f"{value!r} is not a DLMS Data value")
    return encoder(value)


_CONTENT_ENCODERS: dict[type[Any], Callable[[Any], bytes]] = {
    NullData: lambda v: b"",
    DontCare: lambda v: b"",
    Boolean: lambda v: bytes((BOOLEAN_TRUE if v.value else 0,)),
    BitString: lambda v: encode_length(len(v.bits)) + _encode_bits(v.bits),
    OctetString: lambda v: _sized(v.value),
    VisibleString: lambda v: _sized(v.value.encode("ascii")),
    Utf8String: lambda v: _sized(v.value.encode("utf-8")),
    Bcd: lambda v: bytes((((v.digits // 10) << 4) | (v.digits % 10),)),
    DateTimeValue: lambda v: v.value.encode(),
    DateValue: lambda v: v.value.encode(),
    TimeValue: lambda v: v.value.encode(),
}


def _sized(content: bytes) -> bytes:
    return encode_length(len(content)) + content


def encode_data(value: DlmsData) -> bytes:
    """Tag octet and content of one ``Data`` value."""
    tag = getattr(type(value), "TAG", None)
    if tag is None:
        raise CodecError(f"{value!r} is not a DLMS Data value")
    return bytes((tag,)) + _encode_content(value)


# ---- decoding -------------------------------------------------------------------------------------------

def _read_items(reader: Reader, depth: int, what: str) -> tuple[DlmsData, ...]:
    count_at = reader.offset
    count = reader.length("element count")
    if count > reader.remaining:
        raise CodecError(f"{what} announces {count} elements but only {reader.remaining} bytes follow",
                         offset=count_at)
    return tuple([read_data(reader, depth + 1) for _ in range(count)])


def _read_bits(reader: Reader) -> BitString:
    start = reader.offset
    count = reader.length("bit-string length")
    if count > 8 * reader.remaining:
        raise CodecError(f"bit-string of {count} bits but only {reader.remaining} bytes follow", offset=start)
    packed = reader.take((count + 7) // 8, "bit-string")
    text = "".join(f"{byte:08b}" for byte in packed)
    if "1" in text[count:]:
        raise CodecError("bit-string has unused bits set; they must be zero", offset=reader.offset - 1)
    return BitString(text[:count])


def _read_text(reader: Reader, codec: str, what: str) -> str:
    start = reader.offset
    raw = reader.sized(what)
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        raise CodecError(f"{what} is not valid {codec}: byte {exc.start} of the string", offset=start) from exc


def _read_bcd(reader: Reader) -> Bcd:
    raw = reader.u8("bcd")
    high, low = raw >> 4, raw & 0x0F
    if high > 9 or low > 9:
        raise reader.fail(f"bcd octet {raw:02X} holds a nibble that is not a decimal digit", back=1)
    return Bcd(10 * high + low)


_SIMPLE_READERS: dict[int, Callable[[Reader], DlmsData]] = {
    DataTag.NULL_DATA: lambda r: NullData(),
    DataTag.DONT_CARE: lambda r: DontCare(),
    DataTag.BOOLEAN: lambda r: Boolean(r.u8("boolean") != 0),
    DataTag.BIT_STRING: _read_bits,
    DataTag.OCTET_STRING: lambda r: OctetString(r.sized("octet-string")),
    DataTag.VISIBLE_STRING: lambda r: VisibleString(_read_text(r, "ascii", "visible-string")),
    DataTag.UTF8_STRING: lambda r: Utf8String(_read_text(r, "utf-8", "utf8-string")),
    DataTag.BCD: _read_bcd,
    DataTag.DATE_TIME: lambda r: DateTimeValue(CosemDateTime.read(r)),
    DataTag.DATE: lambda r: DateValue(CosemDate.read(r)),
    DataTag.TIME: lambda r: TimeValue(CosemTime.read(r)),
}


def read_data(reader: Reader, depth: int = 0) -> DlmsData:
    """One ``Data`` value at the reader's position (used inside APDUs)."""
    if depth > MAX_DEPTH:
        raise reader.fail(f"Data nested deeper than {MAX_DEPTH} levels")
    tag = reader.u8("Data tag")
    if (integer := _INTEGERS.get(tag)) is not None:
        return integer(reader.sint(integer.SIZE, integer.__name__) if integer.SIGNED
                       else reader.uint(integer.SIZE, integer.__name__))
    if (floating := _FLOATS.get(tag)) is not None:
        raw = reader.take(floating.FORMAT.size, floating.__name__)
        return floating(floating.FORMAT.unpack(raw)[0])
    if tag == DataTag.ARRAY:
        return Array(_read_items(reader, depth, "array"))
    if tag == DataTag.STRUCTURE:
        return Structure(_read_items(reader, depth, "structure"))
    simple = _SIMPLE_READERS.get(tag)
    if simple is None:
        known = "compact-array is not supported" if tag == DataTag.COMPACT_ARRAY else "unknown Data tag"
        raise reader.fail(f"{known}: {tag} (0x{tag:02X})", back=1)
    return simple(reader)


def decode_data(data: bytes, base: int = 0) -> DlmsData:
    """Exactly one ``Data`` value; trailing bytes are an error."""
    return read_whole(data, read_data, "Data", base)
