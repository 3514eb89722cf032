"""What the decoder and framer tolerate (docs/p1.md, "What the decoder tolerates"; issue 10)."""

from __future__ import annotations

from datetime import datetime

import pytest

from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.p1.plan import P1Decoder
from meterkast.p1.timestamps import decode_tst, is_placeholder
from meterkast.p1.values import CapturedValue, PowerFailure, RawValue
from tests.p1.corpus import by_name
from tests.p1.odd_corpus import V5, V42, with_crc

EMPTY = b"/ISk5\\2MT3\n!3F97\r\n"  # valid CRC, no data lines


def test_a_telegram_without_data_lines_decodes_every_time() -> None:
    decoder = P1Decoder()
    for _ in range(3):
        telegram = decoder.decode(EMPTY)
        assert telegram.values == {} and telegram.crc_ok is True and telegram.errors == ()


def test_dst_flag_in_either_case() -> None:
    assert decode_tst("150701190000s") == decode_tst("150701190000S")
    assert decode_tst("201025023000w").fold == 1  # the repeated autumn hour: winter time, as with "W"


def test_placeholder_stamps_keep_the_line() -> None:
    assert is_placeholder("632525252525W") and not is_placeholder("150701190000S")
    assert not is_placeholder("6325252525W")  # malformed, not a placeholder
    data = with_crc(V42.replace(b"0-1:24.2.1(161129200000W)", b"0-1:24.2.1(632525252525W)"))
    telegram = decode_telegram(data)
    assert telegram["0-1:24.2.1"] == CapturedValue(None, telegram.mbus[1].reading.value, "m3")  # type: ignore[union-attr]
    assert telegram.errors == () and telegram.notes[0].text.startswith("0-1:24.2.1(632525252525W)")
    assert decode_telegram(data, lenient=False) == telegram  # an odd but meaningful field: no problem
    assert P1Decoder().decode(data) == telegram
    stamp = with_crc(V5.replace(b"0-0:1.0.0(170102192002W)", b"0-0:1.0.0(632525252525W)"))
    assert decode_telegram(stamp)["0-0:1.0.0"] == RawValue(("632525252525W",))
    log = with_crc(V42.replace(b"(000101000001W)", b"(632525252525W)"))
    entries = decode_telegram(log)["1-0:99.97.0"]
    assert isinstance(entries, tuple) and entries[1] == PowerFailure(None, 2147583646)
    assert isinstance(entries[0], PowerFailure) and isinstance(entries[0].end, datetime)


def test_bytes_are_bytes() -> None:
    data = with_crc(V5.replace(b"0-0:96.13.0()", b"0-0:96.13.0(\xab\xff\x00)").replace(b"2MT382", b"2MT\xab382"))
    telegram = decode_telegram(data)
    assert telegram.crc_ok is True and telegram["0-0:96.13.0"] == "\xab\xff\x00"
    assert P1Decoder().decode(data) == telegram
    assert decode_telegram(data.decode("latin-1")) == telegram


def test_crc_mismatch_keeps_every_value() -> None:
    bad = V5.replace(b"000004.426", b"000004.427")
    telegram = decode_telegram(bad)
    assert telegram.crc_ok is False and telegram.decimal("1-0:1.8.1") is not None and telegram.errors == ()


def test_framer_end_of_input_ends_the_last_telegram() -> None:
    framer = P1Framer()
    assert framer.feed(V5.rstrip(b"\r\n")) == []  # the CRC line might still be arriving
    (frame,) = framer.flush()
    assert frame.crc_ok is True and framer.pending == 0
    framer.feed(V5[:100])
    assert framer.flush() == [] and framer.counters.truncated == 1


@pytest.mark.parametrize("tail", [b"", b"\r", b"\r\n", b"\n", b" junk\r\n", b"junk", b"\x00\xff"], ids=repr)
def test_framer_reads_the_crc_whatever_follows(tail: bytes) -> None:
    framer = P1Framer()
    body = V5.rstrip(b"\r\n")
    frames = framer.feed(body + tail + V42) + framer.flush()
    assert [f.crc_ok for f in frames] == [True, True]
    assert frames[0].data.startswith(body)


def test_framer_resyncs_after_a_cut_off_telegram() -> None:
    framer = P1Framer()
    frames = framer.feed(b"noise" + V5[:200] + V42 + V5[:-30] + b"\r\n" + EMPTY) + framer.flush()
    assert [f.crc_ok for f in frames] == [True, True]
    assert framer.counters.truncated == 2


def test_lowercase_crc_and_text_after_it() -> None:
    assert decode_telegram(with_crc(V5, case="lower")).crc_ok is True
    telegram = decode_telegram(V5.rstrip(b"\r\n") + b"\tgarbage\r\n")
    assert telegram.crc_ok is True and [e.reason for e in telegram.errors] == ["text after the CRC ignored"]
    assert decode_telegram(V5.replace(b"!6EEE", b"!zz")).crc is None


def test_stamps_without_their_dst_letter_read_as_dsmr_parser_reads_them() -> None:
    data = with_crc(V42.replace(b"0-0:1.0.0(161113205757W)", b"0-0:1.0.0(161113205757)"))
    telegram = decode_telegram(data)
    assert telegram.errors == () and telegram.timestamp == decode_tst("161113205757S")
    gas = with_crc(V42.replace(b"0-1:24.2.1(161129200000W)", b"0-1:24.2.1(161129200000)"))
    assert decode_telegram(gas).mbus[1].reading.time == decode_tst("161129200000S")  # type: ignore[union-attr]


def test_a_short_header_and_extra_carriage_returns() -> None:
    short = with_crc(V5.replace(b"/ISk5\\2MT382-1000", b"/KAM"))
    telegram = decode_telegram(short)
    assert str(telegram.header) == "/KAM" and telegram.decimal("1-0:1.8.1") is not None
    assert telegram.errors == () and [e.line for e in telegram.notes] == [1]
    doubled = with_crc(V5.replace(b"*kWh)\r\n", b"*kWh)\r\r\n"))
    assert decode_telegram(doubled).errors == ()
    assert decode_telegram(doubled).values == decode_telegram(V5).values


def test_a_nul_after_the_crc_is_no_problem() -> None:
    """dsmr_parser's telegram pattern allows one NUL after the CRC; some adapters send it."""
    data = by_name("v5").data.rstrip(b"\r\n") + b"\0\r\n"
    for strict in (False, True):
        telegram = decode_telegram(data, strict=strict)
        assert telegram.crc_ok is True and telegram.errors == ()
