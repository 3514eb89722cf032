"""EN 13757-3:2013 clause 6: variable data records (DIB + VIB + data) and special functions.

Values are exact: numbers are ``Decimal`` (raw × 10^exponent, with ``Decimal.scaleb``, never a float;
a 32-bit real goes through its shortest repr), dates are ``datetime``/``date``/``time``, text is ``str``
and anything the standard leaves opaque, or that is not a valid BCD or date, stays ``bytes``, so every
record re-encodes to the bytes it came from.

Special functions (Table 7): 0Fh manufacturer data to the end, 1Fh the same with "more records follow"
(DSMR does not use it), 2Fh idle filler (DSMR P2 §5.1 pads encrypted blocks with it), 7Fh global
readout request (master to slave). 3Fh–6Fh are reserved and rejected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from meterkast.errors import RecordError
from meterkast.mbus import datatypes as dt
from meterkast.mbus.dif import FIELDS, Dib, FieldKind, Function, decode_dib, encode_dib
from meterkast.mbus.vif import Vib, VifMeaning, decode_vib, encode_vib, meaning

Value = Decimal | datetime | date | time | str | bytes | None

DIF_MANUFACTURER = 0x0F
DIF_MORE_RECORDS = 0x1F
DIF_IDLE_FILLER = 0x2F
DIF_GLOBAL_READOUT = 0x7F


@dataclass(frozen=True, slots=True)
class DataRecord:
    """One data record; ``unit``/``quantity``/``exponent`` come from the VIB tables."""

    dib: Dib
    vib: Vib
    value: Value

    @property
    def meaning(self) -> VifMeaning:
        return meaning(self.vib)

    @property
    def unit(self) -> str:
        return meaning(self.vib).unit

    @property
    def quantity(self) -> str:
        return meaning(self.vib).quantity

    @property
    def function(self) -> Function:
        return self.dib.function

    @property
    def storage(self) -> int:
        return self.dib.storage

    @property
    def tariff(self) -> int:
        return self.dib.tariff

    @property
    def subunit(self) -> int:
        return self.dib.subunit


@dataclass(frozen=True, slots=True)
class IdleFiller:
    """DIF 2Fh: one byte of padding, no record."""


@dataclass(frozen=True, slots=True)
class GlobalReadout:
    """DIF 7Fh: a master asks for all data (selection for readout)."""


@dataclass(frozen=True, slots=True)
class ManufacturerData:
    """DIF 0Fh/1Fh: manufacturer-specific bytes up to the end of the user data."""

    data: bytes
    more_records_follow: bool = False


Item = DataRecord | IdleFiller | GlobalReadout | ManufacturerData
# The hot loop builds records through the slot descriptors: the same object the frozen __init__ makes,
# at a little more than half the cost (the generated __init__ goes through object.__setattr__ per field).
_new_object = object.__new__
_set_dib = DataRecord.__dict__["dib"].__set__
_set_vib = DataRecord.__dict__["vib"].__set__
_set_value = DataRecord.__dict__["value"].__set__


def _record(dib: Dib, vib: Vib, value: Value) -> DataRecord:
    record: DataRecord = _new_object(DataRecord)
    _set_dib(record, dib)
    _set_vib(record, vib)
    _set_value(record, value)
    return record
_FILLER = IdleFiller()
_READOUT = GlobalReadout()
_TIME_DECODERS = {2: dt.decode_date_g, 3: dt.decode_time_j, 4: dt.decode_datetime_f, 6: dt.decode_datetime_i}


def decode_records(data: bytes, base: int = 0) -> tuple[Item, ...]:  # noqa: PLR0912 - inlined hot loop
    """Decode the record area; ``base`` is where ``data`` starts in the frame, for error offsets.

    The loop inlines the common case (a cached DIB+VIB, then integer or BCD data) for speed; anything
    else, and every first sighting of a block, goes through ``decode_record``."""
    items: list[Item] = []
    append = items.append
    fast_heads = _FAST_HEADS
    pos = 0
    end = len(data)
    while pos < end:
        dif = data[pos]
        if dif & 0x0F == 0x0F:
            if dif == DIF_IDLE_FILLER:
                append(_FILLER)
                pos += 1
                continue
            if dif in (DIF_MANUFACTURER, DIF_MORE_RECORDS):
                append(ManufacturerData(data[pos + 1 :], dif == DIF_MORE_RECORDS))
                break
            if dif == DIF_GLOBAL_READOUT:
                append(_READOUT)
                pos += 1
                continue
            raise RecordError(f"DIF 0x{dif:02X} is a reserved special function (EN 13757-3 Table 7)",
                              offset=base + pos)
        stop = pos
        while stop < end and data[stop] & 0x80:
            stop += 1
        stop += 1
        while stop < end and data[stop] & 0x80:
            stop += 1
        stop += 1
        fast = fast_heads.get(data[pos:stop])  # a plain-text VIF is never cached, so never found here
        if fast is not None:
            dib, vib, is_int, length, exponent = fast
            raw = data[stop : stop + length]
            if len(raw) == length:
                if is_int:
                    number = int.from_bytes(raw, "little", signed=True)
                else:
                    try:
                        number = int(raw[::-1].hex())
                    except ValueError:  # a sign nibble F or a non-decimal digit: the slow path
                        number = -1
                if number >= 0 or is_int:
                    value = Decimal(number)
                    append(_record(dib, vib, value.scaleb(exponent) if exponent else value))
                    pos = stop + length
                    continue
        record, pos = decode_record(data, pos, base)
        append(record)
    return tuple(items)


@dataclass(frozen=True, slots=True)
class _Head:
    """A decoded DIB+VIB and what the data decoder needs from the tables (cached by their bytes)."""

    dib: Dib
    vib: Vib
    kind: FieldKind
    length: int
    exponent: int
    time_point: bool


_HEADS: dict[bytes, _Head] = {}
# integer and BCD blocks again, as plain tuples (dib, vib, is_int, length, exponent) for the hot loop
_FAST_HEADS: dict[bytes, tuple[Dib, Vib, bool, int, int]] = {}
_PLAIN_TEXT = 0x7C


def _head(data: bytes, pos: int, base: int) -> tuple[_Head, int]:
    """DIB and VIB at ``pos``. Meters repeat the same few blocks, so they are cached by their bytes;
    the first sighting goes through the full decoders, which also validate (DIFE/VIFE limits, ends)."""
    end = len(data)
    stop = pos
    while stop < end and data[stop] & 0x80:
        stop += 1
    stop += 1
    if stop < end and data[stop] & 0x7F != _PLAIN_TEXT:
        while stop < end and data[stop] & 0x80:
            stop += 1
        key = data[pos : stop + 1]
        head = _HEADS.get(key)
        if head is not None:
            return head, stop + 1
    dib, after_dib = decode_dib(data, pos, base)
    vib, after_vib = decode_vib(data, after_dib, base)
    info, m = FIELDS[dib.field], meaning(vib)
    fast = info.kind in (FieldKind.INT, FieldKind.BCD) and not m.time_point
    head = _Head(dib, vib, info.kind, info.length, m.exponent, m.time_point)
    if vib.text is None and len(_HEADS) < 4096:  # bounded: random input must not grow it without end
        _HEADS[data[pos:after_vib]] = head
        if fast:
            _FAST_HEADS[data[pos:after_vib]] = (dib, vib, info.kind is FieldKind.INT, info.length, m.exponent)
    return head, after_vib


def decode_record(data: bytes, pos: int, base: int = 0) -> tuple[DataRecord, int]:
    """Decode one data record at ``data[pos]``; returns it and the position after it."""
    start = pos
    head, pos = _head(data, pos, base)
    kind = head.kind
    if kind is FieldKind.VARIABLE:
        if pos >= len(data):
            raise RecordError("premature end of data: LVAR expected", offset=base + pos)
        lvar_kind, length = dt.decode_lvar(data[pos], base + pos)
        pos += 1
        raw = data[pos : pos + length]
        if len(raw) != length:
            raise RecordError(f"premature end of data: {length} bytes of data expected", offset=base + pos)
        found = _variable_value(lvar_kind, raw, head.vib, base + start, base + pos)
        return DataRecord(head.dib, head.vib, found), pos + length
    length = head.length
    raw = data[pos : pos + length]
    if len(raw) != length:
        raise RecordError(f"premature end of data: {length} bytes of data expected", offset=base + pos)
    value: Value
    if kind is FieldKind.INT and not head.time_point:
        value = Decimal(int.from_bytes(raw, "little", signed=True))
        if head.exponent:
            value = value.scaleb(head.exponent)
    else:
        value = _fixed_value(kind, raw, head.exponent, head.time_point)
    return _record(head.dib, head.vib, value), pos + length


def decode_value(kind: FieldKind, raw: bytes, vib: Vib) -> Value:
    """The value of fixed-length data ``raw`` of field kind ``kind`` under ``vib``."""
    m = meaning(vib)
    return _fixed_value(kind, raw, m.exponent, m.time_point)


def _fixed_value(kind: FieldKind, raw: bytes, exponent: int, time_point: bool) -> Value:  # noqa: PLR0911
    if kind is FieldKind.BCD:
        number = dt.decode_bcd(raw)
        if number is None:
            return raw
        if number == 0 and raw[-1] >> 4 == 0xF:
            return Decimal("-0").scaleb(exponent)
        return Decimal(number).scaleb(exponent)
    if kind is FieldKind.INT:
        if time_point:
            decoder = _TIME_DECODERS.get(len(raw))
            if decoder is not None:
                when = decoder(raw)
                return raw if when is None else when
        return Decimal(int.from_bytes(raw, "little", signed=True)).scaleb(exponent)
    if kind is FieldKind.REAL:
        real = Decimal(repr(dt.decode_real(raw)))
        return real.scaleb(exponent) if real.is_finite() else raw
    return None


def _variable_value(kind: dt.LvarKind, raw: bytes, vib: Vib, record_at: int, offset: int) -> Value:
    if kind is dt.LvarKind.TEXT:
        return dt.decode_text(raw)
    if kind is dt.LvarKind.BINARY:
        return raw
    # The LVAR range carries the sign (C0-C9 positive, D0-D9 negative, EN 13757-3 Table 5), so every nibble
    # is a digit: a type A sign nibble F here would be a second sign, perhaps contradicting the first, so it
    # is refused rather than guessed at.
    digits = raw[::-1].hex()
    if digits and not digits.isdigit():
        raise RecordError(f"record at byte {record_at}: variable-length {kind.value} {digits.upper()} holds a "
                          "non-decimal nibble; an LVAR BCD is signed by its LVAR (C0-C9 positive, D0-D9 "
                          "negative, EN 13757-3 Table 5) and has only the digits 0-9", offset=offset)
    sign = "-" if kind is dt.LvarKind.BCD_NEGATIVE else ""
    return Decimal(f"{sign}{digits or 0}").scaleb(meaning(vib).exponent)


def encode_records(items: Iterable[Item]) -> bytes:
    out = bytearray()
    for item in items:
        out += encode_item(item)
    return bytes(out)


def encode_item(item: Item) -> bytes:
    if isinstance(item, DataRecord):
        return encode_record(item)
    if isinstance(item, IdleFiller):
        return bytes((DIF_IDLE_FILLER,))
    if isinstance(item, GlobalReadout):
        return bytes((DIF_GLOBAL_READOUT,))
    return bytes((DIF_MORE_RECORDS if item.more_records_follow else DIF_MANUFACTURER,)) + item.data


def encode_record(record: DataRecord) -> bytes:
    return encode_dib(record.dib) + encode_vib(record.vib) + encode_value(record.dib, record.vib, record.value)


def encode_value(dib: Dib, vib: Vib, value: Value) -> bytes:  # noqa: PLR0911 - one return per data kind
    info = FIELDS[dib.field]
    if info.kind in (FieldKind.NONE, FieldKind.SELECTION):
        if value is not None:
            raise RecordError(f"{info.name} carries no value, got {value!r}")
        return b""
    if info.kind is FieldKind.VARIABLE:
        return _encode_variable(vib, value)
    if isinstance(value, bytes):
        if len(value) != info.length:
            raise RecordError(f"raw value of {len(value)} bytes for {info.name} ({info.length} bytes)")
        return value
    if isinstance(value, datetime | date | time):
        return _encode_time(info.length, value)
    if not isinstance(value, Decimal):
        raise RecordError(f"{info.name} needs a Decimal, datetime or raw bytes, got {value!r}")
    raw = _unscale(value, meaning(vib).exponent)
    if info.kind is FieldKind.REAL:
        return dt.encode_real(float(raw))
    number = _integral(raw, info.name)
    if info.kind is FieldKind.BCD:
        return dt.encode_bcd(number, info.length, negative_zero=raw.is_zero() and raw.is_signed())
    return dt.encode_int(number, info.length)


def _encode_time(length: int, value: datetime | date | time) -> bytes:
    if isinstance(value, datetime):
        if length == 4:
            return dt.encode_datetime_f(value)
        if length == 6:
            return dt.encode_datetime_i(value)
    elif isinstance(value, date):
        if length == 2:
            return dt.encode_date_g(value)
    elif length == 3:
        return dt.encode_time_j(value)
    raise RecordError(f"{type(value).__name__} {value} does not fit a {length}-byte date/time type")


def _encode_variable(vib: Vib, value: Value) -> bytes:
    if isinstance(value, str):
        raw = dt.encode_text(value)
        return bytes((dt.encode_lvar(dt.LvarKind.TEXT, len(raw)),)) + raw
    if isinstance(value, bytes):
        return bytes((dt.encode_lvar(dt.LvarKind.BINARY, len(value)),)) + value
    if isinstance(value, Decimal):
        number = _integral(_unscale(value, meaning(vib).exponent), "variable-length BCD")
        kind = dt.LvarKind.BCD_NEGATIVE if value.is_signed() else dt.LvarKind.BCD_POSITIVE
        digits = len(str(abs(number)))
        raw = dt.encode_bcd(abs(number), (digits + 1) // 2)
        return bytes((dt.encode_lvar(kind, len(raw)),)) + raw
    raise RecordError(f"variable-length data needs text, bytes or a Decimal, got {value!r}")


MAX_DIGITS = 40  # more than any M-Bus field holds (REAL to 1e38, 18 BCD or 20 integer digits): refuse early,
# before a value like 1e999999 becomes a million-digit integer or overflows the decimal context


def _unscale(value: Decimal, exponent: int) -> Decimal:
    if not value.is_finite():
        raise RecordError(f"{value} is not a finite number")
    if not value.is_zero() and value.adjusted() - exponent > MAX_DIGITS:
        raise RecordError(f"{value} has more than {MAX_DIGITS} digits in steps of 1e{exponent}: no M-Bus data "
                          "field holds it")
    return value.scaleb(-exponent)


def _integral(raw: Decimal, what: str) -> int:
    if raw != raw.to_integral_value():
        raise RecordError(f"{raw} is not a whole number of steps for {what}")
    return int(raw)
