"""Metrology table and error curve (SYSTEM G1, G2)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import UnknownMeterType
from meterkast.gasmeter.metrology import (
    ERROR_AT_START_PERCENT,
    METROLOGY,
    FlowRegime,
    MeterType,
    error_percent,
    flow_regime,
    is_counted,
    maximum_permissible_error,
)


def test_g4_range_is_the_manuals() -> None:
    g4 = METROLOGY[MeterType.G4]
    assert (g4.qmin_m3h, g4.qmax_m3h) == (Decimal("0.04"), Decimal(6))  # seed §9 "Meetbereik"


@pytest.mark.parametrize("meter_type", list(MeterType))
def test_mid_class_15_ratios(meter_type: MeterType) -> None:
    m = METROLOGY[meter_type]
    assert m.qmax_m3h / m.qmin_m3h >= 150  # MID MI-002 class 1.5: Qmax/Qmin ≥ 150
    assert m.qmax_m3h / m.qt_m3h >= 10


@pytest.mark.parametrize(
    ("meter_type", "resolution", "wrap"),
    [(MeterType.G4, "0.001", 100_000), (MeterType.G6, "0.001", 100_000), (MeterType.G10, "0.01", 1_000_000),
     (MeterType.G16, "0.01", 1_000_000), (MeterType.G25, "0.01", 1_000_000)],
)
def test_register_resolution_per_p2_6_4_4(meter_type: MeterType, resolution: str, wrap: int) -> None:
    m = METROLOGY[meter_type]
    assert m.resolution_m3 == Decimal(resolution)
    assert m.wrap_m3 == wrap


@given(st.sampled_from(list(MeterType)), st.integers(min_value=0, max_value=10_000))
def test_error_inside_the_legal_band(meter_type: MeterType, permille: int) -> None:
    m = METROLOGY[meter_type]
    flow = m.qmin_m3h + (m.qmax_m3h - m.qmin_m3h) * permille / 10_000
    mpe = maximum_permissible_error(m, flow)
    assert mpe is not None
    assert abs(error_percent(m, flow)) <= mpe


def test_above_qmax_the_error_leaves_the_legal_band() -> None:
    m = METROLOGY[MeterType.G4]
    assert maximum_permissible_error(m, Decimal(9)) is None
    assert error_percent(m, Decimal(9)) < -Decimal("1.5")


@pytest.mark.parametrize(
    ("meter_type", "qstart"),
    [(MeterType.G4, "0.003"), (MeterType.G6, "0.003"), (MeterType.G10, "0.005"), (MeterType.G16, "0.005"),
     (MeterType.G25, "0.008")],
)
def test_starting_flow_per_en_1359_5_3_lies_far_below_qmin(meter_type: MeterType, qstart: str) -> None:
    # EN 1359 §5.3 "starting flow rate": the meter registers continuously from Qstart on (SYSTEM G1).
    m = METROLOGY[meter_type]
    assert m.starting_flow_m3h == Decimal(qstart)
    assert m.starting_flow_m3h * 10 <= m.qmin_m3h
    assert is_counted(m, m.starting_flow_m3h)
    assert not is_counted(m, m.starting_flow_m3h - Decimal("0.0001"))


def test_below_qmin_a_pilot_light_or_a_leak_is_still_counted() -> None:
    # SYSTEM G1: "outside Qmin…Qmax the meter still counts but outside its legal accuracy".
    m = METROLOGY[MeterType.G4]
    for flow in ("0.03", "0.012", "0.003"):  # the 0.03 m³/h, a ≈120 W pilot flame, Qstart
        assert is_counted(m, Decimal(flow))
        assert maximum_permissible_error(m, Decimal(flow)) is None
    assert error_percent(m, Decimal("0.003")) == ERROR_AT_START_PERCENT
    assert not is_counted(m, Decimal("0.0029"))
    assert error_percent(m, Decimal("0.0029")) == 0


@given(st.sampled_from(list(MeterType)), st.integers(min_value=0, max_value=999), st.integers(1, 1000))
def test_below_qmin_the_error_grows_negative_toward_qstart(meter_type: MeterType, permille: int, step: int) -> None:
    m = METROLOGY[meter_type]
    low = m.starting_flow_m3h + (m.qmin_m3h - m.starting_flow_m3h) * permille / 1000
    high = min(low + (m.qmin_m3h - m.starting_flow_m3h) * step / 1000, m.qmin_m3h)
    assert ERROR_AT_START_PERCENT <= error_percent(m, low) <= error_percent(m, high)
    assert error_percent(m, high) <= error_percent(m, m.qmin_m3h)


def test_the_curve_is_continuous_at_qmin() -> None:
    m = METROLOGY[MeterType.G4]
    just_below = error_percent(m, m.qmin_m3h - Decimal("1e-9"))
    assert abs(just_below - error_percent(m, m.qmin_m3h)) < Decimal("0.001")


@pytest.mark.parametrize(
    ("flow", "regime"),
    [("0", FlowRegime.STILL), ("0.002", FlowRegime.BELOW_START), ("0.012", FlowRegime.BELOW_QMIN),
     ("0.04", FlowRegime.LEGAL), ("6", FlowRegime.LEGAL), ("6.5", FlowRegime.ABOVE_QMAX)],
)
def test_flow_regime(flow: str, regime: FlowRegime) -> None:
    assert flow_regime(METROLOGY[MeterType.G4], Decimal(flow)) is regime


@pytest.mark.parametrize("text", ["G5", "g4x", "", "G 4"])
def test_unknown_type_names_the_value_and_the_choices(text: str) -> None:
    with pytest.raises(UnknownMeterType, match="G4, G6, G10, G16, G25"):
        MeterType.parse(text)


def test_type_parse_is_forgiving_about_case() -> None:
    assert MeterType.parse(" g25 ") is MeterType.G25
