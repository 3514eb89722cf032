"""Value formats Fn(x,y), In, Sn and hex octet strings ([P1-4.0.7 §5.4–5.5])."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meterkast.errors import RecordError
from meterkast.p1 import formats as f
from meterkast.p1.convert import to_telegram_data
from meterkast.p1.decode import decode_telegram
from meterkast.p1.values import Quantity
from tests.p1.real_telegrams import REAL


@pytest.mark.parametrize(
    ("fmt", "value", "text"),
    [
        (f.F9_3, Decimal("123456.789"), "123456.789"),
        (f.F9_3, Decimal("1.5"), "000001.500"),
        (f.F5_3, Decimal("0.374"), "00.374"),
        (f.F4_1, Decimal("229"), "229.0"),
        (f.F3_0, Decimal("2"), "002"),
        (f.F8_2, Decimal("1234.5"), "001234.50"),
        (f.F6_2, Decimal("0.89"), "0000.89"),
        (f.F5_0, 4, "00004"),
        (f.F10_0, 9606, "0000009606"),
        (f.I1, 1, "1"),
        (f.S4, 2, "0002"),
        (f.S2, "42", "42"),
        (f.S96_HEX, "E0031003239456716", "4530303331303033323339343536373136"),
    ],
)
def test_encode(fmt: f.Format, value: object, text: str) -> None:
    assert fmt.encode(value) == text


@pytest.mark.parametrize(
    ("fmt", "value"),
    [
        (f.F9_3, Decimal("1.2345")),  # would need rounding
        (f.F9_3, Decimal("1000000")),  # too wide
        (f.F9_3, Decimal("-1")),
        (f.F9_3, Decimal("NaN")),
        (f.F9_3, 1.5),
        (f.F5_0, -1),
        (f.F5_0, 100000),
        (f.F5_0, True),
        (f.S2, "123"),
        (f.S2, "a)"),
        (f.S16_HEX, "123456789"),
        (f.S96_HEX, "€"),
    ],
)
def test_encode_refuses(fmt: f.Format, value: object) -> None:
    with pytest.raises(RecordError):
        fmt.encode(value)


def test_from_value_scales_units() -> None:
    assert f.F9_3.from_value(Quantity(Decimal(6545766), "Wh"), "kWh") == Decimal("6545.766")
    with pytest.raises(RecordError, match="converted"):
        f.F9_3.from_value(Quantity(Decimal(1), "m3"), "kWh")


def test_octets() -> None:
    assert f.decode_octets("4730303139") == "G0019"
    assert f.decode_octets("09610") == "09610"  # odd length: sent in clear
    assert f.decode_octets("1ESY1336001560") == "1ESY1336001560"  # not hex
    assert f.S96_HEX.from_value("ADC3", None) == "\xad\xc3"  # Latin-1: every byte survives


def test_unit_case_carries_no_meaning_when_converting() -> None:
    (lower,) = [r for r in REAL if r.name.startswith("DSMR 5 example, lowercase units")]
    data = to_telegram_data(decode_telegram(lower.data))
    assert data.import_t1_kwh == Decimal("123456.789")
    assert data.voltage_v == (Decimal("220.1"), Decimal("220.2"), Decimal("220.3"))
