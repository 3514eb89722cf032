"""Byte-by-byte explanation of a wired M-Bus frame, for ``meterkast mbus annotate`` (EN 13757-2/-3).

``annotate(frame_bytes)`` returns one ``Annotation`` per field: link layer (start, L, C, A, CI, CS,
stop), the fixed header, and per record the DIB, the VIB and the data with its decoded value, in the
spirit of wmbusmeters' ``analyze``. Bad input raises the same ``CodecError`` (with ``offset``) as
decoding does; the annotations are pure data, the CLI formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from meterkast.mbus.application import PAYLOAD_OFFSET, decode_payload
from meterkast.mbus.dif import describe_dib, encode_dib
from meterkast.mbus.header import (
    ENCRYPTION_MODES,
    HeaderKind,
    ci_info,
    decode_manufacturer,
    encrypted_blocks,
    encryption_mode,
    medium_name,
)
from meterkast.mbus.link import ControlFrame, LongFrame, ShortFrame, SingleChar, decode_frame, describe_control
from meterkast.mbus.records import (
    DIF_GLOBAL_READOUT,
    DIF_IDLE_FILLER,
    DIF_MORE_RECORDS,
    decode_record,
)
from meterkast.mbus.vif import describe_vib, encode_vib


@dataclass(frozen=True, slots=True)
class Annotation:
    """Bytes ``start``..``end`` (exclusive) of the frame and what they mean."""

    start: int
    end: int
    text: str

    def render(self, frame: bytes) -> str:
        return f"{frame[self.start : self.end].hex(' ').upper():<24} {self.text}"


def annotate(frame_bytes: bytes) -> list[Annotation]:
    frame = decode_frame(frame_bytes)
    if isinstance(frame, SingleChar):
        return [Annotation(0, 1, "E5 single character: acknowledgement")]
    out: list[Annotation] = []
    if isinstance(frame, ShortFrame):
        out.append(Annotation(0, 1, "10 start of short frame"))
        out += _control_address(1, frame.control, frame.address)
        out += [Annotation(3, 4, f"CS={frame_bytes[3]:02X} checksum"), Annotation(4, 5, "16 stop")]
        return out
    length = frame_bytes[1]
    out += [
        Annotation(0, 1, "68 start"), Annotation(1, 2, f"L={length:02X} length ({length} bytes C..data)"),
        Annotation(2, 3, f"L={length:02X} length repeated"), Annotation(3, 4, "68 start repeated"),
    ]
    out += _control_address(4, frame.control, frame.address)
    out.append(Annotation(6, 7, f"CI={frame.ci:02X} {ci_info(frame.ci).name}"))
    data = frame.data if isinstance(frame, LongFrame) else b""
    if isinstance(frame, LongFrame | ControlFrame):
        decode_payload(frame.ci, data)  # raises with the offset if the payload is bad
        out += _payload(frame.ci, data, PAYLOAD_OFFSET)
    end = len(frame_bytes)
    out += [Annotation(end - 2, end - 1, f"CS={frame_bytes[-2]:02X} checksum"), Annotation(end - 1, end, "16 stop")]
    return out


def _control_address(at: int, control: int, address: int) -> list[Annotation]:
    return [
        Annotation(at, at + 1, f"C={control:02X} {describe_control(control)}"),
        Annotation(at + 1, at + 2, f"A={address:02X} address {address}"),
    ]


def _payload(ci: int, data: bytes, base: int) -> list[Annotation]:
    info = ci_info(ci)
    out: list[Annotation] = []
    pos = 0
    if info.header is HeaderKind.LONG:
        ident = data[0:4][::-1].hex().upper()
        man = data[4] | data[5] << 8
        out += [
            Annotation(base, base + 4, f"ID {ident} (BCD, LSB first)"),
            Annotation(base + 4, base + 6, f"manufacturer 0x{man:04X} {decode_manufacturer(man)}"),
            Annotation(base + 6, base + 7, f"version 0x{data[6]:02X}"),
            Annotation(base + 7, base + 8, f"medium 0x{data[7]:02X} {medium_name(data[7])}"),
        ]
        pos = 8
    if info.header is not HeaderKind.NONE:
        cw = data[pos + 2] | data[pos + 3] << 8
        mode = encryption_mode(cw)
        out += [
            Annotation(base + pos, base + pos + 1, f"access number {data[pos]}"),
            Annotation(base + pos + 1, base + pos + 2, f"status 0x{data[pos + 1]:02X}"),
            Annotation(base + pos + 2, base + pos + 4,
                       f"configuration 0x{cw:04X}: mode {mode} ({ENCRYPTION_MODES.get(mode, 'reserved')}), "
                       f"{encrypted_blocks(cw)} encrypted blocks"),
        ]
        pos += 4
    payload = decode_payload(ci, data)
    encrypted = getattr(payload, "encrypted", b"")
    if encrypted:
        out.append(Annotation(base + pos, base + pos + len(encrypted), f"{len(encrypted)} encrypted bytes"))
        pos += len(encrypted)
    if getattr(payload, "records", None) is None:
        if pos < len(data):
            out.append(Annotation(base + pos, base + len(data), f"{info.layout.value}"))
        return out
    return out + _records(data, pos, base)


def _records(data: bytes, pos: int, base: int) -> list[Annotation]:
    out: list[Annotation] = []
    while pos < len(data):
        dif = data[pos]
        if dif == DIF_IDLE_FILLER:
            out.append(Annotation(base + pos, base + pos + 1, "DIF 2F: idle filler"))
            pos += 1
            continue
        if dif == DIF_GLOBAL_READOUT:
            out.append(Annotation(base + pos, base + pos + 1, "DIF 7F: global readout request"))
            pos += 1
            continue
        if dif & 0x0F == 0x0F:
            more = ", more records follow" if dif == DIF_MORE_RECORDS else ""
            out.append(Annotation(base + pos, base + pos + 1, f"DIF {dif:02X}: manufacturer specific data{more}"))
            if pos + 1 < len(data):
                out.append(Annotation(base + pos + 1, base + len(data), "manufacturer specific data"))
            break
        record, end = decode_record(data, pos)
        dib_end = pos + len(encode_dib(record.dib))
        vib_end = dib_end + len(encode_vib(record.vib))
        out += [
            Annotation(base + pos, base + dib_end, f"DIF {data[pos]:02X}: {describe_dib(record.dib)}"),
            Annotation(base + dib_end, base + vib_end, f"VIF {data[dib_end]:02X}: {describe_vib(record.vib)}"),
            Annotation(base + vib_end, base + end, f"value {_show(record.value)} {record.unit}".rstrip()),
        ]
        pos = end
    return out


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return f"raw {value.hex(' ').upper()}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
