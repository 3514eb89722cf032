"""A damaged or missing CRC never passes for "no CRC" (issue 10, P1 integrity).

[P1-4.2.2 §5.2], [P1-5.0.2 §6.2]: a DSMR 4/5 telegram ends ``!CRC`` CR LF; only DSMR 2.2/3
([P1-3.0 §5.2]) ends with a bare ``!``. Text after ``!`` that is not blank and not a CRC (``!Q002``
where ``!1002`` was sent) means the CRC was damaged on the line: the values are not verified
(``crc_ok=False``) and a problem says so, on every path: ``decode_telegram``, ``P1Decoder`` (its
line-by-line path included), ``P1Framer``. A telegram whose version line says DSMR 4 or later with
nothing after ``!`` is not verified either (dsmr_parser's V4/V5 specs refuse it: "The content or CRC
value is missing").
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from meterkast.errors import ChecksumError
from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.p1.plan import P1Decoder
from tests.p1.odd_corpus import FLUVIUS, V3, V5, V42, with_crc

DSMR4_PLUS = {"v5": V5, "v4_2": V42, "fluvius": FLUVIUS}


def tampered(data: bytes) -> bytes:
    """One digit of the first register changed and, with it, the CRC's first digit turned into 'Q'."""
    changed = re.sub(rb"(1-0:1\.8\.1\(\d*)\d", lambda m: m.group(1) + b"7", data, count=1)
    assert changed != data
    bang = changed.index(b"!")
    return changed[: bang + 1] + b"Q" + changed[bang + 2 :]


def no_crc(data: bytes) -> bytes:
    return data[: data.index(b"!") + 1] + b"\r\n"


def framed(data: bytes, chunk: int | None = None) -> list[tuple[int | None, bool | None]]:
    framer = P1Framer()
    frames = []
    step = chunk or len(data)
    for at in range(0, len(data), step):
        frames += framer.feed(data[at : at + step])
    frames += framer.flush()
    return [(f.crc, f.crc_ok) for f in frames]


@pytest.mark.parametrize("name", DSMR4_PLUS)
@pytest.mark.parametrize("damage", [tampered, no_crc], ids=["garbled", "missing"])
def test_every_path_flags_a_damaged_or_missing_crc(name: str, damage: object) -> None:
    good = DSMR4_PLUS[name]
    assert callable(damage)
    bad = damage(good)
    telegram = decode_telegram(bad)
    assert telegram.crc_ok is False and telegram.crc is None
    assert len(telegram.errors) == 1 and "CRC" in telegram.errors[0].reason
    assert telegram.values  # still shown, flagged
    decoder = P1Decoder()
    decoder.decode(good)  # the next one goes the line-by-line way first
    assert repr(decoder.decode(bad)) == repr(telegram)
    assert repr(P1Decoder().decode(bad)) == repr(telegram)
    for chunk in (None, 1, 7, 64):
        assert framed(good + bad + good, chunk)[1] == (None, False), chunk


@pytest.mark.parametrize("crc_line", [b"!Q002", b"! Q002", b"!\tzz", b"!-", b"!QEEE junk"])
def test_text_where_the_crc_belongs_is_a_bad_crc_even_for_dsmr_3(crc_line: bytes) -> None:
    bad = V3[: V3.index(b"!")] + crc_line + b"\r\n"
    telegram = decode_telegram(bad)
    assert telegram.crc_ok is False
    assert [e.line for e in telegram.errors] == [bad.count(b"\n")]
    assert framed(bad) == [(None, False)]
    assert framed(V3 + bad + V3) == [(None, None), (None, False), (None, None)]


def test_a_crc_that_starts_with_digits_then_breaks_is_read_and_found_wrong() -> None:
    good = with_crc(V5)
    bang = good.index(b"!")
    bad = good[: bang + 2] + b"Q" + good[bang + 3 :]  # "!6QEE": CRC 6, which cannot match
    assert decode_telegram(bad).crc_ok is False
    assert framed(bad)[0][1] is False


def test_dialects_without_crc_stay_unverified_without_a_problem() -> None:
    for data in (V3, V3.replace(b"!\r\n", b"!\0\r\n"), V3.replace(b"!\r\n", b"! \r\n")):
        telegram = decode_telegram(data)
        assert (telegram.crc, telegram.crc_ok, telegram.errors) == (None, None, ())
        assert framed(data) == [(None, None)]
    old = V42.replace(b"1-3:0.2.8(42)", b"1-3:0.2.8(30)")  # no meter sends it, but it is not DSMR 4
    assert decode_telegram(no_crc(old)).crc_ok is None


def test_strict_refuses_a_missing_crc_where_one_is_required() -> None:
    with pytest.raises(ChecksumError):
        decode_telegram(no_crc(V5), strict=True)
    with pytest.raises(ChecksumError):
        decode_telegram(tampered(V5), strict=True)
    assert decode_telegram(V3, strict=True).crc_ok is None


@settings(max_examples=200, deadline=None)
@given(
    body=st.sampled_from([V3, V42, V5]),
    tail=st.binary(max_size=12).filter(lambda b: b"/" not in b and b"\n" not in b),
    chunk=st.integers(1, 50),
)
@example(body=V3, tail=b"\x00\x01", chunk=1)  # found under load: the framer ended the line at the NUL
def test_framer_and_decoder_agree_on_any_crc_line(body: bytes, tail: bytes, chunk: int) -> None:
    """Whatever follows '!' on its line, the framer and the decoder give the same CRC status, and
    text there that is not blank is never "no CRC"."""
    data = body[: body.index(b"!") + 1] + tail + b"\r\n"
    framer = P1Framer()
    frames = [f for at in range(0, len(data), chunk) for f in framer.feed(data[at : at + chunk])] + framer.flush()
    assert frames
    telegram = decode_telegram(frames[0].data)
    assert frames[0].crc_ok is telegram.crc_ok
    if tail.strip(b" \t\r\0"):
        assert telegram.crc_ok is False or telegram.crc is not None
