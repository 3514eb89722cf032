"""EN 13757-3:2013 clauses 5–6: the application layer of a control/long frame (CI field onward).

``decode_payload(ci, data)`` dispatches on the CI table (``header.CI_TABLE``): a fixed header (none,
short or long), then variable data records, an application error (CI 70h, clause 6.6), an alarm (71h,
74h, 75h), a fixed data structure (73h, ``fixed``) or bytes it does not interpret.

Encryption (DSMR P2 §5.1, EN 13757-7): when the configuration word of a header names a known
encryption mode and announces N encrypted 16-byte blocks that are present, the first 16·N bytes after
the header are kept in ``VariableData.encrypted`` and only the plaintext records after them (DSMR: the
frame counter ``04 FD 08``) are decoded. ``meterkast.mbus.security`` decrypts ``encrypted`` and calls
``decode_records`` on the plaintext. A configuration word that announces more blocks than the frame
holds, or an unknown mode, is read as the pre-2013 "signature" field and the data as plaintext
(two libmbus corpus meters send B627h and FFFFh there).
"""

from __future__ import annotations

from dataclasses import dataclass

from meterkast.errors import FrameError, RecordError
from meterkast.mbus.fixed import FixedData, decode_fixed, encode_fixed
from meterkast.mbus.header import (
    ENCRYPTION_MODES,
    Header,
    HeaderKind,
    Layout,
    LongHeader,
    ShortHeader,
    ci_info,
    decode_long_header,
    decode_short_header,
    encode_long_header,
    encode_short_header,
    encrypted_blocks,
    encryption_mode,
)
from meterkast.mbus.link import ControlFrame, LongFrame, decode_frame, encode_frame
from meterkast.mbus.records import Item, decode_records, encode_records

PAYLOAD_OFFSET = 7  # CI is byte 6 of a long frame; data starts at byte 7
BLOCK = 16

APPLICATION_ERRORS: dict[int, str] = {
    0x00: "unspecified error", 0x01: "unimplemented CI field", 0x02: "buffer too long, truncated",
    0x03: "too many records", 0x04: "premature end of record", 0x05: "more than 10 DIFEs",
    0x06: "more than 10 VIFEs", 0x07: "reserved", 0x08: "application busy", 0x09: "too many readouts",
}


@dataclass(frozen=True, slots=True)
class VariableData:
    """Header (if the CI has one), encrypted blocks (if announced) and the plaintext records."""

    ci: int
    header: Header | None
    records: tuple[Item, ...]
    encrypted: bytes = b""


@dataclass(frozen=True, slots=True)
class ApplicationError:
    """CI 70h: the slave reports an application error; ``code`` None when no byte follows."""

    ci: int
    code: int | None
    detail: bytes = b""

    @property
    def reason(self) -> str:
        return "no error code" if self.code is None else APPLICATION_ERRORS.get(self.code, "reserved")


@dataclass(frozen=True, slots=True)
class Alarm:
    """CI 71h/74h/75h: alarm status byte(s)."""

    ci: int
    header: Header | None
    data: bytes


@dataclass(frozen=True, slots=True)
class RawPayload:
    """A CI whose user data meterkast carries but does not interpret (selection, time sync, 73h…)."""

    ci: int
    header: Header | None
    data: bytes


Payload = VariableData | ApplicationError | Alarm | RawPayload | FixedData
CI_FIXED = 0x73


@dataclass(frozen=True, slots=True)
class Telegram:
    """A control or long frame with its application layer decoded."""

    control: int
    address: int
    payload: Payload


def decode_payload(ci: int, data: bytes, base: int = PAYLOAD_OFFSET) -> Payload:
    info = ci_info(ci)
    header: Header | None = None
    size = info.header.value
    if info.header is HeaderKind.LONG:
        header = decode_long_header(data, base)
    elif info.header is HeaderKind.SHORT:
        header = decode_short_header(data, base)
    rest = data[size:]
    if info.layout is Layout.RECORDS:
        encrypted = b""
        if header is not None:
            mode, blocks = encryption_mode(header.configuration), encrypted_blocks(header.configuration)
            if mode and mode in ENCRYPTION_MODES and 0 < blocks * BLOCK <= len(rest):
                encrypted, rest = rest[: blocks * BLOCK], rest[blocks * BLOCK :]
        return VariableData(ci, header, decode_records(rest, base + size + len(encrypted)), encrypted)
    if info.layout is Layout.ERROR:
        return ApplicationError(ci, data[0] if data else None, data[1:])
    if info.layout is Layout.ALARM:
        return Alarm(ci, header, rest)
    if info.layout is Layout.FIXED:
        return decode_fixed(data, base)
    return RawPayload(ci, header, rest)


def encode_payload(payload: Payload) -> tuple[int, bytes]:
    if isinstance(payload, FixedData):
        return CI_FIXED, encode_fixed(payload)
    if isinstance(payload, ApplicationError):
        code = b"" if payload.code is None else bytes((payload.code,))
        if payload.code is None and payload.detail:
            raise RecordError("an application error with detail bytes needs a code")
        return payload.ci, code + payload.detail
    header = _encode_header(payload.ci, payload.header)
    if isinstance(payload, VariableData):
        return payload.ci, header + payload.encrypted + encode_records(payload.records)
    return payload.ci, header + payload.data


def _encode_header(ci: int, header: Header | None) -> bytes:
    kind = ci_info(ci).header
    if kind is HeaderKind.LONG and isinstance(header, LongHeader):
        return encode_long_header(header)
    if kind is HeaderKind.SHORT and isinstance(header, ShortHeader):
        return encode_short_header(header)
    if kind is HeaderKind.NONE and header is None:
        return b""
    raise RecordError(f"CI 0x{ci:02X} needs a {kind.name.lower()} header, got {type(header).__name__}")


def decode_telegram(data: bytes) -> Telegram:
    """Decode a control or long frame down to its records."""
    frame = decode_frame(data)
    if not isinstance(frame, LongFrame | ControlFrame):
        raise FrameError(f"{type(frame).__name__} carries no application layer", offset=0)
    payload_bytes = frame.data if isinstance(frame, LongFrame) else b""
    return Telegram(frame.control, frame.address, decode_payload(frame.ci, payload_bytes))


def encode_telegram(telegram: Telegram) -> bytes:
    ci, data = encode_payload(telegram.payload)
    if data:
        return encode_frame(LongFrame(telegram.control, telegram.address, ci, data))
    return encode_frame(ControlFrame(telegram.control, telegram.address, ci))
