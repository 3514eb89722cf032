"""The water and heat meters' registers and demand models (sim.submeters; P2-4.2.2 §6.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import ClockError, InvalidInput
from meterkast.mbus.device_kinds import GAS, HEAT, WATER
from meterkast.sim.submeters import DIURNAL_WATER, HeatDemand, SubMeter, WaterDemand
from meterkast.timeutil import HOUR

T0 = datetime(2025, 1, 6, 0, 0, tzinfo=UTC)


def test_water_use_is_about_119_litres_per_person_per_day() -> None:
    """Vewin, Waterverbruik thuis 2016: 119.1 l per person per day; the hourly factor averages 1."""
    assert sum(DIURNAL_WATER) == 1000
    demand = WaterDemand(seed=3, persons=Decimal(2))
    litres = sum(demand(T0 + HOUR * h) for h in range(24 * 28)) / 1000 / 28
    assert 2 * 119 * 0.93 < litres < 2 * 119 * 1.07
    night, morning = demand(datetime(2025, 1, 7, 2, tzinfo=UTC)), demand(datetime(2025, 1, 7, 7, tzinfo=UTC))
    assert night < morning  # 03:00 vs 08:00 local: the morning peak


def test_heat_use_is_the_annual_figure_and_follows_the_cold() -> None:
    demand = HeatDemand(seed=5, annual_gj=Decimal(25))
    year = datetime(2025, 1, 1, tzinfo=UTC)
    gj = sum(demand(year + HOUR * h) for h in range(8760)) / 1_000_000
    assert 25 * 0.96 < gj < 25 * 1.04
    january = sum(demand(year + HOUR * h) for h in range(24 * 31))
    july = sum(demand(datetime(2025, 7, 1, tzinfo=UTC) + HOUR * h) for h in range(24 * 31))
    assert january > 4 * july  # July: tap hot water and a few cool nights below 18 °C
    with pytest.raises(InvalidInput):
        HeatDemand(seed=5, hot_water_share=Decimal("1.5"))


def test_the_same_seed_and_hour_draw_the_same_demand() -> None:
    assert WaterDemand(9)(T0) == WaterDemand(9)(T0) != WaterDemand(10)(T0)


@given(st.lists(st.integers(1, 7200), min_size=1, max_size=40))
@settings(max_examples=40, deadline=None)
def test_the_register_does_not_depend_on_how_time_is_sliced(steps: list[int]) -> None:
    one = SubMeter.install(WATER, "W0001987654321024", T0, WaterDemand(1), bytes(16))
    many = SubMeter.install(WATER, "W0001987654321024", T0, WaterDemand(1), bytes(16))
    moment = T0
    for seconds in steps:
        moment += timedelta(seconds=seconds)
        many.advance(moment)
    one.advance(moment)
    assert (one.steps, one.hourly, one.register) == (many.steps, many.hourly, many.register)


def test_the_register_stores_its_value_at_every_whole_hour() -> None:
    """ "All M-Bus devices transfer the last known hourly value" [P2-4.2.2 §6.3]; cut to the resolution."""
    meter = SubMeter.install(HEAT, "T0001876543210024", T0 + timedelta(minutes=20), HeatDemand(1), bytes(16),
                             initial=Decimal("41.27"))
    assert meter.last_hour is None and meter.register == Decimal("41.27")
    meter.advance(T0 + timedelta(hours=2, minutes=5))
    assert meter.last_hour is not None
    stamp, value = meter.last_hour
    assert stamp == T0 + timedelta(hours=2) and value == value.quantize(Decimal("0.01")) <= meter.register
    with pytest.raises(ClockError, match="cannot go back"):
        meter.advance(T0)
    with pytest.raises(InvalidInput, match="gas meter is not modelled"):
        SubMeter.install(GAS, "G0001123456789012", T0, WaterDemand(1), bytes(16))


def test_the_register_rolls_over_after_eight_digits() -> None:
    """8-digit BCD (DIF 4C, P2-4.2.2 §6.4.6): 99999.999 m³ is followed by 0.000, not by a ninth digit."""
    meter = SubMeter.install(WATER, "W0001987654321024", T0, WaterDemand(1), bytes(16), initial=Decimal("99999.999"))
    assert meter.register == Decimal("99999.999")
    meter.advance(T0 + timedelta(hours=9))
    assert Decimal(0) <= meter.register < Decimal(1)
