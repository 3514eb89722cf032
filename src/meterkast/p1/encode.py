"""Encode a ``TelegramData`` as a P1 telegram, byte-exact to the companion standards' layout.

[P1-4.2.2 §5.2] ``/XXX5Ident CR LF CR LF Data ! CRC CR LF``; lines ``ID(value*unit)`` [§5.9],
M-Bus ``ID(TST)(Mv1*U1)`` [§5.10], power failure log ``ID(z)(ID1)(TST)(Bv1*U1)…`` [§5.11];
DSMR 2.2/3 gas ``ID(TST12)(S)(RP)(z)(ID1)(U1)`` plus a value line [P1-3.0 §5.10]. Every line ends
CR LF, the last one too (real 4.x meters and [P1-5.0.2 §6.12] do). The CRC (4 uppercase hex digits)
covers ``/`` through ``!``; DSMR 2.2 ends with a bare ``!``.

Rules it keeps:
- the spec decides which lines are written, in which order and format; a TelegramData field that
  the spec does not carry is an error (it would silently vanish), and so is a missing field the
  spec needs;
- values are never rounded: a value that does not fit its format raises RecordError naming the line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from meterkast.errors import RecordError
from meterkast.p1.crc import crc16, format_crc
from meterkast.p1.data import MbusChannel, TelegramData
from meterkast.p1.formats import Fixed, Format
from meterkast.p1.obis import BY_CODE, Layout, channel_code
from meterkast.p1.specs import FIELDS, ChannelLine, ChannelSpec, SpecLine, TelegramSpec, spec_for
from meterkast.p1.timestamps import EMPTY_TST, encode_tst, encode_tst12
from meterkast.p1.values import PowerFailure

CRLF = "\r\n"
POWER_FAILURE_EVENT = "0-0:96.7.19"  # capture object of the power failure log [P1-4.2.2 Table 5-3]
EMPTY_READING = "00000000"  # value shown on an emptied channel (Iskra AM550)
GAS_PROFILE_PERIOD_MIN = 60  # DSMR 2.2/3 hourly value [P1-3.0 §6.3]


def encode_telegram(data: TelegramData, version: str | TelegramSpec = "4") -> bytes:
    """The telegram bytes for ``data`` per ``version`` ("4" default, "4.2", "5", "2.2")."""
    spec = spec_for(version)
    _check_fields(data, spec)
    lines = [f"/{_header(data.header)}", ""]
    for line in spec.lines:
        lines.extend(_object_lines(data, line))
    for channel in sorted(data.mbus, key=lambda c: c.channel):
        for channel_spec in spec.channel:
            lines.extend(CHANNEL_WRITERS[channel_spec.line](channel, channel_spec))
    body = (CRLF.join(lines) + CRLF + "!").encode("ascii")
    trailer = format_crc(crc16(body)) if spec.crc else ""
    return body + trailer.encode("ascii") + b"\r\n"


def _header(header: str) -> str:
    if len(header) < 4 or not header.isascii() or any(ch in header for ch in "/!\r\n"):
        raise RecordError(f"header {header!r} is not XXX5identification in ASCII without / ! CR LF")
    return header


def _check_fields(data: TelegramData, spec: TelegramSpec) -> None:
    carried = spec.fields
    for name in {field.name for field in FIELDS} - carried:
        if getattr(data, name) not in (None, ()):
            raise RecordError(f"{spec.title} has no line for {name}; leave it None for this version")
    channel_lines = {c.line for c in spec.channel}
    for channel in data.mbus:
        if channel.valve is not None and ChannelLine.VALVE not in channel_lines:
            raise RecordError(f"{spec.title} has no valve line; leave channel {channel.channel} valve None")


def _object_lines(data: TelegramData, line: SpecLine) -> list[str]:
    if line.field is None:
        return [f"{line.code}({line.constant})"]
    value = getattr(data, line.field.name)
    if line.field.index is not None:
        if line.field.index >= len(value):
            return []  # single-phase meters send only L1
        value = value[line.field.index]
    if value is None:
        raise RecordError(f"{line.code} ({line.field.name}) is part of this telegram; give it a value")
    writer = LINE_WRITERS.get(BY_CODE[line.code].layout)
    if writer is not None:
        return [writer(line.code, value, line.fmt)]
    return [f"{line.code}({_encode(line, value)}{_unit(line.unit)})"]


def _encode(line: SpecLine, value: object) -> str:
    try:
        return line.fmt.encode(value)
    except RecordError as exc:
        raise RecordError(f"{line.code}: {exc.reason}") from exc


def _unit(unit: str | None) -> str:
    return f"*{unit}" if unit else ""


def _power_failure_log(code: str, log: Sequence[PowerFailure], duration: Format) -> str:
    if not isinstance(log, tuple | list):
        raise RecordError(f"{code}: the power failure log is a sequence of PowerFailure")
    groups = [f"({len(log)})", f"({POWER_FAILURE_EVENT})"]
    for event in log:
        if event.end is None:
            raise RecordError(f"{code}: a logged power failure needs its end time")
        groups.append(f"({encode_tst(event.end)})({duration.encode(event.duration_s)}*s)")
    return code + "".join(groups)


def _device_type(channel: MbusChannel, spec: ChannelSpec) -> list[str]:
    return [f"{channel_code(spec.line.value, channel.channel)}({spec.fmt.encode(channel.device_type)})"]


def _equipment_id(channel: MbusChannel, spec: ChannelSpec) -> list[str]:
    return [f"{channel_code(spec.line.value, channel.channel)}({spec.fmt.encode(channel.equipment_id)})"]


def _value_text(channel: MbusChannel) -> str:
    if channel.value is None:
        return EMPTY_READING
    fmt = Fixed(8, channel.decimals, channel.decimals)  # F8(3,3) G4/G6, F8(2,2) above [Table 5-3 note 2]
    return fmt.encode(channel.value)


def _reading(channel: MbusChannel, spec: ChannelSpec) -> list[str]:
    if channel.awaiting_first:  # no value received yet: no line [P1-5.0.2 §7.3] (data.py)
        return []
    code = channel_code(spec.line.value, channel.channel)
    if channel.value is None or channel.capture_time is None:
        return [f"{code}({EMPTY_TST})({EMPTY_READING})"]
    return [f"{code}({encode_tst(channel.capture_time)})({_value_text(channel)}*{channel.unit})"]


def _gas_profile(channel: MbusChannel, spec: ChannelSpec) -> list[str]:
    if channel.awaiting_first:  # "last hourly value" [P1-3.0 §6.3]: none received yet, no lines
        return []
    code = channel_code(spec.line.value, channel.channel)
    if channel.capture_time is None:
        raise RecordError(f"{code}: DSMR 2.2/3 channels need a reading and its capture time")
    stamp, status = encode_tst12(channel.capture_time)
    capture = channel_code("0-n:24.2.1", channel.channel)
    head = f"{code}({stamp})({status:02X})({GAS_PROFILE_PERIOD_MIN})(1)({capture})({channel.unit})"
    return [head, f"({_value_text(channel)})"]


def _valve(channel: MbusChannel, spec: ChannelSpec) -> list[str]:
    if channel.valve is None:
        return []
    return [f"{channel_code(spec.line.value, channel.channel)}({spec.fmt.encode(channel.valve)})"]


CHANNEL_WRITERS: dict[ChannelLine, Callable[[MbusChannel, ChannelSpec], list[str]]] = {
    ChannelLine.DEVICE_TYPE: _device_type,
    ChannelLine.EQUIPMENT_ID: _equipment_id,
    ChannelLine.READING: _reading,
    ChannelLine.GAS_PROFILE: _gas_profile,
    ChannelLine.VALVE: _valve,
}

LINE_WRITERS: dict[Layout, Callable[[str, Sequence[PowerFailure], Format], str]] = {
    Layout.POWER_FAILURE_LOG: _power_failure_log,
}
