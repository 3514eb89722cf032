"""The framer: any chunking gives the same frames; garbage, echoes and bad checksums never kill it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.mbus.framer import Direction, Framer
from meterkast.mbus.link import E5, Frame, decode_frame, encode_frame
from tests.mbus.corpus import golden_frames, read_hex

REQ_UD2 = bytes.fromhex("105B015C16")
GARBAGE = bytes.fromhex("00 FF 68 10 68 68 03 03 68 16 10")  # false starts, a truncated short frame
BAD_SUM = bytes.fromhex("10 5B 01 5D 16")


def stream() -> tuple[bytes, list[Frame]]:
    frames = [read_hex(p) for p in golden_frames()[:12]]
    data = GARBAGE + REQ_UD2 + b"\xe5" + BAD_SUM
    expected: list[Frame] = [decode_frame(REQ_UD2), E5]
    for raw in frames:
        data += raw + GARBAGE
        expected.append(decode_frame(raw))
    return data, expected


def feed_in_chunks(framer: Framer, data: bytes, size: int) -> list[Frame]:
    out: list[Frame] = []
    for i in range(0, len(data), size):
        out += framer.feed(data[i : i + size])
    return out + framer.timeout()


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_same_frames_for_any_chunk_size(size: int) -> None:
    data, expected = stream()
    framer = Framer()
    assert feed_in_chunks(framer, data, size) == expected
    assert framer.stats.bad_checksums >= 1
    assert framer.stats.skipped_bytes > 0
    assert framer.pending == 0


def test_echoed_request_is_dropped_for_a_master() -> None:
    reply = read_hex(golden_frames()[0])
    framer = Framer(Direction.FROM_SLAVE)
    assert framer.feed(REQ_UD2 + reply) == [decode_frame(reply)]
    assert framer.stats.echoes == 1


def test_slave_view_keeps_requests_only() -> None:
    framer = Framer(Direction.FROM_MASTER)
    assert framer.feed(b"\xe5" + REQ_UD2) == [decode_frame(REQ_UD2)]


def test_stalled_partial_frame_is_abandoned_on_timeout() -> None:
    framer = Framer()
    assert framer.feed(bytes.fromhex("68 FF FF 68 08") + REQ_UD2) == []
    assert framer.pending > 0
    assert framer.timeout() == [decode_frame(REQ_UD2)]
    assert framer.pending == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=12), st.sampled_from([REQ_UD2, b"\xe5"])), max_size=20),
       st.integers(1, 40))
def test_valid_frames_survive_random_garbage(parts: list[bytes], size: int) -> None:
    data = b"".join(parts)
    framer = Framer()
    frames = feed_in_chunks(framer, data, size)
    assert all(encode_frame(f) in data for f in frames)
