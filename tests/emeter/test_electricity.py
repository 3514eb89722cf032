"""Electricity registers, tariff switching, instantaneous values, sags and swells, P1 view."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.emeter import EMeter
from meterkast.emeter.events import TariffSwitched, VoltageSagDetected, VoltageSwellDetected
from meterkast.emeter.tariff import Tariff, tariff_at
from meterkast.errors import InvalidInput
from tests.emeter.conftest import E_ID, drive, local, new_meter, utc


@pytest.mark.parametrize(
    ("moment", "tariff"),
    [
        (local(2024, 1, 10, 6, 59), Tariff.LOW),  # Wednesday
        (local(2024, 1, 10, 7, 0), Tariff.NORMAL),
        (local(2024, 1, 10, 22, 59), Tariff.NORMAL),
        (local(2024, 1, 10, 23, 0), Tariff.LOW),
        (local(2024, 1, 13, 12, 0), Tariff.LOW),  # Saturday
        (local(2024, 1, 14, 23, 30), Tariff.LOW),  # Sunday night
        (local(2024, 1, 15, 7, 0), Tariff.NORMAL),  # Monday morning
        (local(2024, 1, 12, 23, 0), Tariff.LOW),  # Friday night
    ],
)
def test_dutch_tariff_rule(moment: object, tariff: Tariff) -> None:
    assert tariff_at(moment) is tariff  # type: ignore[arg-type]


def test_tariff_switches_at_seven_and_eleven_local_and_registers_split() -> None:
    start = utc(2024, 1, 10, 5, 0)  # 06:00 local, Wednesday
    meter = EMeter(E_ID, start)
    meter.set_load(start, [1000], [0], [230])
    events = meter.advance(utc(2024, 1, 10, 23, 0))  # 24:00 local
    switches = [(e.at, e.tariff) for e in events if isinstance(e, TariffSwitched)]
    assert switches == [(utc(2024, 1, 10, 6), 2), (utc(2024, 1, 10, 22), 1)]
    assert meter.registers.import_kwh() == (Decimal("2.000"), Decimal("16.000"))
    view = meter.p1_view(meter.now)
    assert view.tariff == 1 and view.import_kwh == (Decimal("2.000"), Decimal("16.000"))


def test_export_counts_on_minus_a_and_phases_add_up() -> None:
    start = utc(2024, 6, 1, 10)  # Saturday: tariff 1
    meter = EMeter(E_ID, start, phases=3)
    meter.set_load(start, [200, 0, 100], [0, 1500, 0], [231.4, 229.96, 230])
    meter.advance(start + timedelta(hours=2))
    assert meter.registers.export_kwh() == (Decimal("2.400"), Decimal("0.000"))
    assert meter.registers.import_kwh() == (Decimal("0.000"), Decimal("0.000"))
    view = meter.p1_view(meter.now)
    assert view.power_export_kw == Decimal("1.200") and view.power_import_kw == Decimal("0.000")
    assert view.phase_import_kw == (Decimal("0.200"), Decimal("0.000"), Decimal("0.100"))
    assert view.phase_export_kw == (Decimal("0.000"), Decimal("1.500"), Decimal("0.000"))
    assert view.voltage_v == (Decimal("231.4"), Decimal("230.0"), Decimal("230.0"))
    assert view.current_a == (1, 7, 0)
    with pytest.raises(InvalidInput, match="3 phase"):
        meter.set_load(meter.now, [1], [0], [230])


@settings(max_examples=40, deadline=None)
@given(
    watts=st.decimals(min_value=0, max_value=20_000, places=1),
    cuts=st.lists(st.integers(min_value=1, max_value=86_400 * 2 - 1), max_size=12, unique=True),
)
def test_registers_do_not_depend_on_how_time_is_sliced(watts: Decimal, cuts: list[int]) -> None:
    start = utc(2024, 3, 30, 20)
    whole = EMeter(E_ID, start)
    sliced = EMeter(E_ID, start)
    for meter in (whole, sliced):
        meter.set_load(start, [watts], [0], [230])
    for cut in sorted(cuts):
        sliced.advance(start + timedelta(seconds=cut))
    end = start + timedelta(days=2)
    whole.advance(end)
    sliced.advance(end)
    assert whole.registers.import_kwh() == sliced.registers.import_kwh()
    total = sum(whole.registers.import_kwh())
    assert watts * 48 / 1000 - total < Decimal("0.002")


def test_sags_and_swells_count_excursions_longer_than_30_s() -> None:
    start = utc(2024, 1, 10, 10)
    meter = EMeter(E_ID, start, phases=3)
    meter.set_load(start, [0] * 3, [0] * 3, [200, 230, 260])
    events = meter.advance(start + timedelta(seconds=29))
    assert not events
    events = meter.advance(start + timedelta(seconds=31))
    assert [type(e) for e in events] == [VoltageSagDetected, VoltageSwellDetected]
    meter.advance(start + timedelta(minutes=5))  # one long excursion counts once
    meter.set_load(meter.now, [0] * 3, [0] * 3, [230, 230, 230])
    meter.set_load(meter.now + timedelta(seconds=10), [0] * 3, [0] * 3, [200, 230, 230])
    meter.set_load(meter.now + timedelta(seconds=10), [0] * 3, [0] * 3, [230, 230, 230])  # only 10 s
    view = meter.p1_view(meter.now)
    assert view.voltage_sags == (1, 0, 0) and view.voltage_swells == (0, 0, 1)


def test_text_message_rules() -> None:
    meter = new_meter(utc(2024, 1, 10))
    meter.set_text_message(meter.now, "Storing gepland", "01618100")
    view = meter.p1_view(meter.now)
    assert (view.text_message, view.text_code) == ("Storing gepland", "01618100")
    with pytest.raises(InvalidInput, match="CR/LF"):
        meter.set_text_message(meter.now, "a\r\nb")
    with pytest.raises(InvalidInput, match="8 digits"):
        meter.set_text_message(meter.now, "", "ABC")


def test_p1_view_carries_what_a_telegram_needs() -> None:
    meter = new_meter(utc(2024, 9, 5, 18, 50))
    assert meter.p1_view(meter.now).mbus[0].value_m3 is None  # coupled, not read yet
    drive(meter, utc(2024, 9, 5, 19, 40, 3))
    view = meter.p1_view(meter.now)
    assert view.timestamp == local(2024, 9, 5, 21, 40, 3) and view.timestamp.dst()
    assert view.equipment_id == E_ID and view.p1_version == "42"
    (gas,) = view.mbus
    assert gas.device_type == 3 and gas.equipment_id == "G0001123456789012"
    assert gas.capture_time == local(2024, 9, 5, 21) and gas.resolution_m3 == Decimal("0.001")
    assert gas.value_m3 is not None and gas.coupled
