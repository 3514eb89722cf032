"""Meter number, certificate and CE marking (SYSTEM G13)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import InvalidIdentity
from meterkast.gasmeter.identity import parse_ce_marking, parse_certificate, parse_meter_number
from meterkast.gasmeter.metrology import MeterType
from meterkast.gasmeter.nameplate import nameplate_for


def test_real_gas_meter_numbers_from_p1_telegrams() -> None:
    # DSMR-FACTS §1.4: hex-decoded equipment ids of real gas meters.
    number = parse_meter_number("G0019340315370616")
    assert (number.kiwa_code, number.serial, number.year) == ("G0019", "3403153706", 2016)
    assert number.mbus_identification == 3153706


def test_leading_spaces_pad_a_short_kiwa_code() -> None:
    # [P2-4.0.7 §6.4.1]; DSMR 2.2 Kamstrup example " ZABF001551772711".
    assert parse_meter_number(" ZABF001551772711").kiwa_code == " ZABF"


@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("G000112345678901", "16 characters"),
        ("G00011234567890123", "18 characters"),
        ("G0-01123456789012", "KIWA code"),
        ("G 001123456789012", "KIWA code"),
        ("G00011234X6789012", "serial number"),
        ("G0001123456789０1", "serial number"),
        ("G00011234567890A2", "year of manufacture"),
    ],
)
def test_each_malformed_part_is_named(text: str, part: str) -> None:
    with pytest.raises(InvalidIdentity, match=part):
        parse_meter_number(text)


@given(
    st.from_regex(r"[A-Z][0-9]{4}", fullmatch=True),
    st.integers(0, 10**10 - 1),
    st.integers(0, 99),
)
def test_round_trip(kiwa: str, serial: int, year: int) -> None:
    text = f"{kiwa}{serial:010d}{year:02d}"
    number = parse_meter_number(text)
    assert str(number) == text
    assert number.year == 2000 + year


def test_certificate_from_the_manual() -> None:
    cert = parse_certificate("DK-0200-Mi002-019")
    assert (cert.country, cert.notified_body, cert.instrument, cert.document) == ("DK", "0200", "MI002", "019")


@pytest.mark.parametrize("bad", ["DK-200-MI002-019", "DK0200MI002019", "DK-0200-MI001-019"])
def test_bad_certificates(bad: str) -> None:
    with pytest.raises(InvalidIdentity, match="certificate"):
        parse_certificate(bad)


def test_ce_marking() -> None:
    mark = parse_ce_marking("CE M12 0102")
    assert (mark.year, mark.notified_body, str(mark)) == (2012, "0102", "CE M12 0102")
    with pytest.raises(InvalidIdentity, match="CE marking"):
        parse_ce_marking("CE 12 0102")


@pytest.mark.parametrize("meter_type", list(MeterType))
def test_every_type_has_a_nameplate(meter_type: MeterType) -> None:
    plate = nameplate_for(meter_type)
    text = "\n".join(plate.lines())
    for fragment in ("Qmax", "Qmin", "Qt", "Pmax", "Class 1.5", "M1 E2", "Tb,i 0", "EN 1359/A1:2006",
                     "CE M12 0102", "DK-0200-MI002-019", "DSMR 4.0.5"):
        assert fragment in text
