"""Every real telegram parses, and agrees with dsmr_parser on every field both know (issue 4)."""

from __future__ import annotations

import pytest
from dsmr_parser.exceptions import InvalidChecksumError

from meterkast.p1.crypto import encrypt_telegram
from meterkast.p1.decode import decode_telegram
from tests.p1.corpus import Sample, samples
from tests.p1.dsmr_compare import compare, parser_for

KEY, AUTH = b"\xaa" * 16, b"\xbb" * 16


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_agrees_with_dsmr_parser(sample: Sample) -> None:
    text = sample.data.decode("latin-1")
    ours = decode_telegram(sample.data, strict=True)
    assert ours.errors == () and ours.unknown == ()
    assert ours.crc_ok is (None if ours.crc is None else True)
    if sample.name == "sagemcom_t210_d_r":  # dsmr_parser's spec expects it encrypted
        frame = encrypt_telegram(
            sample.data,
            encryption_key=KEY,
            authentication_key=AUTH,
            system_title=b"SYSTEMID",
            invocation_counter=0x10000001,
        )
        theirs = parser_for(sample.dsmr_spec).parse(frame.hex(), KEY.hex(), AUTH.hex())
    else:
        theirs = parser_for(sample.dsmr_spec).parse(text)
    assert len(theirs) > 0
    results = compare(text, sample.dsmr_spec, ours)
    assert results, "no field in common"
    assert [r for r in results if not r[2]] == []


def test_both_reject_a_damaged_crc() -> None:
    sample = next(s for s in samples() if s.name == "v4_2")
    damaged = sample.data.replace(b"001581.123", b"001581.124")
    assert decode_telegram(damaged).crc_ok is False
    with pytest.raises(InvalidChecksumError):
        parser_for("V4").parse(damaged.decode())


def test_agreement_covers_every_dialect() -> None:
    compared = {s.dialect for s in samples()}
    assert compared >= {"2.2", "3", "4.2", "5", "fluvius", "q3d", "iskra-ie", "eon-hu", "sagemcom-t210"}
