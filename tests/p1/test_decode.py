"""Decoding telegrams: values by OBIS, M-Bus by channel, CRC status, unknown and bad lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterkast.errors import ChecksumError, FrameError, RecordError
from meterkast.p1.decode import decode_telegram
from meterkast.p1.values import CapturedValue, GasProfile, MaxDemand, PowerFailure, Quantity, RawValue
from tests.p1.corpus import by_name, facts_telegrams

E350 = facts_telegrams()["DSMR 4.2 with gas — Landis+Gyr E350"]


def test_facts_e350_expected_decode() -> None:
    """The expected values DSMR-FACTS §1.6 gives for the Landis+Gyr E350 telegram."""
    t = decode_telegram(E350, strict=True)
    assert t.crc_ok is True and t.crc == 0xBB2A
    assert str(t.header) == "/XMX5LGBBFG1009325446" and t.header.flag == "XMX"
    assert t.p1_version == "42"
    assert t.timestamp == datetime(2019, 9, 5, 21, 40, 3, tzinfo=UTC).astimezone(UTC).replace(hour=19)
    assert t["1-0:1.8.1"] == Quantity(Decimal("3235.689"), "kWh")
    assert t.decimal("1-0:1.7.0") == Decimal("0.374")
    assert t["0-0:96.7.21"] == 3
    log = t["1-0:99.97.0"]
    assert log == (PowerFailure(datetime(2017, 1, 17, 5, 59, 12, tzinfo=UTC), 9606),)
    gas = t.mbus[1]
    assert gas.device_type == 3 and gas.equipment_text == "G0019340315370616"
    assert gas.reading == CapturedValue(datetime(2019, 9, 5, 19, 0, tzinfo=UTC), Decimal("1091.352"), "m3")


def test_two_mbus_channels_and_the_emptied_one() -> None:
    t = decode_telegram(by_name("v5_two_mbus").data)
    assert sorted(t.mbus) == [1, 2]
    assert t.mbus[1].equipment_id == ""
    assert t.mbus[1].reading == CapturedValue(datetime(1970, 1, 1, tzinfo=UTC), Decimal(0), None)
    assert t.mbus[2].reading is not None and t.mbus[2].reading.value == Decimal("246.138")


def test_dsmr22_gas_profile() -> None:
    t = decode_telegram(by_name("v2_2").data)
    assert t.crc is None and t.crc_ok is None
    profile = t["0-1:24.3.0"]
    assert isinstance(profile, GasProfile)
    assert profile.period_min == 60 and profile.capture_obis == "0-1:24.2.1" and profile.unit == "m3"
    assert profile.value == Decimal("1.001")
    assert t.mbus[1].valve == 1


def test_fluvius_max_demand_and_placeholder_stamp() -> None:
    t = decode_telegram(by_name("fluvius_v171_alt").data)
    history = t["0-0:98.1.0"]
    assert isinstance(history, tuple) and len(history) == 4
    assert isinstance(history[0], MaxDemand) and history[0].occurred is None  # 632525252525W
    assert t.mbus[1].reading is not None and t.mbus[1].reading.value == Decimal("92.287")  # 24.2.3


def test_eon_billing_values_are_kept_raw() -> None:
    t = decode_telegram(by_name("v5_eon_hu").data)
    assert isinstance(t["0-0:98.1.0"], RawValue)
    assert t["1-0:13.7.0"] == Quantity(Decimal("4.556"), None)


def test_unknown_lines_are_kept() -> None:
    data = E350.replace(b"1-0:32.36.0(00000)", b"1-0:99.99.9(12)(ab)")
    t = decode_telegram(data)
    assert t.crc_ok is False
    assert t.unknown == ("1-0:99.99.9",) and t["1-0:99.99.9"] == RawValue(("12", "ab"))


def test_crc_mismatch_is_reported_not_fatal_unless_strict() -> None:
    data = E350.replace(b"003235.689", b"003235.688")
    assert decode_telegram(data).crc_ok is False
    with pytest.raises(ChecksumError):
        decode_telegram(data, strict=True)


def test_bad_line_names_line_number_and_text() -> None:
    data = E350.replace(b"1-0:1.8.2(006777.240*kWh)", b"1-0:1.8.2(006777.2x0*kWh)")
    with pytest.raises(RecordError, match=r"line 7 '1-0:1\.8\.2\(006777\.2x0\*kWh\)'"):
        decode_telegram(data, lenient=False)
    t = decode_telegram(data)  # the default: the bad line is listed beside the good ones
    assert [(e.line, e.text) for e in t.errors] == [(7, "1-0:1.8.2(006777.2x0*kWh)")]
    assert "1-0:1.8.2" not in t.values and "1-0:1.8.1" in t.values


def test_garbage_line() -> None:
    data = E350.replace(b"0-0:96.13.1()", b"hello world")
    with pytest.raises(RecordError, match="line 18 'hello world'"):
        decode_telegram(data, lenient=False)
    assert [(e.line, e.text) for e in decode_telegram(data).errors] == [(18, "hello world")]


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"/AB!\r\n", b"/ABC5!12\r\n", b"/ABC5 1-0:1.8.1(1*kWh)"],
)
def test_framing_errors(data: bytes) -> None:
    with pytest.raises(FrameError):
        decode_telegram(data)


def test_str_input_and_leading_white_space() -> None:
    assert decode_telegram("\r\n" + E350.decode()).crc_ok is True
    # beyond Latin-1: the UTF-8 octets are the telegram (bytes are bytes), each octet one character
    assert decode_telegram("/ABC5\r\n\r\n0-0:96.13.0(€)\r\n!").values["0-0:96.13.0"] == "€".encode().decode("latin-1")


def test_lf_only_lines() -> None:
    t = decode_telegram(by_name("v3").data.replace(b"\r\n", b"\n"))
    assert t.mbus[1].reading is not None and t.errors == ()


def test_power_failure_log_variants() -> None:
    for log in (b"()", b"(0)", b"(0)()", b"(0)(0-0:96.7.19)"):
        t = decode_telegram(b"/ABC5x\r\n\r\n1-0:99.97.0" + log + b"\r\n!\r\n")
        assert t["1-0:99.97.0"] == ()
    with pytest.raises(RecordError, match="announces 2"):
        decode_telegram(lenient=False, data=b"/ABC5x\r\n\r\n1-0:99.97.0(2)(0-0:96.7.19)(000101000001W)(5*s)\r\n!\r\n")


def test_a_telegram_the_input_ends_before_its_end_marker_is_read_with_a_problem() -> None:
    data = b"/ABC5\r\n\r\n1-0:1.8.1(1*kWh)\r\n"
    telegram = decode_telegram(data)
    assert telegram.decimal("1-0:1.8.1") == Decimal(1)
    assert telegram.crc_ok is None
    assert [e.reason for e in telegram.errors] == ["no '!' end marker: the telegram is cut off or ended without it"]
    with pytest.raises(FrameError):
        decode_telegram(data, strict=True)


@pytest.mark.parametrize("odd", ["（225.0*V）", "\ud800", "€"])
def test_text_beyond_latin1_is_read_as_its_utf8_octets(odd: str) -> None:
    """A str telegram with characters beyond Latin-1: its UTF-8 octets are the telegram, not an error."""
    text = f"/ABC5\r\n\r\n1-0:1.8.1(1*kWh)\r\n1-0:52.7.0{odd}\r\n!\r\n"
    telegram = decode_telegram(text)
    assert telegram.decimal("1-0:1.8.1") == Decimal(1)
    assert len(telegram.errors) == 1
