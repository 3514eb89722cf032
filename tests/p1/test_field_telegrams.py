"""Real field telegrams (tests/p1/field_telegrams.py): every one is read, as dsmr_parser reads it."""

from __future__ import annotations

import logging

import pytest

from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.p1.scan import scan_telegrams
from tests.p1.dsmr_compare import compare_read
from tests.p1.field_telegrams import FIELD, Field


@pytest.mark.parametrize("sample", FIELD, ids=lambda f: f.name)
def test_a_field_telegram_is_read_like_dsmr_parser_reads_it(sample: Field, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="dsmr_parser")
    framer = P1Framer()
    (frame,) = framer.feed(sample.data) + framer.flush()  # end of input ends it, CR LF or not
    telegram = decode_telegram(frame.data)
    assert telegram.crc_ok is sample.crc_ok
    assert {code: telegram.decimal(code) for code in sample.expected} == sample.expected
    results = compare_read(sample.data.decode("latin-1"), sample.dsmr_spec, telegram)
    assert results and [r for r in results if not r[2]] == []


def test_a_capture_of_all_of_them_shows_every_one() -> None:
    scanned = scan_telegrams(b"".join(f.data + b"\r\n" for f in FIELD))
    assert [s.telegram is not None for s in scanned] == [True] * len(FIELD)
    assert [s.telegram.crc_ok for s in scanned if s.telegram] == [f.crc_ok for f in FIELD]
