"""The De Bilt typical year: the packaged file, the mean-preserving curve, the day and the ground."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

import pytest

from meterkast.errors import InvalidInput
from meterkast.scenario_files import load_weather
from meterkast.sim.weather import DE_BILT_1991_2020, diurnal_shape, parse_weather_csv, year_fraction


def test_the_packaged_file_is_the_builtin_series_and_names_its_source() -> None:
    packaged = load_weather()
    assert (packaged.tx_c, packaged.tn_c) == (DE_BILT_1991_2020.tx_c, DE_BILT_1991_2020.tn_c)
    assert "KNMI" in packaged.source and "CC BY 4.0" in packaged.source and "260" in packaged.source


def test_each_month_of_the_smooth_curve_keeps_its_normal() -> None:
    weather = DE_BILT_1991_2020
    for month in range(1, 13):
        days = calendar.monthrange(2025, month)[1]
        start = datetime(2025, month, 1)
        temps = [weather.temperature_c(start + timedelta(hours=h)) for h in range(days * 24)]
        assert sum(temps) / len(temps) == pytest.approx(weather.monthly_mean_c(month), abs=0.3), month
    assert weather.annual_mean_c == pytest.approx(10.4, abs=0.1)  # De Bilt 1991–2020: 10.5 °C (TG)


def test_the_day_is_coldest_at_five_and_warmest_at_three() -> None:
    temps = [DE_BILT_1991_2020.temperature_c(datetime(2025, 7, 10, h)) for h in range(24)]
    assert temps.index(min(temps)) in (4, 5)
    assert temps.index(max(temps)) in (14, 15)
    assert sum(diurnal_shape(h + 0.5) for h in range(24)) == pytest.approx(0, abs=0.05)
    july = year_fraction(datetime(2025, 7, 10, 12))
    assert max(temps) - min(temps) == pytest.approx(DE_BILT_1991_2020.diurnal_range_c(july), rel=0.05)


def test_the_ground_lags_and_damps_the_air() -> None:
    weather = DE_BILT_1991_2020
    days = [year_fraction(datetime(2025, 1, 1) + timedelta(days=d)) for d in range(365)]
    air = [weather.daily_mean_c(f) for f in days]
    ground = [weather.ground_temperature_c(f) for f in days]
    assert max(ground) - min(ground) < 0.8 * (max(air) - min(air))
    assert ground.index(min(ground)) > air.index(min(air)) + 10  # the coldest soil comes weeks later


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,6.1,0.9\n", "header"),
        ("month,tx_c,tn_c\n" + "".join(f"{m},10,5\n" for m in range(1, 12)), "12 monthly rows"),
        ("month,tx_c,tn_c\n2,10,5\n", "expected month 1"),
        ("month,tx_c,tn_c\n1,ten,5\n", "line 2"),
        ("month,tx_c,tn_c\n" + "".join(f"{m},5,10\n" for m in range(1, 13)), "TN"),
    ],
)
def test_a_broken_series_file_names_the_rule(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_weather_csv(text)
