"""decode(encode(x)) == x for generated TelegramData, per version (STYLE 6)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.p1.convert import to_telegram_data
from meterkast.p1.data import TelegramData
from meterkast.p1.decode import decode_telegram
from meterkast.p1.encode import encode_telegram
from tests.p1.strategies import in_utc, telegram_data


@pytest.mark.parametrize("version", ["4", "4.2", "5", "2.2"])
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_round_trip(version: str, data: st.DataObject) -> None:
    original: TelegramData = data.draw(telegram_data(version))
    encoded = encode_telegram(original, version)
    decoded = to_telegram_data(decode_telegram(encoded, strict=True))
    assert decoded == original
    assert in_utc(decoded) == in_utc(original)  # instants, autumn fold included
    assert encode_telegram(decoded, version) == encoded


@settings(max_examples=150, deadline=None)
@given(telegram_data("5"), st.data())
def test_a_changed_byte_is_reported(original: TelegramData, data: st.DataObject) -> None:
    encoded = encode_telegram(original, "5")
    bang = encoded.index(b"!")
    position = data.draw(st.integers(1, bang - 1))
    new = data.draw(st.integers(0x20, 0x7E).filter(lambda b: b != encoded[position] and b not in b"!/"))
    changed = encoded[:position] + bytes([new]) + encoded[position + 1 :]
    assert decode_telegram(changed, lenient=True).crc_ok is False
