"""IEC 62056-47 wrapper: any chunking gives the same frames; garbage is skipped, never fatal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.dlms import WrapperFrame, WrapperFramer, decode_wrapper, encode_wrapper
from meterkast.dlms.wrapper import MANAGEMENT_CLIENT, MANAGEMENT_LOGICAL_DEVICE, PUBLIC_CLIENT
from meterkast.errors import FrameError, InvalidInput
from tests.dlms.vectors import VECTORS

# Green Book style: public client 0x10 → management logical device 0x01, GET clock time
GET_WRAPPED = bytes.fromhex("0001 0010 0001 000D C001C1000800000100 00FF0200".replace(" ", ""))


def test_known_frame() -> None:
    frame = decode_wrapper(GET_WRAPPED)
    apdu = bytes.fromhex("C001C1000800000100" "00FF0200")
    assert frame == WrapperFrame(PUBLIC_CLIENT, MANAGEMENT_LOGICAL_DEVICE, apdu)
    assert encode_wrapper(frame) == GET_WRAPPED


def stream() -> tuple[bytes, list[WrapperFrame]]:
    frames = [WrapperFrame(MANAGEMENT_CLIENT, MANAGEMENT_LOGICAL_DEVICE, v.raw) for v in VECTORS]
    frames.append(WrapperFrame(MANAGEMENT_CLIENT, MANAGEMENT_LOGICAL_DEVICE, b""))
    frames.append(WrapperFrame(MANAGEMENT_CLIENT, MANAGEMENT_LOGICAL_DEVICE, bytes(3000)))
    return b"".join(encode_wrapper(f) for f in frames), frames


def feed_in_chunks(framer: WrapperFramer, data: bytes, size: int) -> list[WrapperFrame]:
    out: list[WrapperFrame] = []
    for i in range(0, len(data), size):
        out += framer.feed(data[i : i + size])
    return out


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_same_frames_for_any_chunk_size(size: int) -> None:
    data, expected = stream()
    framer = WrapperFramer()
    assert feed_in_chunks(framer, data, size) == expected
    assert framer.pending == 0
    assert framer.stats.frames == len(expected)


def test_garbage_before_a_frame_is_skipped() -> None:
    framer = WrapperFramer()
    assert framer.feed(bytes.fromhex("FF 00 02 7E") + GET_WRAPPED) == [decode_wrapper(GET_WRAPPED)]
    assert framer.stats.skipped_bytes == 4


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=30), max_size=8), st.integers(1, 50))
def test_random_bytes_never_raise(chunks: list[bytes], size: int) -> None:
    framer = WrapperFramer()
    data = b"".join(chunks)
    for frame in feed_in_chunks(framer, data, size):
        assert encode_wrapper(frame) in data


@pytest.mark.parametrize(("wire", "reason"), [("0001", "needs 8 bytes"), ("0002000100010000", "version"),
                                              ("0001000100010002AA", "announces 2")])
def test_decode_errors(wire: str, reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        decode_wrapper(bytes.fromhex(wire))


def test_apdu_too_long_for_the_length_field() -> None:
    with pytest.raises(InvalidInput, match="16-bit"):
        WrapperFrame(1, 1, bytes(0x10000))
