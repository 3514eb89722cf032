"""EN 13757-2:2004 clause 5 (FT1.2 frames) and DSMR P2 §3.1, §4.1: the wired M-Bus link layer.

Frames: single character ``E5``; short frame ``10 C A CS 16``; control frame ``68 03 03 68 C A CI CS 16``;
long frame ``68 L L 68 C A CI data CS 16``. L counts C, A, CI and the data (3..255); CS is the sum of
C, A, CI and data modulo 256. DSMR P2 §3.1.1: at most 255 bytes of L-content.

C field (EN 13757-2 5.5): bit 6 PRM (1 = master to slave); for the master bit 5 FCB and bit 4 FCV,
for the slave bit 5 ACD and bit 4 DFC; bits 3–0 the function. ``CONTROL_TABLE`` is keyed by the C
field with the FCB/ACD bit cleared (and DFC for slave frames), so 53h/73h are both SND_UD.
A field (5.6): 0 unconfigured, 1–250 primary, 251–252 reserved, 253 network layer (secondary
addressing), 254 broadcast with reply, 255 broadcast without reply. DSMR P2 §3.1.3 forbids 253.

Frames keep raw C and A bytes; ``control_info``/``address_kind`` interpret them, so unknown codes are
carried instead of rejected and ``encode_frame(decode_frame(b)) == b`` for every valid frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from meterkast.errors import ChecksumError, FrameError

ACK = 0xE5
SHORT_START = 0x10
LONG_START = 0x68
STOP = 0x16
MAX_L = 0xFF
PRM = 0x40
FCB_ACD = 0x20
FCV_DFC = 0x10


@dataclass(frozen=True, slots=True)
class ControlInfo:
    name: str
    meaning: str
    from_master: bool


CONTROL_TABLE: dict[int, ControlInfo] = {
    0x40: ControlInfo("SND_NKE", "link reset (normalisation)", True),
    0x53: ControlInfo("SND_UD", "send user data", True),
    0x5B: ControlInfo("REQ_UD2", "request class 2 data", True),
    0x5A: ControlInfo("REQ_UD1", "request class 1 data", True),
    0x49: ControlInfo("REQ_SKE", "request status of link", True),
    0x44: ControlInfo("SND_NR", "send no reply (wireless)", True),
    0x46: ControlInfo("SND_IR", "send installation request (wireless)", True),
    0x08: ControlInfo("RSP_UD", "respond user data", False),
    0x0B: ControlInfo("RSP_SKE", "respond status of link", False),
    0x00: ControlInfo("ACK", "acknowledge (wireless)", False),
    0x06: ControlInfo("CNF_IR", "confirm installation (wireless)", False),
}
UNKNOWN_CONTROL = ControlInfo("unknown", "not an EN 13757-2 function", False)


@dataclass(frozen=True, slots=True)
class Control:
    """A C field taken apart."""

    info: ControlInfo
    from_master: bool
    fcb: bool = False
    fcv: bool = False
    acd: bool = False
    dfc: bool = False


def control_info(c: int) -> Control:
    if c & PRM:
        return Control(CONTROL_TABLE.get(c & ~FCB_ACD, UNKNOWN_CONTROL), True, bool(c & FCB_ACD), bool(c & FCV_DFC))
    info = CONTROL_TABLE.get(c & ~(FCB_ACD | FCV_DFC), UNKNOWN_CONTROL)
    return Control(info, False, acd=bool(c & FCB_ACD), dfc=bool(c & FCV_DFC))


def describe_control(c: int) -> str:
    ctl = control_info(c)
    bits = (("FCB", ctl.fcb), ("FCV", ctl.fcv)) if ctl.from_master else (("ACD", ctl.acd), ("DFC", ctl.dfc))
    flags = "".join(f" {name}" for name, on in bits if on)
    return f"{ctl.info.name}{flags}"


class AddressKind(Enum):
    UNCONFIGURED = "unconfigured (installation)"
    PRIMARY = "primary"
    RESERVED = "reserved"
    SECONDARY = "network layer (secondary addressing)"
    BROADCAST_REPLY = "broadcast, slaves reply"
    BROADCAST = "broadcast, no reply"


ADDRESS_KINDS: dict[int, AddressKind] = {
    0: AddressKind.UNCONFIGURED,
    **dict.fromkeys(range(1, 251), AddressKind.PRIMARY),
    251: AddressKind.RESERVED, 252: AddressKind.RESERVED, 253: AddressKind.SECONDARY,
    254: AddressKind.BROADCAST_REPLY, 255: AddressKind.BROADCAST,
}
ADDRESS_SECONDARY = 253
ADDRESS_BROADCAST_REPLY = 254
ADDRESS_BROADCAST = 255
MAX_PRIMARY = 250  # 1..250 usable, 0 = not configured; "higher than 250 shall be ignored" [P2-4.0.7 §3.1.3]

# Control fields a DSMR master and slave use [EN 13757-2 Table 4], [P2-4.0.7 §4.1 Table 5].
C_SND_NKE = 0x40
C_SND_UD = 0x53
C_REQ_UD2 = 0x5B  # 0x7B with FCB set
C_RSP_UD = 0x08


def address_kind(a: int) -> AddressKind:
    return ADDRESS_KINDS[a]


@dataclass(frozen=True, slots=True)
class SingleChar:
    """The single character E5h: a slave's acknowledgement."""


@dataclass(frozen=True, slots=True)
class ShortFrame:
    control: int
    address: int


@dataclass(frozen=True, slots=True)
class ControlFrame:
    control: int
    address: int
    ci: int


@dataclass(frozen=True, slots=True)
class LongFrame:
    control: int
    address: int
    ci: int
    data: bytes


Frame = SingleChar | ShortFrame | ControlFrame | LongFrame
E5 = SingleChar()


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def encode_frame(frame: Frame) -> bytes:
    if isinstance(frame, SingleChar):
        return bytes((ACK,))
    _check_byte("C field", frame.control)
    _check_byte("A field", frame.address)
    if isinstance(frame, ShortFrame):
        body = bytes((frame.control, frame.address))
        return bytes((SHORT_START, *body, checksum(body), STOP))
    _check_byte("CI field", frame.ci)
    data = frame.data if isinstance(frame, LongFrame) else b""
    if isinstance(frame, LongFrame) and not data:
        raise FrameError("a long frame carries data; without data it is a ControlFrame")
    body = bytes((frame.control, frame.address, frame.ci)) + data
    if len(body) > MAX_L:
        raise FrameError(f"L would be {len(body)}: a frame holds at most {MAX_L - 3} data bytes")
    n = len(body)
    return bytes((LONG_START, n, n, LONG_START)) + body + bytes((checksum(body), STOP))


def decode_frame(data: bytes) -> Frame:
    """Decode exactly one frame; any extra or missing byte is a FrameError with its offset."""
    if not data:
        raise FrameError("no data: a frame starts with E5, 10 or 68", offset=0)
    start = data[0]
    if start == ACK:
        _expect_length(data, 1)
        return E5
    if start == SHORT_START:
        _expect_length(data, 5)
        _check_stop(data, 4)
        _check_sum(data, 1, 3)
        return ShortFrame(data[1], data[2])
    if start != LONG_START:
        raise FrameError(f"start byte 0x{start:02X} is not E5, 10 or 68", offset=0)
    if len(data) < 4:
        raise FrameError(f"long frame header needs 4 bytes, got {len(data)}", offset=len(data))
    length = data[1]
    if data[2] != length:
        raise FrameError(f"the two length bytes differ (0x{length:02X}, 0x{data[2]:02X})", offset=2)
    if data[3] != LONG_START:
        raise FrameError(f"second start byte is 0x{data[3]:02X}, expected 68", offset=3)
    if length < 3:
        raise FrameError(f"L = {length}: a control or long frame has at least C, A and CI", offset=1)
    _expect_length(data, length + 6)
    _check_stop(data, length + 5)
    _check_sum(data, 4, length + 4)
    if length == 3:
        return ControlFrame(data[4], data[5], data[6])
    return LongFrame(data[4], data[5], data[6], bytes(data[7 : length + 4]))


def frame_length(header: bytes) -> int | None:
    """The total length a frame starting with ``header`` will have, or None if not yet known/valid."""
    start = header[0]
    if start == ACK:
        return 1
    if start == SHORT_START:
        return 5
    if start == LONG_START and len(header) >= 4:
        return header[1] + 6
    return None


def _expect_length(data: bytes, expected: int) -> None:
    if len(data) < expected:
        raise FrameError(f"frame truncated: {expected} bytes expected, got {len(data)}", offset=len(data))
    if len(data) > expected:
        raise FrameError(f"{len(data) - expected} bytes after the end of the frame", offset=expected)


def _check_stop(data: bytes, at: int) -> None:
    if data[at] != STOP:
        raise FrameError(f"stop byte is 0x{data[at]:02X}, expected 16", offset=at)


def _check_sum(data: bytes, first: int, end: int) -> None:
    expected = checksum(data[first:end])
    if data[end] != expected:
        raise ChecksumError(f"checksum is 0x{data[end]:02X}, computed 0x{expected:02X}", offset=end)


def _check_byte(name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise FrameError(f"{name} {value} must be one byte (0–255)")
