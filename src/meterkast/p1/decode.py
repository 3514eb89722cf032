"""Decode a P1 telegram into a ``Telegram`` ([P1-4.2.2 §5.2, §5.9–5.12], [P1-5.0.2 §6], [P1-3.0 §5]).

One decoder reads every dialect dsmr_parser reads (DSMR 2.2, 3, 4.x, 5, Fluvius e-MUCS, EasyMeter Q3D,
Iskra IE, E.ON Hungary, Sagemcom T210-D-R): the OBIS table says what each code is, and no code means
different things in different dialects, so no version has to be chosen first.

How it stays fast (benchmarks/bench_p1_parse.py): one precompiled regular expression splits the whole
body into lines in a single ``findall`` pass and already separates the common one-number lines into
(code, number, unit); a dict built once from the OBIS table maps each code straight to its decode
function; the CRC is the big-int parity method of ``crc.py``. Every value is fully converted
(Decimal, aware datetime) before ``decode_telegram`` returns: nothing is deferred.

Rules it keeps:
- a CRC mismatch is reported in ``Telegram.crc_ok``; ``strict=True`` raises ChecksumError instead;
- an unknown OBIS line is kept as ``RawValue``; a line that cannot be read raises RecordError naming
  its line number and text, or with ``lenient=True`` is listed in ``Telegram.errors``;
- only MeterkastError subclasses escape (the fuzz tests hold it to that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from meterkast.errors import ChecksumError, FrameError, RecordError
from meterkast.p1.crc import crc16, parse_crc
from meterkast.p1.obis import CHANNELS, TABLE, Layout, channel_code
from meterkast.p1.telegram import Header, LineError, MbusDevice, Telegram
from meterkast.p1.timestamps import decode_tst, decode_tst12, decode_tst_or_none
from meterkast.p1.values import (
    CapturedValue,
    GasProfile,
    MaxDemand,
    PowerFailure,
    Quantity,
    RawValue,
    Value,
)

Decoder = Callable[[str, str, str], Value]

# code, then either (number)(*unit) in one group, or any groups (with 2.2/3 continuation lines),
# or — second alternative — any other non-empty line, which is reported as bad.
LINE = re.compile(
    r"^(\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3})(?:[*.]\d{1,3})?"
    r"(?:\((-?\d{1,24}(?:\.\d{1,24})?)(?:\*([A-Za-z0-9]{1,12}))?\)"
    r"|((?:\([^()\r\n]*\))+(?:\r?\n\([^()\r\n]*\))*))\r?$"
    r"|^([^\r\n]+)",
    re.MULTILINE | re.ASCII,
)
_NUMBER = re.compile(r"-?\d{1,24}(?:\.\d{1,24})?", re.ASCII)
_UNIT = re.compile(r"[A-Za-z0-9]{0,12}", re.ASCII)


def _split(groups: str) -> list[str]:
    if not groups:
        return []
    if "\n" in groups:
        groups = groups.replace("\r\n", "").replace("\n", "")
    return groups[1:-1].split(")(")


def _single(num: str, unit: str, groups: str) -> str:
    if not groups:
        return f"{num}*{unit}" if unit else num
    parts = _split(groups)
    if len(parts) != 1:
        raise RecordError(f"expected one value group, found {len(parts)}")
    return parts[0]


def _number(text: str) -> tuple[Decimal, str | None]:
    value, _, unit = text.partition("*")
    if not _NUMBER.fullmatch(value) or not _UNIT.fullmatch(unit):
        raise RecordError(f"{text!r} is not a number with an optional *unit")
    return Decimal(value), unit or None


def _register(num: str, unit: str, groups: str) -> Value:
    if num:
        return Quantity(Decimal(num), unit or None)
    return Quantity(*_number(_single(num, unit, groups)))


def _int(text: str) -> int:
    if not text.isdecimal():
        raise RecordError(f"{text!r} is not an unsigned integer")
    return int(text)


def _count(num: str, unit: str, groups: str) -> Value:
    if unit:
        raise RecordError(f"a count has no unit, found *{unit}")
    return _int(num if num else _single(num, unit, groups))


def _text(num: str, unit: str, groups: str) -> Value:
    return _single(num, unit, groups)


def _timestamp(num: str, unit: str, groups: str) -> Value:
    return decode_tst(_single(num, unit, groups))


def _captured(num: str, unit: str, groups: str) -> Value:
    parts = _split(groups)
    if len(parts) != 2:
        raise RecordError("expected (TST)(value*unit)")
    value, value_unit = _number(parts[1])
    return CapturedValue(decode_tst(parts[0]), value, value_unit)


def _duration(text: str) -> int:
    value, _, unit = text.partition("*")
    if not value.isdecimal() or unit not in ("s", ""):
        raise RecordError(f"power failure duration {text!r} is not seconds")
    return int(value)


def _power_failure_log(num: str, unit: str, groups: str) -> Value:
    parts = _split(groups) if groups else [num]
    if parts in ([""], ["0"]) or (len(parts) == 2 and parts[0] == "0"):
        return ()  # "()" (issue 57 meters), "(0)", "(0)()", "(0)(0-0:96.7.19)"
    count = _int(parts[0])
    if len(parts) != 2 + 2 * count:
        raise RecordError(f"power failure log announces {count} entries but has {len(parts) - 2} values")
    return tuple(PowerFailure(decode_tst(parts[i]), _duration(parts[i + 1])) for i in range(2, len(parts), 2))


def _max_demand_log(num: str, unit: str, groups: str) -> Value:
    parts = _split(groups) if groups else [num]
    count = _int(parts[0])
    if len(parts) != 3 + 3 * count:
        raise RecordError(f"max demand history announces {count} months but has {len(parts) - 3} values")
    entries = []
    for i in range(3, len(parts), 3):
        value, value_unit = _number(parts[i + 2])
        entries.append(MaxDemand(decode_tst_or_none(parts[i]), decode_tst_or_none(parts[i + 1]), value, value_unit))
    return tuple(entries)


def _gas_profile(num: str, unit: str, groups: str) -> Value:
    parts = _split(groups)
    if len(parts) < 7:
        raise RecordError("expected (TST)(status)(period)(z)(ID)(unit) and a value line")
    status_text, period, count = parts[1], parts[2], parts[3]
    if len(status_text) != 2 or not period.isdecimal() or not count.isdecimal():
        raise RecordError("profile status, period or value count is malformed")
    status = int(status_text, 16)
    if len(parts) != 6 + int(count):
        raise RecordError(f"gas profile announces {count} values but has {len(parts) - 6}")
    values = tuple(_number(text)[0] for text in parts[6:])
    return GasProfile(decode_tst12(parts[0], status), status, int(period), parts[4], parts[5], values)


def raw_value(num: str, unit: str, groups: str) -> Value:
    return RawValue(tuple(_split(groups)) if groups else (f"{num}*{unit}" if unit else num,))


def _with_fallback(primary: Decoder, secondary: Decoder) -> Decoder:
    def decode(num: str, unit: str, groups: str) -> Value:
        try:
            return primary(num, unit, groups)
        except (ValueError, ArithmeticError):
            return secondary(num, unit, groups)

    return decode


LAYOUT_DECODERS: dict[Layout, Decoder] = {
    Layout.REGISTER: _register,
    Layout.COUNT: _count,
    Layout.TEXT: _text,
    Layout.TIMESTAMP: _timestamp,
    Layout.CAPTURED: _captured,
    Layout.POWER_FAILURE_LOG: _power_failure_log,
    Layout.MAX_DEMAND_LOG: _max_demand_log,
    Layout.GAS_PROFILE: _gas_profile,
    Layout.RAW: raw_value,
}


def _build_decoders() -> tuple[dict[str, Decoder], dict[str, Layout]]:
    decoders: dict[str, Decoder] = {}
    layouts: dict[str, Layout] = {}
    for obj in TABLE:
        decoder = LAYOUT_DECODERS[obj.layout]
        if obj.fallback is not None:
            decoder = _with_fallback(decoder, LAYOUT_DECODERS[obj.fallback])
        codes = [channel_code(obj.code, n) for n in CHANNELS] if obj.channelled else [obj.code]
        for code in codes:
            decoders[code] = decoder
            layouts[code] = obj.layout
    return decoders, layouts


DECODERS, LAYOUTS = _build_decoders()


class Framed(NamedTuple):
    """A telegram located in its input: header, body and CRC status (shared with ``P1Decoder``)."""

    text: str
    start: int  # index of "/"
    header: str  # after "/", without CR LF
    body_start: int
    body: str  # after the header line, up to (not including) "!"
    crc: int | None
    crc_ok: bool | None


def frame_telegram(data: bytes | bytearray | memoryview | str, *, strict: bool = False) -> Framed:
    """Find header, body and CRC of one telegram; FrameError/ChecksumError if it has none."""
    if type(data) is bytes:  # the common case first: no copy
        raw = data
        text = raw.decode("latin-1")
    elif isinstance(data, str):
        text = data
        try:
            raw = data.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise FrameError(f"telegram has a non-octet character at {exc.start}", offset=exc.start) from exc
    else:
        raw = bytes(data)
        text = raw.decode("latin-1")
    start = text.find("/")
    if start and (start < 0 or text[:start].strip()):
        raise FrameError("a telegram starts with '/' (after optional white space)", offset=max(start, 0))
    bang = text.find("!", start)
    if bang < 0:
        raise FrameError("telegram has no '!' end marker; it is truncated", offset=len(text))
    header_end = text.find("\n", start, bang)
    if header_end < 0:
        raise FrameError("telegram has no line after its header", offset=start)
    eol = text.find("\n", bang)
    crc_text = (text[bang + 1 :] if eol < 0 else text[bang + 1 : eol]).rstrip("\r")
    crc: int | None = None
    crc_ok: bool | None = None
    if crc_text:
        crc = parse_crc(crc_text)
        computed = crc16(raw[start : bang + 1])
        crc_ok = computed == crc
        if strict and not crc_ok:
            raise ChecksumError(f"telegram CRC is {computed:04X} but it says {crc_text}", offset=bang)
    header = text[start + 1 : header_end].rstrip("\r")
    if len(header) < 4:
        raise FrameError(f"header '/{header}' is shorter than /XXX5", offset=start)
    # tuple.__new__ skips the NamedTuple's Python-level __new__: this runs for every telegram.
    return _new_framed((text, start, header, header_end + 1, text[header_end + 1 : bang], crc, crc_ok))


_new_framed = partial(tuple.__new__, Framed)


def make_header(header: str) -> Header:
    return Header(header[:3], header[3], header[4:])


def decode_telegram(
    data: bytes | bytearray | memoryview | str, *, strict: bool = False, lenient: bool = False
) -> Telegram:
    """Decode one telegram from ``/`` to ``!`` and its CRC line; see the module docstring for the rules."""
    return decode_framed(frame_telegram(data, strict=strict), lenient=lenient)


def decode_framed(framed: Framed, *, lenient: bool = False) -> Telegram:
    """The general path: every line through the OBIS table's decode functions."""
    body, crc, crc_ok = framed.body, framed.crc, framed.crc_ok
    values: dict[str, Value] = {}
    unknown: list[str] = []
    errors: list[LineError] = []
    decoders = DECODERS
    for index, (code, num, unit, groups, bad) in enumerate(LINE.findall(body)):
        if bad:
            _fail(errors, lenient, framed, index, "not an OBIS line A-B:C.D.E(value)…")
            continue
        decoder = decoders.get(code)
        if decoder is None:
            values[code] = raw_value(num, unit, groups)
            unknown.append(code)
            continue
        try:
            values[code] = decoder(num, unit, groups)
        except (ValueError, ArithmeticError) as exc:
            reason = exc.reason if isinstance(exc, RecordError) else str(exc)
            _fail(errors, lenient, framed, index, reason, exc)
    return Telegram(
        make_header(framed.header), values, group_channels(values), crc, crc_ok, tuple(unknown), tuple(errors)
    )


def group_channels(values: dict[str, Value]) -> dict[int, MbusDevice]:
    """M-Bus objects (A = 0, B = channel ≠ 0) grouped by channel, in channel order."""
    channels: dict[int, dict[str, Value]] = {}
    for code, value in values.items():
        if code[:2] == "0-" and code[2] != "0":
            channels.setdefault(int(code[2 : code.index(":")]), {})[code] = value
    return {channel: MbusDevice(channel, found) for channel, found in sorted(channels.items())}


def _fail(  # noqa: PLR0917  # a private helper called from two places in the loop
    errors: list[LineError],
    lenient: bool,
    framed: Framed,
    index: int,
    reason: str,
    cause: BaseException | None = None,
) -> None:
    """Report line ``index`` of the body (the rare path: locate it only now)."""
    match = next(m for i, m in enumerate(LINE.finditer(framed.body)) if i == index)
    offset = framed.body_start + match.start()
    line = framed.text.count("\n", framed.start, offset) + 1
    line_text = match.group(0).split("\n")[0].rstrip("\r")
    if lenient:
        errors.append(LineError(line, line_text, reason))
        return
    raise RecordError(f"line {line} {line_text!r}: {reason}", offset=offset) from cause
