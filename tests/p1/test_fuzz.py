"""Fuzz: random and mutated telegrams never raise anything but a MeterkastError (bounded runs).

Every P1 decoder is held to it (issue 10, item 2): ``decode_telegram`` on bytes and on text,
``P1Decoder`` (stateful: its plans and line state fed a stream), ``P1Framer`` (any chunking, and
``flush``), ``decrypt_telegram`` / ``decode_cipher_frame`` on mutated cipher frames, and the reader's
``CipherFramer``. The 10^5-inputs-per-decoder run is ``python -m benchmarks fuzz``; this is the
test suite's small budget.
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import MeterkastError
from meterkast.p1.cipher_framer import CipherFramer
from meterkast.p1.convert import to_telegram_data
from meterkast.p1.crypto import decode_cipher_frame, decrypt_telegram, encrypt_telegram
from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.p1.plan import P1Decoder
from tests.p1.corpus import samples
from tests.p1.odd_corpus import ODD

GOLDEN = [s.data for s in samples()] + [o.data for o in ODD]
ALPHABET = b"0123456789()*:.-!/\r\nSWsw \t\xab"
KEY, AUTH = b"\xaa" * 16, b"\xbb" * 16
CIPHERED = [
    encrypt_telegram(g, encryption_key=KEY, authentication_key=AUTH, system_title=b"SYSTEMID", invocation_counter=n)
    for n, g in enumerate(GOLDEN[:4], start=1)
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes] = GOLDEN, *, rounds: int = 4, alphabet: bytes | None = ALPHABET,
            span: int = 8) -> bytes:
    """One of ``seeds`` with 1..``rounds`` flips, replacements from ``alphabet`` (None: none), insertions and
    deletions of up to ``span`` bytes, or a truncation."""
    data = bytearray(draw(st.sampled_from(seeds)))
    kinds = ["flip", "insert", "delete", "truncate"] + (["set"] if alphabet else [])
    for _ in range(draw(st.integers(1, rounds))):
        position = draw(st.integers(0, len(data) - 1))
        kind = draw(st.sampled_from(kinds))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and alphabet:
            data[position] = draw(st.sampled_from(alphabet))
        elif kind == "insert":
            data[position:position] = draw(st.binary(max_size=span))
        elif kind == "delete":
            del data[position : position + draw(st.integers(1, span))]
        else:
            del data[position:]
        if not data:
            break
    return bytes(data)


def exercise(data: bytes, decoder: P1Decoder) -> None:
    for strict in (False, True):
        for lenient in (False, True):
            with contextlib.suppress(MeterkastError):
                telegram = decode_telegram(data, strict=strict, lenient=lenient)
                to_telegram_data(telegram)
            with contextlib.suppress(MeterkastError):
                decode_telegram(data.decode("latin-1"), strict=strict, lenient=lenient)
            with contextlib.suppress(MeterkastError):
                decoder.decode(data, strict=strict, lenient=lenient)
    with contextlib.suppress(MeterkastError):
        decode_telegram(data.decode("utf-8", "replace"))  # text that is not all octets
    framer = P1Framer()
    for frame in framer.feed(data) + framer.feed(data) + framer.flush():
        with contextlib.suppress(MeterkastError):
            decode_telegram(frame.data)
    with contextlib.suppress(MeterkastError):
        decrypt_telegram(data, encryption_key=KEY, authentication_key=AUTH)


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


def mutated_cipher() -> st.SearchStrategy[bytes]:
    return mutated(CIPHERED, rounds=3, alphabet=None, span=4)


@settings(max_examples=200, deadline=None)
@given(mutated_cipher() | st.binary(max_size=200), st.integers(1, 64), st.sampled_from([None, 0, 2**32 - 1]))
def test_cipher_path(data: bytes, chunk: int, last: int | None) -> None:
    with contextlib.suppress(MeterkastError):
        decode_cipher_frame(data)
    with contextlib.suppress(MeterkastError):
        decrypt_telegram(data, encryption_key=KEY, authentication_key=AUTH, last_invocation_counter=last)
    framer = CipherFramer()
    for start in range(0, len(data) * 2, chunk):
        for frame in framer.feed((data + data)[start : start + chunk]):
            with contextlib.suppress(MeterkastError):
                decrypt_telegram(frame, encryption_key=KEY, authentication_key=AUTH)


@settings(max_examples=100, deadline=None)
@given(st.lists(mutated() | st.sampled_from(GOLDEN), min_size=1, max_size=8), st.integers(1, 300))
def test_a_stream_through_framer_and_decoder(telegrams: list[bytes], chunk: int) -> None:
    """The reader's path: chunks → P1Framer (and flush) → one stateful P1Decoder."""
    stream = b"".join(telegrams)
    framer, decoder = P1Framer(max_size=2048), P1Decoder()
    frames = [f for i in range(0, len(stream), chunk) for f in framer.feed(stream[i : i + chunk])]
    for frame in frames + framer.flush():
        with contextlib.suppress(MeterkastError):
            decoder.decode(frame.data)
    assert framer.pending == 0
