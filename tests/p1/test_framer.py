"""The P1 framer: any chunking, garbage, cut-off telegrams, CRC errors counted (STYLE 7)."""

from __future__ import annotations

import pytest

from meterkast.p1.framer import Frame, P1Framer
from tests.p1.corpus import by_name

V5 = by_name("v5").data
V22 = by_name("v2_2").data
TWO = by_name("v5_two_mbus").data
UNPADDED = by_name("unpadded_crc").data
Q3D = by_name("esy5q3db1024_v304").data  # ends with a bare "!" and binary garbage after it
BAD_CRC = TWO.replace(b"002130.115", b"002130.116")

STREAM = b"".join(
    [
        b"\x00\xffnoise\r\n",
        V5,
        b"garbage!between\r\n",
        V22,
        TWO[: len(TWO) // 2],  # cut off: the next "/" starts a new telegram
        UNPADDED,
        BAD_CRC,
        Q3D,
        TWO,
        TWO[:100],  # still arriving
    ]
)


def feed_in_chunks(size: int, *, drop_bad_crc: bool = False) -> tuple[list[Frame], P1Framer]:
    framer = P1Framer(drop_bad_crc=drop_bad_crc)
    frames: list[Frame] = []
    for i in range(0, len(STREAM), size):
        frames.extend(framer.feed(STREAM[i : i + size]))
    return frames, framer


@pytest.mark.parametrize("size", [1, 7, 64, len(STREAM)])
def test_same_frames_whatever_the_chunking(size: int) -> None:
    frames, framer = feed_in_chunks(size)
    assert [f.data for f in frames] == [V5, V22, UNPADDED, BAD_CRC, Q3D[: Q3D.index(b"!") + 3], TWO]
    assert [f.crc_ok for f in frames] == [True, None, True, False, None, True]
    assert frames[2].crc == 0xB9F
    counters = framer.counters
    assert (counters.telegrams, counters.crc_errors, counters.truncated) == (6, 1, 1)
    assert counters.garbage_bytes > 0
    assert framer.pending == 100


def test_bad_crc_can_be_dropped() -> None:
    frames, framer = feed_in_chunks(64, drop_bad_crc=True)
    assert BAD_CRC not in [f.data for f in frames]
    assert framer.counters.crc_errors == 1 and framer.counters.telegrams == 5


def test_runaway_telegram_is_dropped() -> None:
    framer = P1Framer(max_size=1000)
    assert framer.feed(b"/ABC5" + b"x" * 2000) == []
    assert framer.counters.truncated == 1 and framer.pending == 0
    assert [f.data for f in framer.feed(V5)] == [V5]


def test_crc_line_split_across_chunks() -> None:
    framer = P1Framer()
    assert framer.feed(V5[:-4]) == []
    assert [f.crc_ok for f in framer.feed(V5[-4:])] == [True]


def test_a_slash_inside_a_line_is_text_but_a_header_after_a_cut_starts_a_telegram() -> None:
    text_with_slash = V22.replace(b"0-0:96.13.0()", b"0-0:96.13.0(test-/-test)")
    cut_mid_line = V5[: V5.index(b"1-0:32.7.0") + 14]  # "1-0:32.7.0(023" and then the next header
    for chunk in (1, 5, len(text_with_slash)):
        framer = P1Framer()
        stream = text_with_slash + cut_mid_line + V5
        frames = [f for i in range(0, len(stream), chunk) for f in framer.feed(stream[i : i + chunk])]
        assert [f.data for f in frames] == [text_with_slash, V5]
        assert framer.counters.truncated == 1
