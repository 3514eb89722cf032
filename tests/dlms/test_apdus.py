"""ACSE and xDLMS APDUs: the known-answer table both ways, properties, block transfer, malformed input."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings

from meterkast.dlms import (
    AARQ,
    Apdu,
    ApplicationContext,
    Array,
    AttributeDescriptor,
    BlockAssembler,
    CaptureObject,
    ClassId,
    Conformance,
    CosemDateTime,
    DataAccessResult,
    DoubleLongUnsigned,
    GetRequestNormal,
    GetResponseWithDatablock,
    ObisCode,
    OctetString,
    RangeDescriptor,
    Structure,
    decode_apdu,
    encode_apdu,
    encode_data,
    split_into_blocks,
)
from meterkast.dlms.initiate import DSMR_MANAGEMENT_CONFORMANCE
from meterkast.errors import CodecError
from tests.dlms.strategies import apdus
from tests.dlms.vectors import CLOCK_COLUMN, VECTORS, Vector


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_decode_known_answer(vector: Vector) -> None:
    assert decode_apdu(vector.raw) == vector.apdu


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_encode_known_answer(vector: Vector) -> None:
    assert encode_apdu(vector.apdu) == vector.raw


def test_vector_sources_are_mostly_published() -> None:
    published = [v for v in VECTORS if v.source in {"GB", "DC"}]
    assert len(published) >= 26
    assert len(VECTORS) - len(published) <= 8


@settings(max_examples=500, deadline=None)
@given(apdus)
def test_decode_inverts_encode(apdu: Apdu) -> None:
    assert decode_apdu(encode_apdu(apdu)) == apdu


def test_conformance_bits_follow_the_green_book_numbering() -> None:
    """Bit 0 of the BIT STRING is the leftmost: 'action' (bit 23) is the last bit of the last octet."""
    assert int(Conformance.ACTION) == 0x000001
    assert int(Conformance.GENERAL_PROTECTION) == 0x400000
    assert int(DSMR_MANAGEMENT_CONFORMANCE) == 0x001A1D


def test_dsmr_profile_read_with_a_time_range() -> None:
    """Reading the hourly gas profile 0-1:24.3.0 (DSMR P3 §7.4) between two local times."""
    start = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    access = RangeDescriptor.between(start, start + dt.timedelta(days=1), CLOCK_COLUMN)
    request = GetRequestNormal(AttributeDescriptor(ClassId.PROFILE_GENERIC, ObisCode.parse("0-1:24.3.0.255"), 2),
                               access)
    raw = encode_apdu(request)
    assert raw.hex().upper().startswith("C001C100070001180300FF02" "0101" "0204" "0204120008090600000100"
                                        "00FF0F02120000" "090C07EA0B1C")
    assert decode_apdu(raw) == request
    assert isinstance(access.from_value, OctetString)
    assert CosemDateTime.decode(access.from_value.value).to_datetime() == start


def test_block_transfer_round_trip() -> None:
    rows = Array(tuple(Structure((OctetString(bytes(12)), DoubleLongUnsigned(i))) for i in range(240)))
    blocks = split_into_blocks(encode_data(rows), 200)
    assert [b.block_number for b in blocks] == list(range(1, len(blocks) + 1))
    assert [b.last_block for b in blocks] == [False] * (len(blocks) - 1) + [True]
    assembler = BlockAssembler()
    results = [assembler.add(decode_apdu(encode_apdu(b))) for b in blocks]  # type: ignore[arg-type]
    assert results[:-1] == [None] * (len(blocks) - 1)
    assert results[-1] == rows
    assert assembler.next_request_number == len(blocks)


def test_block_out_of_sequence_is_refused() -> None:
    assembler = BlockAssembler()
    with pytest.raises(CodecError, match="out of sequence"):
        assembler.add(GetResponseWithDatablock(False, 2, b"\x00"))
    with pytest.raises(CodecError, match="DATA_BLOCK_NUMBER_INVALID"):
        BlockAssembler().add(GetResponseWithDatablock(True, 1, DataAccessResult.DATA_BLOCK_NUMBER_INVALID))


def test_capture_object_and_range_shape_errors() -> None:
    bad = bytes.fromhex("C001C100070100630100FF0201" "01" "0201" "1100")  # selector 1 with a 1-element structure
    with pytest.raises(CodecError, match="range_descriptor") as caught:
        decode_apdu(bad)
    assert caught.value.offset == 14
    assert CaptureObject.from_data(CLOCK_COLUMN.to_data()) == CLOCK_COLUMN


@pytest.mark.parametrize(("wire", "offset", "reason"), [
    ("", 0, "APDU tag"),
    ("C0", 1, "service choice"),
    ("C009C1", 1, "choice 9 is not supported"),
    ("C001C1000100002B0100FF02", 12, "access-selection present"),
    ("C001C1000100002B0100FF0202", 12, "OPTIONAL flag"),
    ("C401C10105", 4, "not a known DataAccessResult"),
    ("C401C1000600001391FF", 9, "trailing"),
    ("7F00", 0, "unknown or unsupported APDU tag"),
    ("6004A1020500", 4, "application-context-name: expected BER tag 06"),
    ("6005A103060100", 6, "not a DLMS UA object identifier"),
    ("6000", 0, "without application-context-name"),
    ("600F A109060760857405080101 8A020780".replace(" ", ""), 0, "present together"),
    ("6180", 1, "indefinite"),
    ("C80430000000", 2, "ciphered content must start"),
    ("DB0401020304", 1, "system title is 8 octets"),
])
def test_malformed_apdus_name_the_offset(wire: str, offset: int, reason: str) -> None:
    with pytest.raises(CodecError) as caught:
        decode_apdu(bytes.fromhex(wire))
    assert reason in str(caught.value)
    assert caught.value.offset == offset


def test_aarq_keeps_fields_it_does_not_model() -> None:
    """called-AP-title (A2) is not modelled; it survives decode and encode in its place."""
    raw = bytes.fromhex("6023A109060760857405080101A20404020102BE10040E01000000065F1F0400007E1F04B0")
    aarq = decode_apdu(raw)
    assert isinstance(aarq, AARQ)
    assert aarq.application_context is ApplicationContext.LN
    assert aarq.other_fields == ((0xA2, bytes.fromhex("04020102")),)
    assert encode_apdu(aarq) == raw
