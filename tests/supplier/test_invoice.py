"""The supplier's side of SYSTEM G4 (manual §9, Drukaanpassing): corrected volume and energy per period.

Worked values, by hand: from 2015 the factor is (1015.5 + 28) / 1041.25 = 1043.5 / 1041.25 = 4174/4165
= 1.002160864… (ACM Codebesluit Administratieve Volumeherleiding; SYSTEM G4 "here 1043.5 / 1041.25").
1000 m³ on the register → 1002.1608643 m³(n) → × 35.17 MJ/m³(n) = 35245.9976 MJ → / 3.6 = 9790.5549 kWh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import InvalidInput
from meterkast.supplier import Granularity, IndexReading, InvoiceParameters, supplier_view
from meterkast.supplier.invoice import ZONE, parse_granularity
from meterkast.supplier.parameters import ACM_2015, PressureRegime, parse_calorific_value
from meterkast.units import ASSUMED_PRESSURE_DSMR42_MBAR

T0 = datetime(2026, 1, 1, tzinfo=ZONE)
METER = "G0001123456789012"


def reading(at: datetime, index: str, meter: str = METER) -> IndexReading:
    return IndexReading(at, Decimal(index), meter)


@pytest.mark.parametrize(
    ("metered", "corrected", "mj", "kwh"),
    [
        # index difference → m³(n) → MJ → kWh, each rounded half up once (parameters.ROUNDING)
        ("1000.000", "1002.161", "35245.998", "9790.555"),
        ("1200.000", "1202.593", "42295.197", "11748.666"),
        ("1234.567", "1237.235", "43513.546", "12087.096"),
        ("0.000", "0.000", "0.000", "0.000"),
    ],
)
def test_worked_values_since_2015(metered: str, corrected: str, mj: str, kwh: str) -> None:
    view = supplier_view([reading(T0, "0"), reading(T0 + timedelta(days=1), metered)])
    [period] = view.to_json()["periods"]
    assert (period["metered_m3"], period["corrected_m3"], period["energy_mj"], period["energy_kwh"]) == (
        metered, corrected, mj, kwh)
    assert period["pressure_factor"] == "1.002160864"


def test_the_factor_is_exactly_1043_5_over_1041_25() -> None:
    params = InvoiceParameters()
    factor = params.pressure_factor(params.regime_at(T0))
    assert abs(Fraction(factor) - Fraction(4174, 4165)) < Fraction(1, 10**30)


def test_before_2015_the_invoice_needs_no_pressure_correction() -> None:
    # Manual §9: "Per 1-1-2015 moet de gasmeter met deze luchtdruk rekenen"; before, 1013.25 + 28 = 1041.25.
    night = datetime(2015, 1, 1, tzinfo=ZONE)
    view = supplier_view([reading(night - timedelta(days=1), "10"), reading(night, "110"),
                          reading(night + timedelta(days=1), "210")])
    old, new = view.periods
    assert old.pressure_factor == 1 and old.corrected_m3 == 100
    assert new.pressure_factor > 1 and new.start == ACM_2015
    assert str(new.to_json(view.parameters)["corrected_m3"]) == "100.216"


def test_a_dsmr42_meter_already_assumes_1043_5_mbar() -> None:
    params = InvoiceParameters(meter_assumed_mbar=ASSUMED_PRESSURE_DSMR42_MBAR)
    view = supplier_view([reading(T0, "0"), reading(T0 + timedelta(days=1), "500")], parameters=params)
    assert view.periods[0].pressure_factor == 1 and view.to_json()["total"]["corrected_m3"] == "500.000"


def test_parameters_are_cited() -> None:
    rows = {(r["name"], r["valid_from"]): r for r in InvoiceParameters().to_json()}
    assert rows[("calorific_value", None)]["value"] == "35.17"
    assert "SYSTEM G4" in rows[("calorific_value", None)]["source"]
    since = ACM_2015.isoformat()
    assert rows[("atmospheric_pressure", since)]["value"] == "1015.5"
    assert "ACM" in rows[("atmospheric_pressure", since)]["source"]
    assert rows[("pressure_factor", since)]["value"] == "1.002160864"
    assert rows[("meter_assumed_pressure", None)]["value"] == "1041.25"
    assert all(r["source"] for r in rows.values())


def test_a_given_calorific_value_changes_only_the_energy() -> None:
    params = parse_calorific_value("31.65", "--calorific-value")
    view = supplier_view([reading(T0, "0"), reading(T0 + timedelta(days=1), "1000")], parameters=params)
    total = view.to_json()["total"]
    assert (total["corrected_m3"], total["energy_mj"]) == ("1002.161", "31718.391")


@pytest.mark.parametrize("text", ["abc", "9.77", "NaN", "Infinity", "61", ""])
def test_an_implausible_calorific_value_is_refused_with_its_name(text: str) -> None:
    with pytest.raises(InvalidInput, match="--calorific-value"):
        parse_calorific_value(text, "--calorific-value")


def test_days_follow_local_time_across_the_autumn_dst_change() -> None:
    # 25 October 2026: clocks go back, the local day has 25 hours; one m³ an hour → 25 m³ that day.
    start = datetime(2026, 10, 24, tzinfo=ZONE).astimezone(UTC)
    hourly = [reading(start + timedelta(hours=h), str(h)) for h in range(0, 24 + 25 + 24 + 1)]
    view = supplier_view(hourly, Granularity.DAY)
    assert [p.metered_m3 for p in view.periods] == [24, 25, 24]
    assert [p.start.astimezone(ZONE).day for p in view.periods] == [24, 25, 26]


def test_months_from_daily_readings() -> None:
    days = [datetime(2026, 1, 1, tzinfo=ZONE) + timedelta(days=d) for d in range(0, 60)]
    daily = [reading(day, str(2 * n)) for n, day in enumerate(days)]
    view = supplier_view(daily, Granularity.MONTH)
    # 2 m³ a day: January 31 days, February 28 (day 59 is 1 March, the last boundary)
    assert [(p.start.month, p.metered_m3) for p in view.periods] == [(1, 62), (2, 56)]


def test_a_missing_boundary_makes_a_longer_period_that_shows_it() -> None:
    view = supplier_view([reading(T0, "0"), reading(T0 + timedelta(days=2), "20")], Granularity.DAY)
    assert view.periods[0].end - view.periods[0].start == timedelta(days=2)


def test_no_period_spans_a_replaced_meter() -> None:
    view = supplier_view([reading(T0, "900"), reading(T0 + timedelta(days=1), "910"),
                          reading(T0 + timedelta(days=1), "0", "G0001123456789099"),
                          reading(T0 + timedelta(days=2), "5", "G0001123456789099")])
    assert [(p.gas_meter[-2:], p.metered_m3) for p in view.periods] == [("12", 10), ("99", 5)]
    assert view.metered_m3 == 15 and view.skipped == ()


def test_an_index_that_goes_down_is_reported_beside_the_good_periods() -> None:
    view = supplier_view([reading(T0, "10"), reading(T0 + timedelta(hours=1), "9"),
                          reading(T0 + timedelta(hours=2), "12")])
    assert [p.metered_m3 for p in view.periods] == [3]
    [skipped] = view.to_json()["skipped"]
    assert "went down from 10 to 9" in skipped["reason"]


def test_two_different_values_at_one_instant_keep_the_first_and_say_so() -> None:
    view = supplier_view([reading(T0, "10"), reading(T0, "11"), reading(T0 + timedelta(hours=1), "12")])
    assert view.periods[0].metered_m3 == 2 and "same instant" in view.skipped[0].reason


def test_an_empty_series_has_no_total() -> None:
    assert supplier_view([]).to_json()["total"] is None


def test_bad_input_is_refused_with_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="no time zone"):
        IndexReading(datetime(2026, 1, 1), Decimal(1), METER)  # naive on purpose
    with pytest.raises(InvalidInput, match="never a float"):
        IndexReading(T0, 1.5, METER)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="not one of reading, day, month"):
        parse_granularity("week", "--by")
    with pytest.raises(InvalidInput, match="oldest first"):
        InvoiceParameters(regimes=(PressureRegime(T0, Decimal(1), "x"), PressureRegime(ACM_2015, Decimal(1), "y")))
    with pytest.raises(InvalidInput, match="calorific_mj_per_m3"):
        InvoiceParameters(calorific_mj_per_m3=Decimal(0))


indexes = st.lists(st.decimals(min_value=0, max_value=50, places=3), min_size=1, max_size=60)


@given(indexes)
def test_days_are_the_sum_of_their_hours(steps: list[Decimal]) -> None:
    """Rounding is done once: exact hourly figures add up to the exact daily ones (parameters.ROUNDING)."""
    total = Decimal(0)
    series = [reading(T0, "0")]
    for n, step in enumerate(steps, start=1):
        total += step
        series.append(IndexReading(T0 + timedelta(hours=n), total, METER))
    hours, days = supplier_view(series), supplier_view(series, Granularity.DAY)
    day_end = {p.end for p in days.periods}
    covered = [p for p in hours.periods if any(d.start <= p.start < d.end for d in days.periods)]
    tiny = Decimal("1e-20")  # far below the 0.001 shown: 34-digit arithmetic, not rounding, differs here
    assert abs(sum((p.corrected_m3 for p in covered), Decimal(0)) - days.corrected_m3) < tiny
    assert all(end.astimezone(ZONE).hour == 0 for end in day_end)
    assert hours.metered_m3 == total
    factor = hours.periods[0].pressure_factor
    assert abs(hours.corrected_m3 - total * factor) < tiny
    assert abs(hours.energy_mj - hours.corrected_m3 * Decimal("35.17")) < tiny
