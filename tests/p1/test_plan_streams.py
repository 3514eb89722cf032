"""P1Decoder's value memos gives what the general decoder gives, on streams whose lines change (plan.py)."""

from __future__ import annotations

import random

import pytest
from benchmarks.bench_p1_parse import stream as changing_stream

from meterkast.p1 import plan
from meterkast.p1.decode import decode_plain as decode_telegram  # the reference: no caches
from meterkast.p1.plan import P1Decoder
from tests.p1.corpus import Sample, samples


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_a_changing_stream_decodes_as_the_general_path(sample: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "MEMO_VALUES", 16)  # empty the memos often, mid-stream
    decoder = P1Decoder()
    telegrams = [sample.data, *changing_stream(sample.data, 40, random.Random(sample.name))]
    for data in telegrams:
        assert decoder.decode(data, strict=True) == decode_telegram(data, strict=True)
    assert decoder.planned == len(telegrams) - 1
