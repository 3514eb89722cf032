"""EN 13757-2 link layer: frame vectors (DSMR-FACTS §2.6 d), C and A fields, errors with offsets."""

from __future__ import annotations

import pytest

from meterkast.errors import ChecksumError, FrameError
from meterkast.mbus.link import (
    E5,
    AddressKind,
    ControlFrame,
    LongFrame,
    ShortFrame,
    address_kind,
    control_info,
    decode_frame,
    describe_control,
    encode_frame,
)

VECTORS = [
    ("E5", E5),
    ("10 5B 01 5C 16", ShortFrame(0x5B, 0x01)),  # REQ_UD2 to address 1
    ("10 40 00 40 16", ShortFrame(0x40, 0x00)),  # SND_NKE to address 0
    ("68 03 03 68 53 FE 50 A1 16", ControlFrame(0x53, 0xFE, 0x50)),
    ("68 06 06 68 53 FE 51 01 7A 08 25 16", LongFrame(0x53, 0xFE, 0x51, bytes.fromhex("017A08"))),
]


@pytest.mark.parametrize(("text", "frame"), VECTORS)
def test_vectors_decode_and_encode(text: str, frame: object) -> None:
    raw = bytes.fromhex(text)
    assert decode_frame(raw) == frame
    assert encode_frame(frame) == raw  # type: ignore[arg-type]


@pytest.mark.parametrize(("c", "name", "flags"), [
    (0x40, "SND_NKE", ""), (0x53, "SND_UD", " FCV"), (0x73, "SND_UD", " FCB FCV"), (0x5B, "REQ_UD2", " FCV"),
    (0x7B, "REQ_UD2", " FCB FCV"), (0x5A, "REQ_UD1", " FCV"), (0x7A, "REQ_UD1", " FCB FCV"),
    (0x08, "RSP_UD", ""), (0x18, "RSP_UD", " DFC"), (0x28, "RSP_UD", " ACD"), (0x38, "RSP_UD", " ACD DFC"),
])
def test_control_field_table(c: int, name: str, flags: str) -> None:
    assert control_info(c).info.name == name
    assert describe_control(c) == name + flags


def test_address_kinds() -> None:
    assert address_kind(0) is AddressKind.UNCONFIGURED
    assert {address_kind(a) for a in range(1, 251)} == {AddressKind.PRIMARY}
    assert address_kind(253) is AddressKind.SECONDARY
    assert address_kind(254) is AddressKind.BROADCAST_REPLY
    assert address_kind(255) is AddressKind.BROADCAST


@pytest.mark.parametrize(("text", "error", "offset"), [
    ("", FrameError, 0),
    ("11", FrameError, 0),
    ("10 5B 01 5D 16", ChecksumError, 3),
    ("10 5B 01 5C 17", FrameError, 4),
    ("10 5B 01 5C", FrameError, 4),
    ("68 04 05 68 08 01 72 00 7B 16", FrameError, 2),
    ("68 03 03 69 53 FE 50 A1 16", FrameError, 3),
    ("68 02 02 68 53 FE A1 16", FrameError, 1),
    ("68 03 03 68 53 FE 50 A1 16 00", FrameError, 9),
])
def test_bad_frames_name_the_offset(text: str, error: type[FrameError], offset: int) -> None:
    with pytest.raises(error) as caught:
        decode_frame(bytes.fromhex(text))
    assert caught.value.offset == offset


def test_encode_rejects_what_cannot_be_a_frame() -> None:
    with pytest.raises(FrameError):
        encode_frame(LongFrame(0x08, 1, 0x72, b""))
    with pytest.raises(FrameError):
        encode_frame(LongFrame(0x08, 1, 0x72, bytes(253)))
    with pytest.raises(FrameError):
        encode_frame(ShortFrame(0x100, 1))
