"""Fuzz: random bytes and mutated golden frames never raise anything but a MeterkastError."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import MeterkastError
from meterkast.mbus.annotate import annotate
from meterkast.mbus.application import decode_payload, decode_telegram
from meterkast.mbus.framer import Framer
from meterkast.mbus.link import LongFrame, encode_frame
from meterkast.mbus.records import decode_records
from tests.mbus.corpus import golden_frames, read_hex

GOLDEN = [read_hex(p) for p in golden_frames()]


def reframe(raw: bytes) -> bytes:
    """Fix L and CS after a mutation, so the mutation reaches the application layer."""
    body = raw[4:-2]
    if len(body) < 4 or len(body) > 255:
        return raw
    return encode_frame(LongFrame(body[0], body[1], body[2], body[3:]))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(GOLDEN)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, len(raw) - 1))
        if action == "flip":
            raw[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del raw[at : at + draw(st.integers(1, 8))]
        else:
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        if len(raw) < 2:
            break
    out = bytes(raw)
    return reframe(out) if draw(st.booleans()) else out


def only_meterkast_errors(data: bytes) -> None:
    for decoder in (decode_telegram, annotate, decode_records, lambda d: decode_payload(0x72, d)):
        with contextlib.suppress(MeterkastError):
            decoder(data)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.binary(max_size=300), mutated()))
def test_decoders_raise_only_meterkast_errors(data: bytes) -> None:
    only_meterkast_errors(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=40), mutated()), max_size=6), st.integers(1, 64))
def test_framer_never_raises(parts: list[bytes], chunk: int) -> None:
    data = b"".join(parts)
    framer = Framer()
    for i in range(0, len(data), chunk):
        for frame in framer.feed(data[i : i + chunk]):
            only_meterkast_errors(encode_frame(frame))
    framer.timeout()
