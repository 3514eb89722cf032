"""A typical Dutch household's gas use, hour by hour (seeded, sans-I/O; issue 5 "The household").

Three uses, each calibrated so that a year adds up to ``annual_m3`` (≈ 1200 m³ is a typical house, 1000–1500
the usual range):
- **space heating** follows heating degree hours: (thermostat setpoint − free internal gains − outdoor
  temperature), never below zero. The outdoor temperature is the De Bilt typical year
  (:mod:`meterkast.sim.weather`) plus day-to-day weather drawn from the injected random source: a
  persistent (AR(1)) anomaly whose mean over each calendar month is removed, so every month keeps its
  normal and the year total stays close to the target whatever the seed. Free gains (people, appliances,
  and the sun in summer) lower the heating limit. The thermostat sets back at night: the house first
  coasts down unheated for a few hours, and the first day hour pays for reheating it;
- **hot water** (showers, washing up) with a weekday and a weekend daily pattern, more in winter when the
  mains water is colder;
- **cooking** on a gas hob, mostly around 18:00, a bit more at weekends.

Calibration is exact in expectation: the expected heating degree hours of a year are summed in closed
form (E[max(0, m − A)] = m·Φ(m/σ) + σ·φ(m/σ) for a normal anomaly A), so no seed is special.

Flows are what a meter really sees, not thin averages: a combi boiler gives hot water priority at a tap
flow around 1.9 m³/h (≈ 19 kW); space heating modulates between 0.3 m³/h (its minimum, ≈ 3 kW) and
2.5 m³/h (≈ 24 kW) and below its minimum runs on/off in one block; the hob burns 0.15–0.35 m³/h alongside.
Every non-zero flow lies within the meter's Qmin … Qmax (SYSTEM G1), where the meter counts within its
legal accuracy (below Qmin it still counts, down to its starting flow, but with a growing error).

Gas temperature follows the ground and the house: the gas main lies about a metre deep (the weather
series' damped ground wave), and the meter sits indoors in a cupboard that is somewhere between the
living room and outdoors.

Rules: the same seed gives the same plan; every hour draws the same number of random values, and each
new month its days' weather (so a scenario that changes other things does not shift the weather); no
flow is negative; every non-zero flow is between ``min_flow_m3h`` and ``max_flow_m3h``; the volume a
plan lets flow is the hour's demand (to the second).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from meterkast.errors import InvalidInput
from meterkast.randomness import RandomSource
from meterkast.sim.weather import DE_BILT_1991_2020, WeatherSeries, diurnal_shape, year_fraction

INTERNAL_GAINS_C = 3.0  # people and appliances heat a house a few degrees for free
SOLAR_GAINS_C = 4.0  # and the sun a few more in summer (none in midwinter)
COOLDOWN_HOURS = 3  # after the setback starts the house coasts down to the night setpoint unheated
RECOVERY_HOURS = 1.5  # the first day hour reheats the house: this many hours' worth of the setback
ANOMALY_PERSISTENCE = 0.6  # day-to-day autocorrelation of the weather anomaly
HEAT_NOISE = 0.1
TAP_NOISE = 0.5
COOK_NOISE = 0.5
INDOOR_C = 20.0
CUPBOARD_COUPLING = 0.35  # how far the meter cupboard leans from indoor towards outdoor temperature
GROUND_SHARE = 0.6  # the gas arrives at ground temperature and warms partly towards the cupboard's
BOILER_MAX_M3H = 2.5
MIN_MODULATION_M3H = 0.3
TAP_FLOW_M3H = (1.9, 0.25, 1.2)  # mean, spread, lowest
HOB_FLOW_M3H = (0.15, 0.35)
REFERENCE_YEAR = 2025  # a plain 365-day year for calibration
SECONDS = 3600

# Relative weight of hot water per local hour, weekdays and weekends (later, longer mornings).
_TAP_WEEKDAY = (
    0, 0, 0, 0, 0, 0.3, 2.0, 5.0, 3.0, 1.0, 0.6, 0.5, 0.8, 0.5, 0.4, 0.4, 0.6, 1.0, 1.6, 1.4, 1.2, 1.2, 1.0, 0.3,
)  # fmt: skip
_TAP_WEEKEND = (
    0, 0, 0, 0, 0, 0, 0.3, 1.5, 3.5, 3.5, 2.0, 1.0, 1.0, 0.6, 0.5, 0.5, 0.7, 1.2, 1.8, 1.5, 1.2, 1.2, 1.0, 0.4,
)  # fmt: skip
_COOK_WEEKDAY = (0,) * 12 + (0.3, 0, 0, 0, 0, 0.8, 2.0, 0.6, 0, 0, 0, 0)
_COOK_WEEKEND = (0,) * 12 + (0.6, 0, 0, 0, 0, 1.0, 2.0, 1.0, 0, 0, 0, 0)
_SHAPE = tuple(diurnal_shape(hour + 0.5) for hour in range(24))  # the middle of each hour


@dataclass(frozen=True, slots=True)
class FlowStep:
    """From ``offset_s`` seconds into the hour on, gas flows at ``flow_m3h`` at ``gas_temp_c``."""

    offset_s: int
    flow_m3h: Decimal
    gas_temp_c: Decimal


@dataclass(frozen=True, slots=True)
class HouseholdConfig:
    """What a scenario may set about a household (defaults: a typical Dutch house)."""

    annual_m3: float = 1200.0
    day_setpoint_c: float = 20.0
    night_setpoint_c: float = 16.0  # thermostat night setback
    night_from_h: int = 23
    night_until_h: int = 6
    hot_water_share: float = 0.16
    cooking_share: float = 0.03

    def __post_init__(self) -> None:
        checks = (
            ("annual_m3", 0.0 <= self.annual_m3 <= 4000, "between 0 and 4000 m³ (a G4 house uses 1000–1500)"),
            ("day_setpoint_c", 10 <= self.day_setpoint_c <= 25, "between 10 and 25 °C"),
            ("night_setpoint_c", 5 <= self.night_setpoint_c <= self.day_setpoint_c, "between 5 °C and the day's"),
            ("night_from_h", 0 <= self.night_from_h <= 23, "an hour 0–23"),
            ("night_until_h", 0 <= self.night_until_h <= 23, "an hour 0–23"),
            ("hot_water_share", self.hot_water_share >= 0, "at least 0"),
            ("cooking_share", self.cooking_share >= 0, "at least 0"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise InvalidInput(f"household {name} = {getattr(self, name)} must be {rule}")
        if self.hot_water_share + self.cooking_share >= 1:
            raise InvalidInput("household hot_water_share + cooking_share must stay below 1 (heating is the rest)")

    def is_night(self, hour: int) -> bool:
        start, end = self.night_from_h, self.night_until_h
        return (start <= hour or hour < end) if start > end else start <= hour < end

    def setpoint_c(self, hour: int) -> float:
        return self.night_setpoint_c if self.is_night(hour) else self.day_setpoint_c

    def has_setback(self) -> bool:
        return self.night_from_h != self.night_until_h and self.night_setpoint_c < self.day_setpoint_c

    def is_recovery_hour(self, hour: int) -> bool:
        """The first day hour after the night setback."""
        return self.has_setback() and hour == self.night_until_h

    def is_cooling_down(self, hour: int) -> bool:
        """The first night hours, while the house cools from the day to the night setpoint."""
        return self.has_setback() and self.is_night(hour) and (hour - self.night_from_h) % 24 < COOLDOWN_HOURS


@dataclass(frozen=True, slots=True)
class Demand:
    """Gas wanted in one hour, by use (m³ at the meter; floats: a plan, not a register)."""

    heating_m3: float
    hot_water_m3: float
    cooking_m3: float

    @property
    def total_m3(self) -> float:
        return self.heating_m3 + self.hot_water_m3 + self.cooking_m3


def _phi(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def expected_positive(mean: float, sd: float) -> float:
    """E[max(0, X)] for X ~ N(mean, sd²)."""
    if sd <= 0:
        return max(0.0, mean)
    return mean * _cdf(mean / sd) + sd * _phi(mean / sd)


def _noise_mean(spread: float) -> float:
    """E[max(0, 1 + spread·Z)]: dividing by it keeps clipped noise unbiased."""
    return expected_positive(1.0, spread)


def anomaly_sd_c(fraction: float) -> float:
    """Spread of the daily-mean anomaly: larger in winter (≈ 3.2 °C) than in summer (≈ 2.3 °C)."""
    return 2.75 + 0.45 * math.cos(2 * math.pi * (fraction - 0.04))


def _effective_sd(fraction: float) -> float:
    # Removing each month's sample mean shrinks the anomaly's spread by the variance of that mean.
    n_days = 365.25 / 12
    shrink = (1 + ANOMALY_PERSISTENCE) / ((1 - ANOMALY_PERSISTENCE) * n_days)
    return anomaly_sd_c(fraction) * math.sqrt(1 - shrink)


def hot_water_season(fraction: float) -> float:
    """More energy per shower in late winter, when the mains water is coldest."""
    return 1 + 0.15 * math.cos(2 * math.pi * (fraction - 0.1))


def _tap_weight(moment: datetime) -> float:
    return (_TAP_WEEKEND if moment.weekday() >= 5 else _TAP_WEEKDAY)[moment.hour]


def _cook_weight(moment: datetime) -> float:
    return (_COOK_WEEKEND if moment.weekday() >= 5 else _COOK_WEEKDAY)[moment.hour]


def free_gains_c(fraction: float) -> float:
    """Degrees a house gains for free: people and appliances all year, the sun mostly in summer."""
    return INTERNAL_GAINS_C + SOLAR_GAINS_C * (0.5 - 0.5 * math.cos(2 * math.pi * (fraction - 0.03)))


def _heating_degrees(config: HouseholdConfig, hour: int, outdoor_c: float, gains_c: float) -> float:
    if config.is_cooling_down(hour):
        return 0.0
    degrees = max(0.0, config.setpoint_c(hour) - gains_c - outdoor_c)
    if config.is_recovery_hour(hour) and config.day_setpoint_c - gains_c - outdoor_c > 0:
        degrees += RECOVERY_HOURS * (config.day_setpoint_c - config.night_setpoint_c)
    return degrees


@lru_cache(maxsize=64)
def expected_degree_hours(config: HouseholdConfig, weather: WeatherSeries) -> float:
    """Expected heating degree hours in a 365-day year, weather anomaly included (closed form)."""
    total = 0.0
    start = datetime(REFERENCE_YEAR, 1, 1, 12)
    for day in range(365):
        fraction = year_fraction(start + timedelta(days=day))  # per day, at noon, as Household does
        sd = _effective_sd(fraction)
        mean_c, half_range = weather.daily_mean_c(fraction), weather.diurnal_range_c(fraction) / 2
        gains = free_gains_c(fraction)
        for hour in range(24):
            if config.is_cooling_down(hour):
                continue
            outdoor = mean_c + half_range * _SHAPE[hour]
            total += expected_positive(config.setpoint_c(hour) - gains - outdoor, sd)
            if config.is_recovery_hour(hour):
                needed = config.day_setpoint_c - gains - outdoor
                total += RECOVERY_HOURS * (config.day_setpoint_c - config.night_setpoint_c) * _cdf(needed / sd)
    return total


@lru_cache(maxsize=1)
def _tap_and_cook_weights() -> tuple[float, float]:
    """Σ over a reference year of the hot-water weight (× season) and of the cooking weight."""
    tap = cook = 0.0
    for day in range(365):
        moment = datetime(REFERENCE_YEAR, 1, 1) + timedelta(days=day)
        season = hot_water_season(year_fraction(moment))
        tap += sum(_tap_weight(moment.replace(hour=h)) for h in range(24)) * season
        cook += sum(_cook_weight(moment.replace(hour=h)) for h in range(24))
    return tap, cook


@dataclass(frozen=True, slots=True)
class _Day:
    """What stays the same all day: the day's mean (weather included), range, gas temperature, season."""

    key: tuple[int, int, int]
    mean_c: float
    half_range_c: float
    gas_temp_c: Decimal
    hot_water_season: float
    gains_c: float


class Household:
    def __init__(
        self,
        rng: RandomSource,
        config: HouseholdConfig | None = None,
        *,
        annual_m3: float | None = None,
        max_flow_m3h: float = 6.0,
        min_flow_m3h: float = 0.04,
        weather: WeatherSeries | None = None,
    ) -> None:
        config = config or HouseholdConfig()
        if annual_m3 is not None:
            config = replace(config, annual_m3=annual_m3)
        if not 0 < min_flow_m3h <= MIN_MODULATION_M3H or max_flow_m3h < 2.0:
            raise InvalidInput(
                f"meter range {min_flow_m3h}…{max_flow_m3h} m³/h cannot carry a household: need Qmin ≤ "
                f"{MIN_MODULATION_M3H} and Qmax ≥ 2 m³/h (a G4 meter has 0.04…6)"
            )
        self.config = config
        self.weather = weather or DE_BILT_1991_2020
        self._rng = rng
        self._min_flow = min_flow_m3h
        self._hob_max = HOB_FLOW_M3H[1]
        self._boiler_max = min(BOILER_MAX_M3H, max_flow_m3h - self._hob_max)
        self._month: tuple[int, int] | None = None
        self._anomalies: tuple[float, ...] = ()
        self._last_z = 0.0
        self._day: _Day | None = None
        heating = config.annual_m3 * (1 - config.hot_water_share - config.cooking_share)
        self._m3_per_degree_hour = heating / expected_degree_hours(config, self.weather)
        tap_weights, cook_weights = _tap_and_cook_weights()
        self._tap_m3_per_weight = config.annual_m3 * config.hot_water_share / tap_weights
        self._cook_m3_per_weight = config.annual_m3 * config.cooking_share / cook_weights
        self._noise_means = (_noise_mean(HEAT_NOISE), _noise_mean(TAP_NOISE), _noise_mean(COOK_NOISE))

    # -- weather -------------------------------------------------------------------------------------

    def anomaly_c(self, local: datetime) -> float:
        """The day's weather: how much warmer (or colder) than normal ``local``'s day is."""
        month = (local.year, local.month)
        if month != self._month:
            self._month = month
            self._anomalies = self._draw_month(local.year, local.month)
        return self._anomalies[local.day - 1]

    def _draw_month(self, year: int, month: int) -> tuple[float, ...]:
        days = calendar.monthrange(year, month)[1]
        innovation = math.sqrt(1 - ANOMALY_PERSISTENCE**2)
        raw = []
        z = self._last_z
        for _ in range(days):
            z = ANOMALY_PERSISTENCE * z + innovation * self._rng.gauss(0.0, 1.0)
            raw.append(z)
        self._last_z = z
        mean = sum(raw) / days
        sd = anomaly_sd_c(year_fraction(datetime(year, month, 15)))
        return tuple((value - mean) * sd for value in raw)

    def _today(self, local: datetime) -> _Day:
        key = (local.year, local.month, local.day)
        if self._day is None or self._day.key != key:
            fraction = year_fraction(local.replace(hour=12, minute=0, second=0, microsecond=0))
            anomaly = self.anomaly_c(local)
            mean_c = self.weather.daily_mean_c(fraction)
            ground = self.weather.ground_temperature_c(fraction)
            cupboard = INDOOR_C - CUPBOARD_COUPLING * (INDOOR_C - (mean_c + anomaly))
            gas = Decimal(f"{GROUND_SHARE * ground + (1 - GROUND_SHARE) * cupboard:.1f}")
            half_range = self.weather.diurnal_range_c(fraction) / 2
            season = hot_water_season(fraction)
            self._day = _Day(key, mean_c + anomaly, half_range, gas, season, free_gains_c(fraction))
        return self._day

    def outdoor_temperature_c(self, local: datetime) -> float:
        """Outdoor temperature in the hour that starts at ``local``: typical year plus the day's weather."""
        day = self._today(local)
        return day.mean_c + day.half_range_c * _SHAPE[local.hour]

    def gas_temperature_c(self, local: datetime) -> Decimal:
        """Gas from a main about a metre deep, warmed a little in the meter cupboard (0.1 °C steps, per day)."""
        return self._today(local).gas_temp_c

    # -- demand --------------------------------------------------------------------------------------

    def demand(self, hour_start: datetime) -> Demand:
        """Gas wanted in the hour that starts at ``hour_start`` (local wall time), by use."""
        day = self._today(hour_start)
        outdoor = day.mean_c + day.half_range_c * _SHAPE[hour_start.hour]
        heat_noise, tap_noise, cook_noise = (self._rng.gauss(0.0, 1.0) for _ in range(3))
        heat_mean, tap_mean, cook_mean = self._noise_means
        degrees = _heating_degrees(self.config, hour_start.hour, outdoor, day.gains_c)
        heating = self._m3_per_degree_hour * degrees * max(0.0, 1 + HEAT_NOISE * heat_noise) / heat_mean
        tap_weight = _tap_weight(hour_start) * day.hot_water_season
        tap = self._tap_m3_per_weight * tap_weight * max(0.0, 1 + TAP_NOISE * tap_noise) / tap_mean
        cook = self._cook_m3_per_weight * _cook_weight(hour_start) * max(0.0, 1 + COOK_NOISE * cook_noise) / cook_mean
        return Demand(heating, tap, cook)

    def demand_m3(self, hour_start: datetime) -> float:
        """The hour's total demand: the fast path for year totals (no flow plan, no Decimals)."""
        return self.demand(hour_start).total_m3

    # -- flows ---------------------------------------------------------------------------------------

    def plan(self, hour_start: datetime) -> list[FlowStep]:
        """The hour's flow steps (seconds into the hour): hot water, heating around it, the hob alongside."""
        demand = self.demand(hour_start)
        temp = self.gas_temperature_c(hour_start)
        tap_z, tap_at, heat_at, cook_at, cook_flow_u = (
            self._rng.gauss(0.0, 1.0), self._rng.random(), self._rng.random(), self._rng.random(), self._rng.random(),
        )  # fmt: skip
        intervals: list[tuple[int, int, float]] = []
        # Hot water has priority on a combi boiler: one block at tap flow.
        mean, spread, lowest = TAP_FLOW_M3H
        tap_flow = min(self._boiler_max, max(lowest, self._min_flow, mean + spread * tap_z))
        tap_s = min(SECONDS, round(SECONDS * demand.hot_water_m3 / tap_flow))
        tap_start = int(tap_at * (SECONDS - tap_s))
        if tap_s > 0:
            intervals.append((tap_start, tap_start + tap_s, tap_flow))
        # Heating uses the boiler's remaining time ("compressed" time, the tap block cut out).
        free_s = SECONDS - tap_s
        heat_m3 = min(demand.heating_m3, self._boiler_max * free_s / SECONDS)
        for start, end, flow in self._heating_blocks(heat_m3, free_s, heat_at):
            for real_start, real_end in _around(start, end, tap_start, tap_s):
                intervals.append((real_start, real_end, flow))
        # The hob burns alongside whatever the boiler does.
        low, high = HOB_FLOW_M3H
        # A large household's hour of cooking can exceed what the drawn hob flow burns in an hour: the hob
        # then burns hotter rather than the demand being lost (m³ in one hour = the flow in m³/h).
        cook_flow = max(self._min_flow, low + (high - low) * cook_flow_u, demand.cooking_m3)
        cook_s = min(SECONDS, round(SECONDS * demand.cooking_m3 / cook_flow))
        if cook_s > 0:
            cook_start = int(cook_at * (SECONDS - cook_s))
            intervals.append((cook_start, cook_start + cook_s, cook_flow))
        return _steps(intervals, temp)

    def _heating_blocks(self, heat_m3: float, free_s: int, at: float) -> list[tuple[int, int, float]]:
        if heat_m3 <= 0 or free_s <= 0:
            return []
        flow = heat_m3 * SECONDS / free_s
        minimum = max(MIN_MODULATION_M3H, self._min_flow)
        if flow >= minimum:  # modulating: burn the whole free time at the needed flow
            return [(0, free_s, flow)]
        duration = round(SECONDS * heat_m3 / minimum)  # on/off at the minimum: one block
        if duration <= 0:
            return []
        start = int(at * (free_s - duration))
        return [(start, start + duration, minimum)]


def _around(start: int, end: int, gap_at: int, gap_s: int) -> list[tuple[int, int]]:
    """Map a block in compressed time to real time, where ``gap_s`` seconds are inserted at ``gap_at``."""
    if gap_s <= 0 or end <= gap_at:
        return [(start, end)]
    if start >= gap_at:
        return [(start + gap_s, end + gap_s)]
    return [(start, gap_at), (gap_at + gap_s, end + gap_s)]


def _steps(intervals: list[tuple[int, int, float]], temp: Decimal) -> list[FlowStep]:
    """Sum overlapping blocks into piecewise-constant flow steps; the first starts at 0."""
    edges = sorted({0, *(s for s, _, _ in intervals), *(e for _, e, _ in intervals if e < SECONDS)})
    steps: list[FlowStep] = []
    for edge in edges:
        total = sum(flow for start, end, flow in intervals if start <= edge < end)
        flow = Decimal(f"{total:.4f}")
        if not steps or steps[-1].flow_m3h != flow:
            steps.append(FlowStep(edge, flow, temp))
    return steps


def planned_m3(steps: list[FlowStep]) -> Decimal:
    """The volume a plan lets flow in its hour (m³ at gas conditions)."""
    total = Decimal(0)
    for step, end in zip(steps, [*(s.offset_s for s in steps[1:]), SECONDS], strict=True):
        total += step.flow_m3h * (end - step.offset_s) / SECONDS
    return total
