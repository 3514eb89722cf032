"""A typical year of outdoor (and ground) temperature for De Bilt, from published monthly normals (sans-I/O).

The household's space heating follows heating degree hours against this series (issue 5). The data are
KNMI's 1991–2020 normals for station 260 De Bilt: the monthly means of the daily maximum (TX) and minimum
(TN) temperature. They ship as ``meterkast/data/de_bilt_1991_2020.csv`` with their source and licence in
its header; ``meterkast.scenario_files.load_weather`` reads that file at the edge and hands the text to
:func:`parse_weather_csv` here (this module reads no files). :data:`DE_BILT_1991_2020` holds the same
twelve pairs so that the core has a default without I/O; a test checks that both agree.

How twelve monthly pairs become an hourly temperature (only monthly normals are published, so the curve
between them is a model):
- the daily mean is (TX + TN) / 2 and the diurnal range TX − TN (KNMI's daily-mean normals differ from
  (TX + TN) / 2 by at most about 0.1 °C in the months checked; see the data file);
- both follow a harmonic fit through the twelve months (annual mean plus three harmonics) that is
  *mean-preserving*: each harmonic is divided by the factor by which averaging over a month (1/12 year)
  damps it, so the average of the smooth curve over each month reproduces that month's normal (to within
  the truncated higher harmonics, a few tenths of a degree at most; tested);
- within the day the temperature is lowest at 05:00 and highest at 15:00 local time (two half-cosines,
  whose day average is zero, so the daily mean stays the daily mean);
- day-to-day weather is not in here: the household draws it from its injected random source;
- the ground at gas-main depth follows the annual harmonic only, damped and delayed as heat diffuses into
  soil (T(z) = mean + A·e^(−z/D)·cos(ωt − z/D), damping depth D = sqrt(2α/ω) with α = 6·10⁻⁷ m²/s, a
  typical value for moist soil).

Rules: pure functions of their arguments; never reads a clock, a file or a random source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from meterkast.errors import InvalidInput

MONTHS = 12
HARMONICS = 3  # annual, half-year and four-month waves; higher ones carry noise, not climate
SOIL_DIFFUSIVITY_M2_S = 6e-7
SECONDS_PER_YEAR = 365.25 * 86400
GAS_MAIN_DEPTH_M = 1.0
COLDEST_HOUR = 5.0  # local time of the daily minimum
WARMEST_HOUR = 15.0  # local time of the daily maximum
CSV_HEADER = "month,tx_c,tn_c"
PLAUSIBLE_C = (-50.0, 50.0)

DE_BILT_SOURCE = (
    "KNMI daily data, station 260 De Bilt, 1991-2020, monthly means of TX and TN "
    "(KNMI open data, CC BY 4.0); see meterkast/data/de_bilt_1991_2020.csv"
)
# (TX, TN) in °C, January … December: the values of meterkast/data/de_bilt_1991_2020.csv.
_DE_BILT_TX_TN: tuple[tuple[float, float], ...] = (
    (6.1, 0.9), (7.0, 0.7), (10.5, 2.4), (14.8, 4.5), (18.3, 8.0), (20.9, 10.8),
    (23.1, 13.0), (22.9, 12.5), (19.5, 10.0), (14.8, 7.1), (9.9, 3.9), (6.7, 1.6),
)  # fmt: skip


def year_fraction(moment: datetime) -> float:
    """How far into its calendar year ``moment`` is (0 at 1 January 00:00, wall time), 0 ≤ f < 1."""
    days = 366 if _is_leap(moment.year) else 365
    elapsed = moment.timetuple().tm_yday - 1 + (moment.hour + moment.minute / 60 + moment.second / 3600) / 24
    return elapsed / days


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def diurnal_shape(local_hour: float) -> float:
    """−1 at the coldest hour (05:00), +1 at the warmest (15:00); averages zero over a day."""
    hour = local_hour % 24
    rise = WARMEST_HOUR - COLDEST_HOUR
    if COLDEST_HOUR <= hour < WARMEST_HOUR:
        return -math.cos(math.pi * (hour - COLDEST_HOUR) / rise)
    since_peak = (hour - WARMEST_HOUR) % 24
    return math.cos(math.pi * since_peak / (24 - rise))


@dataclass(frozen=True, slots=True)
class _Fit:
    """A mean-preserving harmonic fit through twelve monthly values."""

    mean: float
    cos: tuple[float, ...]
    sin: tuple[float, ...]

    @classmethod
    def through(cls, values: tuple[float, ...]) -> _Fit:
        centres = [(m + 0.5) / MONTHS for m in range(MONTHS)]
        cos_terms, sin_terms = [], []
        for k in range(1, HARMONICS + 1):
            # Averaging over a month multiplies harmonic k by sinc(k/12); undo that so month means match.
            damping = math.sin(math.pi * k / MONTHS) / (math.pi * k / MONTHS)
            a = 2 / MONTHS * sum(v * math.cos(2 * math.pi * k * t) for v, t in zip(values, centres, strict=True))
            b = 2 / MONTHS * sum(v * math.sin(2 * math.pi * k * t) for v, t in zip(values, centres, strict=True))
            cos_terms.append(a / damping)
            sin_terms.append(b / damping)
        return cls(sum(values) / MONTHS, tuple(cos_terms), tuple(sin_terms))

    def at(self, fraction: float) -> float:
        value = self.mean
        for k, (a, b) in enumerate(zip(self.cos, self.sin, strict=True), start=1):
            angle = 2 * math.pi * k * fraction
            value += a * math.cos(angle) + b * math.sin(angle)
        return value


@dataclass(frozen=True, slots=True)
class WeatherSeries:
    """A typical year at one station: monthly mean daily maxima and minima, and the smooth curves through them."""

    station: str
    source: str
    tx_c: tuple[float, ...]  # January … December
    tn_c: tuple[float, ...]
    _mean: _Fit = field(init=False, repr=False, compare=False)
    _range: _Fit = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.tx_c) != MONTHS or len(self.tn_c) != MONTHS:
            raise InvalidInput(f"a weather series needs 12 monthly values of TX and TN, got {len(self.tx_c)}")
        for month, (tx, tn) in enumerate(zip(self.tx_c, self.tn_c, strict=True), start=1):
            low, high = PLAUSIBLE_C
            if not (low <= tn <= tx <= high):
                raise InvalidInput(
                    f"month {month}: need {low} ≤ TN ({tn}) ≤ TX ({tx}) ≤ {high} °C for a weather series"
                )
        means = tuple((tx + tn) / 2 for tx, tn in zip(self.tx_c, self.tn_c, strict=True))
        ranges = tuple(tx - tn for tx, tn in zip(self.tx_c, self.tn_c, strict=True))
        object.__setattr__(self, "_mean", _Fit.through(means))
        object.__setattr__(self, "_range", _Fit.through(ranges))

    @property
    def annual_mean_c(self) -> float:
        return self._mean.mean

    def monthly_mean_c(self, month: int) -> float:
        """The normal of one month (1–12): (TX + TN) / 2."""
        return (self.tx_c[month - 1] + self.tn_c[month - 1]) / 2

    def daily_mean_c(self, fraction: float) -> float:
        """The smooth daily mean temperature at ``fraction`` of the year (see :func:`year_fraction`)."""
        return self._mean.at(fraction)

    def diurnal_range_c(self, fraction: float) -> float:
        return max(0.0, self._range.at(fraction))

    def temperature_c(self, local: datetime, anomaly_c: float = 0.0) -> float:
        """Outdoor temperature at local wall time ``local``, plus the day's weather ``anomaly_c``."""
        fraction = year_fraction(local)
        hour = local.hour + local.minute / 60 + 0.5  # the middle of the hour that starts here
        return self.daily_mean_c(fraction) + anomaly_c + self.diurnal_range_c(fraction) / 2 * diurnal_shape(hour)

    def ground_temperature_c(self, fraction: float, depth_m: float = GAS_MAIN_DEPTH_M) -> float:
        """Soil temperature at ``depth_m``: the annual wave, damped and delayed by heat diffusion."""
        omega = 2 * math.pi / SECONDS_PER_YEAR
        damping_depth = math.sqrt(2 * SOIL_DIFFUSIVITY_M2_S / omega)
        ratio = depth_m / damping_depth
        a, b = self._mean.cos[0], self._mean.sin[0]
        angle = 2 * math.pi * fraction - ratio
        return self._mean.mean + math.exp(-ratio) * (a * math.cos(angle) + b * math.sin(angle))


DE_BILT_1991_2020 = WeatherSeries(
    "De Bilt (KNMI 260), normals 1991-2020",
    DE_BILT_SOURCE,
    tuple(tx for tx, _ in _DE_BILT_TX_TN),
    tuple(tn for _, tn in _DE_BILT_TX_TN),
)


def parse_weather_csv(text: str, *, station: str = "De Bilt (KNMI 260), normals 1991-2020") -> WeatherSeries:
    """Read a series file: ``#`` comment lines (source, licence), the header ``month,tx_c,tn_c``, 12 rows.

    The comment block becomes the series' ``source``. Raises ``InvalidInput`` naming the line and rule.
    """
    comments: list[str] = []
    rows: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#"):
            comments.append(line.lstrip("#").strip())
        elif line:
            rows.append((number, line))
    if not rows or rows[0][1].replace(" ", "") != CSV_HEADER:
        raise InvalidInput(f"a weather series starts (after # comments) with the header {CSV_HEADER!r}")
    tx: list[float] = []
    tn: list[float] = []
    for expected, (number, line) in enumerate(rows[1:], start=1):
        cells = [cell.strip() for cell in line.split(",")]
        try:
            month, high, low = int(cells[0]), float(cells[1]), float(cells[2])
        except (ValueError, IndexError) as exc:
            raise InvalidInput(f"line {number}: {line!r} is not 'month,tx_c,tn_c' with numbers") from exc
        if len(cells) != 3 or month != expected:
            raise InvalidInput(f"line {number}: expected month {expected} with two values, got {line!r}")
        tx.append(high)
        tn.append(low)
    if len(tx) != MONTHS:
        raise InvalidInput(f"a weather series has 12 monthly rows, this one has {len(tx)}")
    source = " ".join(c for c in comments if c) or "unknown source"
    return WeatherSeries(station, source, tuple(tx), tuple(tn))
