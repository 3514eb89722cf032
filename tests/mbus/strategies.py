"""Hypothesis strategies for M-Bus values, records, headers and frames (shared by the property tests)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from hypothesis import strategies as st

from meterkast.mbus import dif
from meterkast.mbus.dif import Dib, Function
from meterkast.mbus.header import LongHeader, ShortHeader
from meterkast.mbus.link import ControlFrame, LongFrame, ShortFrame
from meterkast.mbus.records import DataRecord, GlobalReadout, IdleFiller, Item, ManufacturerData
from meterkast.mbus.vif import Vib, meaning

NUMERIC_VIBS = [Vib(0x03), Vib(0x06), Vib(0x13), Vib(0x14), Vib(0x2B), Vib(0x3B), Vib(0x5A), Vib(0x78),
                Vib(0x7D, (0x17,)), Vib(0x7D, (0x08,)), Vib(0x7D, (0x48,)), Vib(0x7B, (0x10,)),
                Vib(0x13, (0x3A,)), Vib(0x06, (0x74,)), Vib(0x14, (0x7D,)), Vib(0x7F, (0x01, 0x02)),
                Vib(0x7C, (), "%RH"), Vib(0x7C, (0x74,), "kvarh")]
INT_LENGTHS = {dif.INT8: 1, dif.INT16: 2, dif.INT24: 3, dif.INT32: 4, dif.INT48: 6, dif.INT64: 8}
BCD_LENGTHS = {dif.BCD2: 1, dif.BCD4: 2, dif.BCD6: 3, dif.BCD8: 4, dif.BCD12: 6}


@st.composite
def dibs(draw: st.DrawFn, field: int) -> Dib:
    difes = draw(st.integers(0, 10))
    return Dib(
        field, draw(st.sampled_from(list(Function))), draw(st.integers(0, (1 << (1 + 4 * difes)) - 1)),
        draw(st.integers(0, (1 << (2 * difes)) - 1)), draw(st.integers(0, (1 << difes) - 1)), difes,
    )


@st.composite
def numeric_records(draw: st.DrawFn) -> DataRecord:
    vib = draw(st.sampled_from(NUMERIC_VIBS))
    exponent = meaning(vib).exponent
    kind = draw(st.sampled_from(["int", "bcd", "real"]))
    if kind == "int":
        field, length = draw(st.sampled_from(sorted(INT_LENGTHS.items())))
        bits = 8 * length
        raw = Decimal(draw(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)))
    elif kind == "bcd":
        field, length = draw(st.sampled_from(sorted(BCD_LENGTHS.items())))
        raw = Decimal(draw(st.integers(-(10 ** (2 * length - 1) - 1), 10 ** (2 * length) - 1)))
    else:
        field = dif.REAL32
        raw = Decimal(repr(draw(st.floats(width=32, allow_nan=False, allow_infinity=False))))
    return DataRecord(draw(dibs(field)), vib, raw.scaleb(exponent))


@st.composite
def time_records(draw: st.DrawFn) -> DataRecord:
    which = draw(st.sampled_from(["G", "F", "I", "J"]))
    years = {"min_value": datetime(1981, 1, 1), "max_value": datetime(2080, 12, 31, 23, 59, 59)}
    if which == "G":
        return DataRecord(draw(dibs(dif.INT16)), Vib(0x6C), draw(st.dates(date(1981, 1, 1), date(2080, 12, 31))))
    if which == "F":
        when = draw(st.datetimes(**years)).replace(second=0, microsecond=0)
        return DataRecord(draw(dibs(dif.INT32)), Vib(0x6D), when)
    if which == "I":
        return DataRecord(draw(dibs(dif.INT48)), Vib(0x6D), draw(st.datetimes(**years)).replace(microsecond=0))
    return DataRecord(draw(dibs(dif.INT24)), Vib(0x6D), draw(st.times()).replace(microsecond=0))


@st.composite
def variable_records(draw: st.DrawFn) -> DataRecord:
    value = draw(st.one_of(
        st.text(st.characters(max_codepoint=255), max_size=40),
        st.binary(max_size=15),
        st.sampled_from([b"\x01" * 16, b"\x02" * 32, b"\x03" * 64]),
        st.integers(-(10**18) + 1, 10**18 - 1).map(Decimal),  # LVAR C9h/D9h: at most 18 digits
    ))
    if isinstance(value, Decimal) and value.is_zero():
        value = Decimal(1)
    return DataRecord(draw(dibs(dif.VARIABLE)), Vib(0x7D, (0x0C,)), value)


def records() -> st.SearchStrategy[DataRecord]:
    return st.one_of(numeric_records(), time_records(), variable_records(),
                     dibs(dif.NO_DATA).map(lambda d: DataRecord(d, Vib(0x13), None)))


def items() -> st.SearchStrategy[list[Item]]:
    body: st.SearchStrategy[list[Item]] = st.lists(
        st.one_of(records(), st.just(IdleFiller()), st.just(GlobalReadout())), max_size=8)
    tail = st.one_of(st.just(None), st.builds(ManufacturerData, st.binary(max_size=20), st.booleans()))
    return st.tuples(body, tail).map(lambda bt: bt[0] + ([bt[1]] if bt[1] is not None else []))


byte = st.integers(0, 255)
hex_ident = st.text("0123456789ABCDEF", min_size=8, max_size=8)
manufacturer = st.one_of(
    st.text("".join(chr(c) for c in range(64, 96)), min_size=3, max_size=3),
    st.integers(0x8000, 0xFFFF).map(lambda m: f"{m:04X}"),
)
long_headers = st.builds(LongHeader, hex_ident, manufacturer, byte, byte, byte, byte, st.integers(0, 0x00FF))
short_headers = st.builds(ShortHeader, byte, byte, st.integers(0, 0x00FF))
frames = st.one_of(
    st.builds(ShortFrame, byte, byte),
    st.builds(ControlFrame, byte, byte, byte),
    st.builds(LongFrame, byte, byte, byte, st.binary(min_size=1, max_size=252)),
)
_ = time  # times() strategies come from hypothesis; the import documents the value type
