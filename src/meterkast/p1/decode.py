"""Decode a P1 telegram into a ``Telegram`` ([P1-4.2.2 §5.2, §5.9–5.12], [P1-5.0.2 §6], [P1-3.0 §5]).

One decoder reads every dialect dsmr_parser reads (DSMR 2.2, 3, 4.x, 5, Fluvius e-MUCS, EasyMeter Q3D,
Iskra IE, E.ON Hungary, Sagemcom T210-D-R): the OBIS table says what each code is, and no code means
different things in different dialects, so no version has to be chosen first.

How it stays fast (benchmarks/bench_p1_parse.py): one precompiled regular expression splits the whole
body into lines in a single ``findall`` pass and already separates the common one-number lines into
(code, number, unit); a dict built once from the OBIS table maps each code straight to its decode
function; the CRC is the big-int parity method of ``crc.py``. Every value is fully converted
(Decimal, aware datetime) before ``decode_telegram`` returns: nothing is deferred. That is
``decode_plain``; ``decode_telegram`` gives the same result through a per-thread ``P1Decoder``
(plan.py, lines.py, batches.py), so a telegram like the last one this thread decoded costs a
fraction (docs/performance.md).

Rules it keeps (docs/p1.md, "What the decoder tolerates"):
- a telegram is one unit only for its CRC: a CRC mismatch is reported in ``Telegram.crc_ok`` with
  every value still decoded; ``strict=True`` raises ChecksumError instead;
- an unknown OBIS line is kept as ``RawValue``; a line that cannot be read is listed in
  ``Telegram.errors`` (line number, raw text, reason) beside the lines that could (the default), or
  with ``lenient=False`` raises RecordError naming its line number and text;
- a vendor placeholder time stamp that is no calendar date (``632525252525W``) is a meaningful odd
  field, not a problem: it gives ``time=None`` in a ``CapturedValue``, ``PowerFailure`` or ``GasProfile`` (as
  dsmr_parser reads it) and the raw text as ``RawValue`` on a time-stamp line, and the line's raw
  text is kept in ``Telegram.notes`` (so is a header shorter than ``/XXX5``);
- white space around a line's groups, white-space-only lines, text before ``/`` and text after the
  CRC are tolerated (the last two listed as problems); bytes are bytes: the telegram is read as
  Latin-1, so every octet is a character and none is refused;
- only MeterkastError subclasses escape (the fuzz tests hold it to that).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from meterkast.errors import RecordError
from meterkast.p1.frame_text import Framed, frame_telegram  # frame_telegram: also importable from here
from meterkast.p1.obis import CHANNELS, E_CHANNELLED, TABLE, Layout, channel_code
from meterkast.p1.telegram import Header, LineError, MbusDevice, Telegram
from meterkast.p1.timestamps import decode_tst, decode_tst12, is_placeholder
from meterkast.p1.values import (
    CapturedValue,
    GasProfile,
    MaxDemand,
    PowerFailure,
    Quantity,
    RawValue,
    Value,
)

if TYPE_CHECKING:
    from meterkast.p1.plan import P1Decoder

Decoder = Callable[[str, str, str], Value]

# code, then either (number)(*unit) in one group, or any groups (with 2.2/3 continuation lines),
# or — second alternative — any other non-empty line, which is reported as bad.
# Blanks (space, tab) are allowed before the code, before the first "(" and at the end of the line, as
# dsmr_parser's line patterns allow them; a line of blanks alone matches nothing and is skipped. NUL
# octets (some P1 adapters pad with them) count as blanks at a line's ends, and blanks may end a
# DSMR 2.2/3 gas profile line before its continuation line (CR CR LF ends too).
LINE = re.compile(
    r"^[ \t\0]*(\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3})(?:[*.]\d{1,3})?[ \t]*"
    r"(?:\((-?\d{1,24}(?:\.\d{1,24})?)(?:\*([A-Za-z0-9]{1,12}))?\)"
    r"|((?:\([^()\r\n]*\))+(?:[ \t\0\r]*\n\([^()\r\n]*\))*))[ \t\r\0]*$"
    r"|^[ \t\0]*([^ \t\r\n\0][^\r\n]*)",
    re.MULTILINE | re.ASCII,
)
_CONTINUATION = re.compile(r"\)[ \t\0\r]*\n")
_STAMP = re.compile(r"\d{12}[SWsw]?", re.ASCII)
_NUMBER = re.compile(r"-?\d{1,24}(?:\.\d{1,24})?", re.ASCII)
_UNIT = re.compile(r"[A-Za-z0-9]{0,12}", re.ASCII)


class PartlyRead(RecordError):
    """A line read in part: ``value`` holds what could be read, the message says what could not."""

    def __init__(self, message: str, value: Value) -> None:
        super().__init__(message)
        self.value = value


def _tst(text: str) -> datetime:
    """TST; a stamp of 12 digits without its S/W letter is read as dsmr_parser reads it (``fold=0``)."""
    if len(text) == 12 and text.isdecimal():
        return decode_tst(text + "S")
    return decode_tst(text)


def _tst_or_none(text: str) -> datetime | None:
    """``_tst``, or None for a placeholder stamp that is no calendar date."""
    return None if is_placeholder(text) else _tst(text)


def _placeholder(text: str) -> str:
    return f"time stamp {text!r} is no calendar date (a vendor placeholder); kept as text, read as no time"


def _split(groups: str) -> list[str]:
    if not groups:
        return []
    if "\n" in groups:
        groups = _CONTINUATION.sub(")", groups)
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
    text = _single(num, unit, groups)
    if is_placeholder(text):
        raise PartlyRead(_placeholder(text), RawValue((text,)))
    return _tst(text)


def _captured(num: str, unit: str, groups: str) -> Value:
    parts = _split(groups)
    if len(parts) != 2:
        raise RecordError("expected (TST)(value*unit)")
    if _STAMP.fullmatch(parts[1]) and not _STAMP.fullmatch(parts[0]):
        # An Iskra IE.5 (Belgium, 2026) sends 1-0:1.6.0(08.796*kW)(260102010000): value first.
        value, value_unit = _number(parts[0])
        captured = CapturedValue(_tst_or_none(parts[1]), value, value_unit)
        raise PartlyRead("groups in reverse order, (value)(time stamp): read as (time stamp)(value)", captured)
    value, value_unit = _number(parts[1])
    if is_placeholder(parts[0]):
        raise PartlyRead(_placeholder(parts[0]), CapturedValue(None, value, value_unit))
    return CapturedValue(_tst(parts[0]), value, value_unit)


def _duration(text: str) -> int:
    value, _, unit = text.partition("*")
    if not value.isdecimal() or unit not in ("s", "S", ""):  # unit case carries no meaning
        raise RecordError(f"power failure duration {text!r} is not seconds")
    return int(value)


def _power_failure_log(num: str, unit: str, groups: str) -> Value:
    parts = _split(groups) if groups else [num]
    if parts in ([""], ["0"]) or (len(parts) == 2 and parts[0] == "0"):
        return ()  # "()" (issue 57 meters), "(0)", "(0)()", "(0)(0-0:96.7.19)"
    count = _int(parts[0])
    if len(parts) != 2 + 2 * count:
        raise RecordError(f"power failure log announces {count} entries but has {len(parts) - 2} values")
    entries = tuple(PowerFailure(_tst_or_none(parts[i]), _duration(parts[i + 1])) for i in range(2, len(parts), 2))
    placeholders = [parts[i] for i in range(2, len(parts), 2) if is_placeholder(parts[i])]
    if placeholders:
        raise PartlyRead(_placeholder(placeholders[0]), entries)
    return entries


def _max_demand_log(num: str, unit: str, groups: str) -> Value:
    parts = _split(groups) if groups else [num]
    count = _int(parts[0])
    if len(parts) != 3 + 3 * count:
        raise RecordError(f"max demand history announces {count} months but has {len(parts) - 3} values")
    entries = []
    for i in range(3, len(parts), 3):
        value, value_unit = _number(parts[i + 2])
        entries.append(MaxDemand(_tst_or_none(parts[i]), _tst_or_none(parts[i + 1]), value, value_unit))
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
    if is_placeholder(parts[0]):  # "(632525252525)", "(000000000000)": dsmr_parser reads the value, time None
        raise PartlyRead(_placeholder(parts[0]), GasProfile(None, status, int(period), parts[4], parts[5], values))
    return GasProfile(decode_tst12(parts[0], status), status, int(period), parts[4], parts[5], values)


def raw_value(num: str, unit: str, groups: str) -> Value:
    return RawValue(tuple(_split(groups)) if groups else (f"{num}*{unit}" if unit else num,))


def _with_fallback(primary: Decoder, secondary: Decoder) -> Decoder:
    def decode(num: str, unit: str, groups: str) -> Value:
        try:
            return primary(num, unit, groups)
        except PartlyRead:
            raise
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
        if obj.code in E_CHANNELLED:
            codes += [f"1-{n}:{obj.code[4:]}" for n in CHANNELS]
        for code in codes:
            decoders[code] = decoder
            layouts[code] = obj.layout
    return decoders, layouts


DECODERS, LAYOUTS = _build_decoders()


def make_header(header: str) -> Header:
    return Header(header[:3], header[3:4], header[4:])


def decode_plain(
    data: bytes | bytearray | memoryview | str, *, strict: bool = False, lenient: bool = True
) -> Telegram:
    """Decode one telegram from ``/`` to ``!`` and its CRC line, every line afresh through the OBIS
    table (no caches): the reference ``decode_telegram`` and ``P1Decoder`` are checked against."""
    return decode_framed(frame_telegram(data, strict=strict), lenient=lenient)


_SHARED = threading.local()  # one P1Decoder per thread: its line state is not safe to share


def decode_telegram(
    data: bytes | bytearray | memoryview | str, *, strict: bool = False, lenient: bool = True
) -> Telegram:
    """Decode one telegram from ``/`` to ``!`` and its CRC line; see the module docstring for the rules.

    The result equals ``decode_plain``'s for the same input, whatever was decoded before: a
    per-thread ``P1Decoder`` (plan.py) reuses the shape and the unchanged lines of the telegrams
    this thread decoded last, and takes the general path for anything else (docs/performance.md).
    """
    try:
        decoder: P1Decoder = _SHARED.decoder
    except AttributeError:
        decoder = _SHARED.decoder = _new_decoder()
    return decoder.decode(data, strict=strict, lenient=lenient)


def clear_cache() -> None:
    """Forget what ``decode_telegram`` learnt in this thread (the benchmark starts every run afresh)."""
    _SHARED.__dict__.pop("decoder", None)


def _new_decoder() -> P1Decoder:
    from meterkast.p1.plan import P1Decoder  # noqa: PLC0415  # plan.py builds on this module

    return P1Decoder()


def decode_framed(framed: Framed, *, lenient: bool = True) -> Telegram:
    """The general path: every line through the OBIS table's decode functions."""
    body, crc, crc_ok = framed.body, framed.crc, framed.crc_ok
    values: dict[str, Value] = {}
    unknown: list[str] = []
    errors: list[LineError] = list(framed.problems)
    notes: list[LineError] = list(framed.notes)
    if errors and not lenient:
        first = errors[0]
        raise RecordError(f"line {first.line} {first.text!r}: {first.reason}")
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
        except PartlyRead as exc:  # read as far as it goes: a note, not a problem (docs/p1.md)
            values[code] = exc.value
            _fail(notes, True, framed, index, exc.reason)
        except (ValueError, ArithmeticError) as exc:
            reason = exc.reason if isinstance(exc, RecordError) else str(exc)
            _fail(errors, lenient, framed, index, reason, exc)
    header = make_header(framed.header)
    return Telegram(header, values, group_channels(values), crc, crc_ok, tuple(unknown), tuple(errors), tuple(notes))


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
