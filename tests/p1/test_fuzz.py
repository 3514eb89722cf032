"""Fuzz: random and mutated telegrams never raise anything but a MeterkastError (bounded runs)."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import MeterkastError
from meterkast.p1.convert import to_telegram_data
from meterkast.p1.crypto import decrypt_telegram
from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.p1.plan import P1Decoder
from tests.p1.corpus import samples

GOLDEN = [s.data for s in samples()]
ALPHABET = b"0123456789()*:.-!/\r\nSW"


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(GOLDEN)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[position] = draw(st.sampled_from(ALPHABET))
        elif kind == "insert":
            data[position:position] = draw(st.binary(max_size=8))
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, 8))]
        else:
            del data[position:]
        if not data:
            break
    return bytes(data)


def exercise(data: bytes, decoder: P1Decoder) -> None:
    for lenient in (False, True):
        with contextlib.suppress(MeterkastError):
            telegram = decode_telegram(data, lenient=lenient)
            to_telegram_data(telegram)
        with contextlib.suppress(MeterkastError):
            decoder.decode(data, lenient=lenient)
    framer = P1Framer()
    for frame in framer.feed(data) + framer.feed(data):
        with contextlib.suppress(MeterkastError):
            decode_telegram(frame.data)
    with contextlib.suppress(MeterkastError):
        decrypt_telegram(data, encryption_key=b"\xaa" * 16, authentication_key=b"\xbb" * 16)


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_mutated_telegrams(data: bytes) -> None:
    decoder = P1Decoder()
    for golden in GOLDEN:
        decoder.decode(golden)  # plans for every shape, so mutations also hit the planned path
    exercise(data, decoder)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.lists(st.sampled_from(list(ALPHABET)), max_size=300).map(bytes))
def test_random_bytes(data: bytes) -> None:
    exercise(b"/" + data, P1Decoder())
    exercise(data, P1Decoder())
