"""A-XDR ``Data``: one vector table for both directions, the length forms, properties and error offsets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from meterkast.dlms import (
    Array,
    Bcd,
    BitString,
    Boolean,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DateTimeValue,
    DateValue,
    DlmsData,
    DontCare,
    DoubleLong,
    DoubleLongUnsigned,
    EnumValue,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    TimeValue,
    Unsigned,
    Utf8String,
    VisibleString,
    decode_data,
    encode_data,
)
from meterkast.dlms.cosem_time import ClockStatus
from meterkast.dlms.reader import Reader, encode_length
from meterkast.errors import CodecError, InvalidInput
from tests.dlms.strategies import data_values

# (value, wire hex); the first rows are DSMR P3 Table 3-5's explicit examples.
DATA_VECTORS: list[tuple[DlmsData, str]] = [
    (OctetString(b""), "0900"),  # "An empty octet string shall be encoded as H'09 … H'00"
    (Array(()), "0100"),  # "An array[0] shall be encoded as H'01 … H'00"
    (NullData(), "00"),
    (DontCare(), "FF"),
    (Boolean(True), "0301"),
    (Boolean(False), "0300"),
    (BitString("1010000011"), "040AA0C0"),
    (DoubleLong(-2), "05FFFFFFFE"),
    (DoubleLongUnsigned(5009), "0600001391"),
    (OctetString(bytes.fromhex("0000010000FF")), "09060000010000FF"),
    (VisibleString("ABC"), "0A03414243"),
    (Utf8String("m³"), "0C036DC2B3"),
    (Bcd(42), "0D42"),
    (Integer(-1), "0FFF"),
    (Long(-300), "10FED4"),
    (Unsigned(200), "11C8"),
    (LongUnsigned(4059), "120FDB"),
    (Long64(-1), "14FFFFFFFFFFFFFFFF"),
    (Long64Unsigned(1 << 40), "150000010000000000"),
    (EnumValue(27), "161B"),
    (Float32(1.5), "173FC00000"),
    (Float64(-0.25), "18BFD0000000000000"),
    (DateTimeValue(CosemDateTime(CosemDate(2026, 11, 29, 7), CosemTime(22, 5, 0, 0), -60, ClockStatus(0))),
     "1907EA0B1D0716050000FFC400"),
    (DateValue(CosemDate(None, 0xFE, 0xFE, 7)), "1AFFFFFEFE07"),  # last Sunday of DST-begin month: a pattern
    (TimeValue(CosemTime(2, 0, None, None)), "1B0200FFFF"),
    # DSMR M-Bus capture: structure {value, capture time}, as 0-1:24.2.1 buffer rows hold them
    (Structure((DoubleLongUnsigned(12345), OctetString(bytes.fromhex("07EA0B1D07160B00FFFFC400")))),
     "0202060000303909 0C07EA0B1D07160B00FFFFC400".replace(" ", "")),
]


@pytest.mark.parametrize(("value", "wire"), DATA_VECTORS, ids=[type(v).__name__ for v, _ in DATA_VECTORS])
def test_vector_both_directions(value: DlmsData, wire: str) -> None:
    raw = bytes.fromhex(wire)
    assert encode_data(value) == raw
    assert decode_data(raw) == value


@pytest.mark.parametrize(("length", "wire"), [(0, "00"), (127, "7F"), (128, "8180"), (255, "81FF"), (256, "820100"),
                                              (0x10000, "83010000")])
def test_length_short_and_long_form(length: int, wire: str) -> None:
    assert encode_length(length) == bytes.fromhex(wire)
    assert Reader(bytes.fromhex(wire)).length("length") == length


def test_long_octet_string_uses_long_form() -> None:
    raw = encode_data(OctetString(bytes(300)))
    assert raw[:4] == bytes.fromhex("09 82 01 2C")
    assert decode_data(raw) == OctetString(bytes(300))


def test_boolean_any_non_zero_is_true() -> None:
    assert decode_data(bytes.fromhex("03FF")) == Boolean(True)


@settings(max_examples=400, deadline=None)
@given(data_values)
def test_decode_inverts_encode(value: DlmsData) -> None:
    assert decode_data(encode_data(value)) == value


@pytest.mark.parametrize(("wire", "offset", "reason"), [
    ("0600", 1, "needs 4 bytes"),  # truncated double-long-unsigned
    ("0905AABB", 2, "needs 5 bytes"),
    ("0203 1101 1102".replace(" ", ""), 6, "needs 1 byte"),  # structure announces 3, holds 2
    ("0105", 1, "announces 5 elements"),
    ("8100", 0, "unknown Data tag"),
    ("1300", 0, "compact-array is not supported"),
    ("0D4A", 1, "not a decimal digit"),
    ("0A01C3", 1, "not valid ascii"),
    ("0403E1", 2, "unused bits set"),
    ("81", 0, "unknown Data tag"),
    ("0980", 1, "long-form length"),
    ("098105" + "00" * 5, 1, "shortest form"),
    ("1907EA0D01FF000000FF800000", 1, "month 13"),
    ("11 05 00".replace(" ", ""), 2, "trailing"),
])
def test_errors_name_the_offset(wire: str, offset: int, reason: str) -> None:
    with pytest.raises(CodecError) as caught:
        decode_data(bytes.fromhex(wire))
    assert caught.value.offset == offset
    assert reason in str(caught.value)


def test_nesting_is_bounded() -> None:
    with pytest.raises(CodecError, match="nested deeper"):
        decode_data(bytes.fromhex("0101" * 40 + "00"))


@pytest.mark.parametrize("make", [lambda: Unsigned(256), lambda: Integer(-129), lambda: LongUnsigned(-1),
                                  lambda: Bcd(100), lambda: Float32(0.1), lambda: VisibleString("é"),
                                  lambda: BitString("012"), lambda: Unsigned(True)])
def test_values_the_wire_cannot_carry_are_refused(make: object) -> None:
    with pytest.raises(InvalidInput):
        make()  # type: ignore[operator]


def test_type_is_part_of_the_value() -> None:
    assert Unsigned(5) != LongUnsigned(5)  # type: ignore[comparison-overlap]  # the point of the test
    assert encode_data(Unsigned(5)) != encode_data(EnumValue(5))
