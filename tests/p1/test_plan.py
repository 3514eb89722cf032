"""P1Decoder's compiled shape plans give exactly what the general decoder gives (plan.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import RecordError
from meterkast.p1.decode import decode_plain as decode_telegram  # the reference: no caches
from meterkast.p1.encode import encode_telegram
from meterkast.p1.plan import P1Decoder
from tests.p1.corpus import Sample, by_name, samples
from tests.p1.strategies import telegram_data


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_planned_equals_general(sample: Sample) -> None:
    decoder = P1Decoder()
    first = decoder.decode(sample.data)
    second = decoder.decode(sample.data)
    assert decoder.planned == 1
    assert first == second == decode_telegram(sample.data)
    assert [type(v) for v in second.values.values()] == [type(v) for v in first.values.values()]


@pytest.mark.parametrize("version", ["4", "5", "2.2"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_same_shape_new_values(version: str, data: st.DataObject) -> None:
    decoder = P1Decoder()
    first = data.draw(telegram_data(version))
    decoder.decode(encode_telegram(first, version))
    second = encode_telegram(data.draw(telegram_data(version)), version)
    assert decoder.decode(second) == decode_telegram(second)


def test_a_bad_value_in_a_planned_shape_goes_to_the_general_path() -> None:
    decoder = P1Decoder()
    good = by_name("v4_2").data
    decoder.decode(good)
    bad = good.replace(b"161113205757W", b"16111320575xW")  # not a stamp, same length
    with pytest.raises(RecordError, match="line 4"):
        decoder.decode(bad, lenient=False)
    assert decoder.decode(bad).errors[0].line == 4


def test_shapes_are_bounded() -> None:
    decoder = P1Decoder(max_shapes=2)
    for sample in samples():
        decoder.decode(sample.data)
    assert len(decoder._plans) == 2
