"""The BER subset the ACSE APDUs need (ISO/IEC 8825-1, as DSMR P3 §3.4 and IEC 62056-5-3 prescribe).

"ACSE APDUs (used in Application Associations) are coded in BER" (DSMR P3 §3.4). Only definite lengths
occur: short form below 128, long form ``81 xx`` / ``82 xx xx`` above. Tags are kept as the integer of
their octets (``0xA1``, or ``0x5F1F`` for [APPLICATION 31], the conformance block), so a high tag number
(low five bits 11111, then base-128 octets) round-trips.

Rules this module keeps: an indefinite length (``80``), a length longer than the bytes left, a long form
that a shorter one could carry and a truncated tag are ``CodecError`` with the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterkast.dlms.reader import Reader
from meterkast.errors import CodecError

HIGH_TAG_NUMBER = 0x1F
MAX_TAG_OCTETS = 4
MAX_LENGTH_OCTETS = 3

# The DLMS UA object identifier arc {2 16 756 5 8} (IEC 62056-5-3): application context names are
# PREFIX 01 x, authentication mechanism names PREFIX 02 x.
DLMS_UA_OID_PREFIX = bytes.fromhex("6085740508")


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    if size > MAX_LENGTH_OCTETS:
        raise CodecError(f"BER length {length} is too large for an ACSE APDU")
    return bytes((0x80 | size,)) + length.to_bytes(size, "big")


def encode_tag(tag: int) -> bytes:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_tlv(tag: int, content: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(content)) + content


@dataclass(frozen=True, slots=True)
class Tlv:
    tag: int
    content: bytes
    offset: int  # absolute offset of the content's first byte

    def reader(self) -> Reader:
        return Reader(self.content, self.offset)


def read_tag(reader: Reader) -> int:
    start = reader.offset
    first = reader.u8("BER tag")
    tag = first
    if first & HIGH_TAG_NUMBER == HIGH_TAG_NUMBER:
        for _ in range(MAX_TAG_OCTETS):
            octet = reader.u8("BER tag number")
            tag = tag << 8 | octet
            if not octet & 0x80:
                break
        else:
            raise CodecError("BER tag number longer than 4 octets", offset=start)
    return tag


def read_length(reader: Reader) -> int:
    start = reader.offset
    first = reader.u8("BER length")
    if first < 0x80:
        return first
    size = first & 0x7F
    if size == 0:
        raise CodecError("indefinite BER length (80) is not allowed in DLMS ACSE APDUs", offset=start)
    if size > MAX_LENGTH_OCTETS:
        raise CodecError(f"BER length of {size} octets is too large", offset=start)
    value = reader.uint(size, "BER length")
    if len(encode_length(value)) != 1 + size:
        raise CodecError(f"BER length {value} is not in its shortest form", offset=start)
    return value


def read_tlv(reader: Reader) -> Tlv:
    tag = read_tag(reader)
    length = read_length(reader)
    start = reader.offset
    return Tlv(tag, reader.take(length, f"content of BER tag {tag:X}"), start)


def read_all(reader: Reader) -> list[Tlv]:
    items: list[Tlv] = []
    while not reader.at_end():
        items.append(read_tlv(reader))
    return items


def expect_tlv(data: Tlv, tag: int, what: str) -> Tlv:
    """The single TLV inside ``data`` (an EXPLICIT wrapper), which must carry ``tag``."""
    reader = data.reader()
    inner = read_tlv(reader)
    if inner.tag != tag:
        raise CodecError(f"{what}: expected BER tag {tag:02X}, got {inner.tag:02X}", offset=data.offset)
    reader.expect_end(what)
    return inner
