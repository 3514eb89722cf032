"""Meter number, certificate and CE marking (SYSTEM G13)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import InvalidIdentity
from meterkast.gasmeter.identity import PARTS, parse_ce_marking, parse_certificate, parse_meter_number
from meterkast.gasmeter.metrology import MeterType
from meterkast.gasmeter.nameplate import nameplate_for
from tests.gasmeter.conftest import make_meter


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
        ("G 001123456789012", "KIWA code 'G 001' .* space after its first character"),
        ("     123456789012", "KIWA code .* blank"),
        ("g0019340315370616", "KIWA code 'g0019' .* lower-case letter 'g'.* did you mean 'G0019340315370616'"),
        ("Ä0019340315370616", "KIWA code .* has 'Ä'"),
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


def test_the_parts_are_the_manuals_item_1() -> None:
    # seed §10 item 1: "de eerste vijf karakters de KIWA-code … tien cijfers voor het serienummer en de
    # laatste twee cijfers staan voor het bouwjaar"; DSMR-M 4.6.2 (5 + 10 + 2 characters).
    assert [(p.name, p.first, p.last) for p in PARTS] == [
        ("KIWA code", 1, 5), ("serial number", 6, 15), ("year of manufacture", 16, 17),
    ]


@pytest.mark.parametrize("number", ["X0019340315370616", "XXXXX110123456789", "00019340315370616"])
def test_any_upper_case_code_is_a_kiwa_code(number: str) -> None:
    # DSMR-M 4.6.2 asks for a 5-character code; [P2-4.0.7 App. B] uses 'XXXXX110123456789'.
    assert str(parse_meter_number(number)) == number


@given(st.text(alphabet=st.characters(codec="ascii", categories=["Ll"]), min_size=1, max_size=1))
def test_every_lower_case_letter_is_refused_the_same_way(letter: str) -> None:
    with pytest.raises(InvalidIdentity, match=f"lower-case letter '{letter}'"):
        parse_meter_number(f"{letter}0019340315370616")


def test_nameplate_items_4_and_5_year_of_manufacture_and_pa() -> None:
    # seed §10 item 4 "2012: Jaartal van productie", item 5 "Pa: Basisdruk + gasdruk − drukverlies",
    # item 7 "CE M12": the year comes from the meter number (item 1); Pa is what the register converts with.
    meter = make_meter()  # G0001123456789012: made in 2012
    plate = meter.nameplate
    assert plate.year_of_manufacture == 2012 and str(plate.ce_marking) == "CE M12 0102"
    assert plate.base_pressure_mbar == meter.register.pressure_mbar == Decimal("1041.25")
    lines = plate.lines()
    assert "Qt 0.6 m³/h   Pmax 0.5 bar   2012" in lines
    assert any(line.startswith("Pa 1041.25 mbar   Tm -10 °C") for line in lines)


def test_a_2016_meter_says_2016_on_its_plate() -> None:
    plate = nameplate_for(MeterType.G4, parse_meter_number("G0019340315370616"))
    assert plate.year_of_manufacture == 2016 and str(plate.ce_marking) == "CE M16 0102"
    assert "2016" in plate.lines()[3]
