"""Odd field telegrams: meterkast reads every value dsmr_parser reads, with the same value (issue 10).

The telegrams (tests/p1/odd_corpus.py) are real ones with one field quirk each. A line dsmr_parser
cannot read (it logs and skips it, or gives None) is not compared; meterkast lists it as a problem
or reads more. No telegram is dropped: every one decodes, with its problems beside its values.
"""

from __future__ import annotations

import logging

import pytest

from meterkast.p1.decode import decode_telegram
from meterkast.p1.plan import P1Decoder
from tests.p1.dsmr_compare import compare_read
from tests.p1.odd_corpus import ODD, Odd


@pytest.mark.parametrize("odd", ODD, ids=lambda o: o.name)
def test_reads_what_dsmr_parser_reads(odd: Odd, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="dsmr_parser")  # it logs every line it skips
    ours = decode_telegram(odd.data)
    assert ours.crc_ok is odd.crc_ok
    assert len(ours.errors) == odd.problems, ours.errors
    results = compare_read(odd.data.decode("latin-1"), odd.dsmr_spec, ours)
    assert [r for r in results if not r[2]] == []
    if b"\r\n" in odd.data:  # dsmr_parser's line patterns need CR LF; with it, it reads something
        assert results


@pytest.mark.parametrize("odd", ODD, ids=lambda o: o.name)
def test_the_per_meter_decoder_agrees(odd: Odd) -> None:
    decoder = P1Decoder()
    first = decoder.decode(odd.data)
    assert repr(first) == repr(decode_telegram(odd.data))
    assert repr(decoder.decode(odd.data)) == repr(first)  # the planned / line-by-line path too


def test_every_quirk_keeps_the_telegram() -> None:
    kept = [o.name for o in ODD if decode_telegram(o.data).values]
    assert kept == [o.name for o in ODD]
