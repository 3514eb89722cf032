"""Both CRC-16/ARC backends of crc.py: the pure-Python folding and the optional fastcrc extension."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.p1 import crc
from meterkast.p1.crc import CHECK_VALUE, MASK_BYTES, crc16, crc16_python, crc16_table
from tests.p1.corpus import samples


@settings(max_examples=300)
@given(st.binary(max_size=3000))
def test_python_folding_equals_the_table(data: bytes) -> None:
    assert crc16_python(data) == crc16_table(data)


@pytest.mark.parametrize("size", [*range(40), 884, MASK_BYTES, MASK_BYTES + 1, 3 * MASK_BYTES + 5])
def test_python_folding_at_every_small_length_and_past_the_cache(size: int) -> None:
    data = bytes((i * 151 + 7) & 0xFF for i in range(size))
    assert crc16_python(data) == crc16_table(data)
    assert crc16_python(memoryview(data)) == crc16_python(bytearray(data)) == crc16_table(data)


def test_crc16_runs_on_python_when_fastcrc_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crc, "_ARC", None)
    assert crc16(b"123456789") == CHECK_VALUE
    for sample in samples():
        assert crc16(sample.data) == crc16_table(sample.data)


def test_fastcrc_backend_agrees() -> None:
    fast = pytest.importorskip("fastcrc").crc16.arc
    assert fast(b"123456789") == CHECK_VALUE
    for sample in samples():
        assert crc16(sample.data) == fast(sample.data) == crc16_python(sample.data)
    assert crc.BACKEND == "fastcrc"
