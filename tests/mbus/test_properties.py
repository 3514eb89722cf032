"""STYLE 6: decode(encode(x)) == x for frames, headers, data types and records (Hypothesis)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from meterkast.errors import FrameError
from meterkast.mbus import datatypes as dt
from meterkast.mbus.application import Telegram, VariableData, decode_telegram, encode_telegram
from meterkast.mbus.dif import decode_dib, encode_dib
from meterkast.mbus.header import (
    LongHeader,
    ShortHeader,
    decode_long_header,
    decode_short_header,
    encode_long_header,
    encode_short_header,
)
from meterkast.mbus.link import Frame, decode_frame, encode_frame
from meterkast.mbus.records import DataRecord, Item, decode_records, encode_records
from meterkast.mbus.vif import decode_vib, encode_vib
from tests.mbus import strategies as s


@given(s.frames)
def test_frame_round_trip(frame: Frame) -> None:
    assert decode_frame(encode_frame(frame)) == frame


@given(s.long_headers)
def test_long_header_round_trip(header: LongHeader) -> None:
    assert decode_long_header(encode_long_header(header)) == header


@given(s.short_headers)
def test_short_header_round_trip(header: ShortHeader) -> None:
    assert decode_short_header(encode_short_header(header)) == header


@given(st.integers(1, 8).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(-(1 << (8 * n - 1)), (1 << (8 * n - 1)) - 1))))
def test_int_round_trip(case: tuple[int, int]) -> None:
    length, value = case
    assert dt.decode_int(dt.encode_int(value, length)) == value


@given(st.integers(1, 6).flatmap(
    lambda n: st.tuples(st.just(n), st.integers(-(10 ** (2 * n - 1) - 1), 10 ** (2 * n) - 1))))
def test_bcd_round_trip(case: tuple[int, int]) -> None:
    length, value = case
    assert dt.decode_bcd(dt.encode_bcd(value, length)) == value


@given(st.binary(min_size=1, max_size=6))
def test_bcd_bytes_round_trip_when_valid(raw: bytes) -> None:
    value = dt.decode_bcd(raw)
    if value is not None and not dt.bcd_is_negative_zero(raw):
        assert dt.encode_bcd(value, len(raw)) == raw


@given(s.records())
def test_dib_vib_round_trip(record: DataRecord) -> None:
    raw_dib, raw_vib = encode_dib(record.dib), encode_vib(record.vib)
    assert decode_dib(raw_dib, 0) == (record.dib, len(raw_dib))
    assert decode_vib(raw_vib, 0) == (record.vib, len(raw_vib))


@settings(max_examples=300)
@given(s.items())
def test_records_round_trip(items: list[Item]) -> None:
    assert decode_records(encode_records(items)) == tuple(items)


@settings(max_examples=100)
@given(s.long_headers, s.items(), st.integers(0, 250))
def test_telegram_round_trip(header: LongHeader, items: list[Item], address: int) -> None:
    telegram = Telegram(0x08, address, VariableData(0x72, header, tuple(items)))
    try:
        raw = encode_telegram(telegram)
    except FrameError:
        assume(False)  # more than 252 data bytes: not a frame
        return
    assert decode_telegram(raw) == telegram
