"""CRC-16/ARC of P1 telegrams ([P1-4.2.2 §5.2]): the fast big-int method against the textbook one."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import ChecksumError
from meterkast.p1.crc import CHECK_VALUE, MASK_BYTES, check_crc, crc16, crc16_table, format_crc, parse_crc
from tests.p1.corpus import facts_telegrams, samples


def crc16_bitwise(data: bytes) -> int:
    """The definition: reflected 0xA001, init 0, no final XOR, one bit at a time."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def test_check_value() -> None:
    assert crc16(b"123456789") == CHECK_VALUE == crc16_bitwise(b"123456789") == 0xBB3D


def test_binascii_crc_hqx_is_a_different_crc() -> None:
    assert binascii.crc_hqx(b"123456789", 0) != CHECK_VALUE  # CRC-16/XMODEM, not ARC


@pytest.mark.parametrize("sample", [s for s in samples() if b"!\r" not in s.data], ids=lambda s: s.name)
def test_every_real_telegram_crc_matches(sample: object) -> None:
    data = sample.data  # type: ignore[attr-defined]
    bang = data.index(b"!")
    assert crc16(data[: bang + 1]) == int(data[bang + 1 :].strip(), 16)


def test_facts_telegrams_crc_matches() -> None:
    for data in facts_telegrams().values():
        bang = data.index(b"!")
        check_crc(data[: bang + 1], int(data[bang + 1 : bang + 5], 16))


@settings(max_examples=300)
@given(st.binary(max_size=3000))
def test_fast_equals_bitwise(data: bytes) -> None:
    assert crc16(data) == crc16_table(data) == crc16_bitwise(data)


@pytest.mark.parametrize("size", [0, 1, MASK_BYTES - 1, MASK_BYTES, MASK_BYTES + 1, 3 * MASK_BYTES])
def test_lengths_around_the_mask_size(size: int) -> None:
    data = bytes((i * 37 + 11) & 0xFF for i in range(size))
    assert crc16(data) == crc16_table(data)


@settings(max_examples=300)
@given(st.binary(min_size=1, max_size=2000), st.data())
def test_any_single_byte_change_is_detected(data: bytes, draw: st.DataObject) -> None:
    position = draw.draw(st.integers(0, len(data) - 1))
    new = draw.draw(st.integers(0, 255).filter(lambda b: b != data[position]))
    changed = data[:position] + bytes([new]) + data[position + 1 :]
    assert crc16(changed) != crc16(data)


def test_format_and_parse() -> None:
    assert format_crc(0xB9F) == "0B9F"
    assert parse_crc("B9F") == parse_crc("0b9f") == 0xB9F
    for bad in ("", "12345", "XYZ", "1 2"):
        with pytest.raises(ChecksumError):
            parse_crc(bad)
    with pytest.raises(ChecksumError, match="damaged"):
        check_crc(b"/abc!", 0)
