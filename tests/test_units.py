"""DSMR-M 4.3.48 volume conversion and Decimal handling (SYSTEM G3, G4)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import InvalidInput
from meterkast.units import (
    ASSUMED_PRESSURE_DSMR40_MBAR,
    ASSUMED_PRESSURE_DSMR42_MBAR,
    conversion_factor,
    convert_volume,
    floor_to,
    to_decimal,
)


def test_factor_at_7c_matches_the_historic_seven_degree_method() -> None:
    # DSMR-FACTS §4.1: at 7 °C with the 4.0.7 constants the factor is 1.001957.
    assert round(conversion_factor(Decimal(7)), 6) == Decimal("1.001957")


def test_factor_at_15c_with_dsmr42_pressure() -> None:
    # DSMR-FACTS §4.1: 0.976244 at 15 °C with 1043.5 mbar.
    assert round(conversion_factor(Decimal(15), ASSUMED_PRESSURE_DSMR42_MBAR), 6) == Decimal("0.976244")


def test_dsmr40_pressure_is_1013_25_plus_28() -> None:
    assert Decimal("1013.25") + 28 == ASSUMED_PRESSURE_DSMR40_MBAR


@given(
    st.decimals(min_value=0, max_value=10**6, places=6),
    st.decimals(min_value=-40, max_value=70, places=2),
)
def test_convert_volume_is_the_formula(vm: Decimal, t: Decimal) -> None:
    expected = vm * Decimal("273.15") / (Decimal("273.15") + t) * Decimal("1041.25") / Decimal("1013.25")
    assert abs(convert_volume(vm, t) - expected) <= Decimal("1e-20") * max(1, vm)


def test_absolute_zero_is_refused() -> None:
    with pytest.raises(InvalidInput, match="absolute zero"):
        conversion_factor(Decimal("-273.15"))


def test_floats_become_their_shortest_decimal() -> None:
    assert to_decimal(0.1, "flow") == Decimal("0.1")


@pytest.mark.parametrize("bad", ["abc", "nan", "inf"])
def test_non_numbers_are_refused_with_the_name(bad: str) -> None:
    with pytest.raises(InvalidInput, match="flow"):
        to_decimal(bad, "flow")


def test_floor_never_rounds_up() -> None:
    assert floor_to(Decimal("1.2399"), Decimal("0.01")) == Decimal("1.23")
