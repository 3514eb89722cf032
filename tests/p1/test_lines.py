"""P1Decoder's line-by-line path (lines.py) gives what decode_telegram gives, telegram by telegram.

Streams start from a corpus telegram and mutate it step by step: digits of values change (sometimes
into impossible dates or numbers), characters are replaced by ones that break lines or values, lines
are inserted, removed or swapped, and the CRC is recomputed. In the middle come telegrams with a bad
CRC or cut short; those are not the base of the next step, and what follows them must still decode
as the general path decodes it (a bad telegram must not leave anything behind).
"""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkast.errors import MeterkastError
from meterkast.p1 import plan
from meterkast.p1.crc import crc16
from meterkast.p1.decode import decode_plain as decode_telegram  # the reference: no caches
from meterkast.p1.plan import P1Decoder
from meterkast.p1.telegram import Telegram
from tests.p1.corpus import Sample, by_name, samples

_DIGIT = re.compile(rb"\d")
_NOISE = b"0123456789.*()SWkVA-:\r\n!/ "


def with_crc(data: bytes) -> bytes:
    """``data`` with its CRC (if it has one) recomputed over ``/`` through ``!``."""
    start, bang = data.find(b"/"), data.find(b"!")
    if bang < 0:
        return data
    match = re.match(rb"[0-9A-Fa-f]{1,4}", data[bang + 1 :])
    if match is None:
        return data
    return data[: bang + 1] + f"{crc16(data[start : bang + 1]):04X}".encode() + data[bang + 1 + match.end() :]


def mutate(data: bytes, rng: random.Random, operation: str) -> bytes:  # noqa: PLR0911  # one per operation
    """One step of a meter's stream: ``data`` changed by ``operation`` (see the module docstring)."""
    head_end = data.find(b"\n") + 1
    bang = data.find(b"!")
    if bang < head_end:
        return data
    head, body, tail = data[:head_end], data[head_end:bang], data[bang:]
    lines = body.split(b"\r\n")
    if operation == "digits":
        spots = [
            m.start() for m in _DIGIT.finditer(body) if body.rfind(b"(", 0, m.start()) > body.rfind(b"\n", 0, m.start())
        ]
        chosen = rng.sample(spots, min(len(spots), rng.randint(1, 8)))
        edited = bytearray(body)
        for spot in chosen:
            edited[spot] = rng.choice(b"0123456789")
        return with_crc(head + bytes(edited) + tail)
    if operation == "noise" and body:
        spot = rng.randrange(len(body))
        return with_crc(head + body[:spot] + bytes([rng.choice(_NOISE)]) + body[spot + 1 :] + tail)
    if operation == "insert":
        line = rng.choice([*lines, b"9-9:9.9.9(123)", b"0-1:24.2.1(170102161005W)(00000.107*m3)", b"(00001.001)"])
        lines.insert(rng.randrange(len(lines) + 1), line)
    elif operation == "remove" and len(lines) > 1:
        del lines[rng.randrange(len(lines))]
    elif operation == "swap" and len(lines) > 1:
        i, j = rng.sample(range(len(lines)), 2)
        lines[i], lines[j] = lines[j], lines[i]
    elif operation == "bad crc" and tail[1:2] not in (b"\r", b"\n", b""):
        return data[:bang] + b"!" + bytes([tail[1] ^ 1]) + tail[2:]  # one bit off in the first hex digit
    elif operation == "bare lf":
        return with_crc(data.replace(b"\r\n", b"\n"))
    elif operation == "cut":
        return data[: rng.randrange(len(data))]
    return with_crc(head + b"\r\n".join(lines) + tail)


def outcome(decode: object, data: bytes, strict: bool, lenient: bool) -> tuple[str, str]:
    """What decoding gave, exactly: the exception's type and message, or the telegram's repr.

    ``repr`` tells Decimal("1.0") from Decimal("1.00") and shows a datetime's fold; == does neither.
    """
    assert callable(decode)
    try:
        telegram = decode(data, strict=strict, lenient=lenient)
    except MeterkastError as exc:
        return type(exc).__name__, str(exc)
    assert isinstance(telegram, Telegram)
    return "ok", repr(telegram)


OPERATIONS = ["digits", "digits", "digits", "same", "noise", "insert", "remove", "swap", "bad crc", "cut", "bare lf"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(samples()),
    operations=st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
    strict=st.booleans(),
    lenient=st.booleans(),
)
def test_a_mutated_stream_decodes_as_the_general_path(
    sample: Sample, operations: list[str], seed: int, strict: bool, lenient: bool
) -> None:
    rng = random.Random(seed)
    decoder = P1Decoder()
    current = sample.data
    assert outcome(decoder.decode, current, strict, lenient) == outcome(decode_telegram, current, strict, lenient)
    for operation in operations:
        data = mutate(current, rng, operation)
        assert outcome(decoder.decode, data, strict, lenient) == outcome(decode_telegram, data, strict, lenient)
        if operation not in ("bad crc", "cut"):
            current = data  # a damaged telegram is not what the meter sends next


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_changed_lines_decode_without_the_general_path(sample: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first telegram, changed values go through lines.py alone (no framing, plan or general path)."""
    rng = random.Random(sample.name)
    decoder = P1Decoder()
    decoder.decode(sample.data, strict=True)
    telegrams = [sample.data]
    for _ in range(20):
        telegrams.append(mutate(telegrams[-1], rng, "same"))
    changed = [with_crc(_bump_numbers(data, rng)) for data in telegrams]
    expected = [decode_telegram(data, strict=True) for data in changed]

    def no_framing(*_: object, **__: object) -> object:
        raise AssertionError("the general path was taken")

    monkeypatch.setattr(plan, "frame_telegram", no_framing)
    for data, want in zip(changed, expected, strict=True):
        assert repr(decoder.decode(data, strict=True)) == repr(want)


def _bump_numbers(data: bytes, rng: random.Random) -> bytes:
    """Every ``(digits.digits*unit)`` number of the body gets new digits (same width)."""

    def bump(match: re.Match[bytes]) -> bytes:
        digits = bytes(rng.choice(b"0123456789") if c in b"0123456789" else c for c in match.group(1))
        return b"(" + digits + match.group(2)

    head_end = data.find(b"\n") + 1
    bang = data.find(b"!")
    body = re.sub(rb"\((\d+\.\d+)(\*\w+\))(?=\r\n)", bump, data[head_end:bang])
    return data[:head_end] + body + data[bang:]


def test_a_bad_crc_in_strict_mode_raises_and_leaves_the_state() -> None:
    decoder = P1Decoder()
    good = by_name("v5").data
    decoder.decode(good, strict=True)
    changed = with_crc(good.replace(b"1-0:1.7.0(00.244*kW)", b"1-0:1.7.0(00.245*kW)"))
    bang = changed.index(b"!")
    damaged = changed[: bang + 1] + (b"0000" if changed[bang + 1 : bang + 5] != b"0000" else b"0001") + b"\r\n"
    with pytest.raises(MeterkastError):
        decoder.decode(damaged, strict=True)
    lenient = decoder.decode(damaged)
    assert lenient.crc_ok is False
    assert repr(lenient) == repr(decode_telegram(damaged))
    assert repr(decoder.decode(good, strict=True)) == repr(decode_telegram(good, strict=True))
    assert repr(decoder.decode(changed, strict=True)) == repr(decode_telegram(changed, strict=True))


def _edit(data: bytes, *replacements: tuple[bytes, bytes]) -> bytes:
    for old, new in replacements:
        assert old in data
        data = data.replace(old, new)
    return with_crc(data)


def test_lines_seen_before_at_another_place_are_not_taken_from_the_memo() -> None:
    decoder = P1Decoder()
    first = by_name("v5").data
    second = _edit(
        first, (b"1-0:32.7.0(0230.0*V)", b"1-0:32.7.0(0231.0*V)"), (b"1-0:52.7.0(0230.0*V)", b"1-0:52.7.0(0232.0*V)")
    )
    swapped = _edit(
        second,
        (b"1-0:32.7.0(0231.0*V)", b"SWAP"),
        (b"1-0:52.7.0(0232.0*V)", b"1-0:32.7.0(0231.0*V)"),
        (b"SWAP", b"1-0:52.7.0(0232.0*V)"),
    )
    for data in (first, second, first, swapped, second):
        assert repr(decoder.decode(data, strict=True)) == repr(decode_telegram(data, strict=True))


def test_a_line_that_a_continuation_line_follows_goes_to_the_general_path() -> None:
    """DSMR 2.2/3 continue an entry on the next line, "(…)"; the line alone is not the entry."""
    decoder = P1Decoder()
    base = by_name("v5").data.replace(b"0-0:96.13.0()\r\n", b"0-0:96.13.0()\r\n9-9:9.9.9(1)(2)\r\n(3)\r\n")
    for data in (with_crc(base), _edit(base, (b"9-9:9.9.9(1)(2)", b"9-9:9.9.9(1)(5)"))):
        assert repr(decoder.decode(data, strict=True)) == repr(decode_telegram(data, strict=True))


@pytest.mark.parametrize(
    "stamps",
    [
        # the autumn fold: 02:59:50 summer time, then the repeated hour in winter time (fold=1)
        [b"231029025950S", b"231029025959S", b"231029020000W", b"231029020009W", b"231029020059W", b"231029020100W"],
        # seconds the calendar does not have, then a good one again
        [b"170102192002W", b"170102192060W", b"170102192099W", b"170102192003W", b"170102192003S"],
    ],
)
def test_time_stamps_that_move_by_seconds(stamps: list[bytes]) -> None:
    decoder = P1Decoder()
    base = by_name("v5").data
    for stamp in stamps:
        data = _edit(base, (b"0-0:1.0.0(170102192002W)", b"0-0:1.0.0(" + stamp + b")"))
        assert outcome(decoder.decode, data, True, False) == outcome(decode_telegram, data, True, False)
