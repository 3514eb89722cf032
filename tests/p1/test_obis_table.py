"""The OBIS table, the specs and the corpus agree (obis.py, specs.py)."""

from __future__ import annotations

import re

import pytest

from meterkast.p1.decode import LAYOUT_DECODERS, decode_telegram
from meterkast.p1.obis import ALL_VERSIONS, BY_CODE, TABLE, Layout, lookup
from meterkast.p1.specs import FIELDS, SPECS, profile
from tests.p1.corpus import Sample, samples


def test_codes_and_names_are_unique() -> None:
    assert len(BY_CODE) == len(TABLE)
    assert len({obj.name for obj in TABLE}) == len(TABLE)
    for obj in TABLE:
        assert re.fullmatch(r"\d+-(\d+|n):\d+\.\d+\.\d+", obj.code), obj.code
        assert re.fullmatch(r"[a-z][a-z0-9_]*", obj.name), obj.name
        assert obj.versions and obj.versions <= ALL_VERSIONS, obj.code


def test_every_layout_has_a_decoder() -> None:
    assert set(LAYOUT_DECODERS) == set(Layout)


@pytest.mark.parametrize("spec", SPECS.values(), ids=lambda s: s.name)
def test_every_spec_line_is_in_the_table_for_that_version(spec: object) -> None:
    for code in spec.codes:  # type: ignore[attr-defined]
        obj = BY_CODE[code]
        assert spec.name in obj.versions, f"{code} is written by {spec.name} but the table does not say so"  # type: ignore[attr-defined]


def test_every_field_has_a_table_entry_and_a_format() -> None:
    for field in FIELDS:
        assert BY_CODE[field.code].fmt is not None


# The NWA WarmteLink heat interface sends the 4.x text-code line in a telegram marked version 50.
QUIRKS = {"unpadded_crc": {"0-0:96.13.1"}}


@pytest.mark.parametrize("sample", samples(), ids=lambda s: s.name)
def test_every_line_of_every_real_telegram_is_known(sample: Sample) -> None:
    telegram = decode_telegram(sample.data)
    assert telegram.unknown == ()
    carried = {obj.code for obj in profile(sample.dialect)} | QUIRKS.get(sample.name, set())
    for code in telegram.values:
        obj = lookup(code)
        assert obj is not None
        assert obj.code in carried, f"{sample.name}: {code} is not listed for {sample.dialect}"


def test_lookup_of_channels() -> None:
    assert lookup("0-3:24.2.1") is BY_CODE["0-n:24.2.1"]
    assert lookup("0-0:24.2.1") is None
    assert lookup("9-9:9.9.9") is None
