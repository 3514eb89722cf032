"""A typical Dutch household's gas use, hour by hour (seeded, sans-I/O).

Space heating follows heating degree hours against a smooth outdoor-temperature year for the middle of
the Netherlands (annual mean ≈ 10.5 °C, coldest mid-January) with day-to-day weather drawn from the
injected random source; the thermostat sets back at night. Hot water (morning showers) and cooking
(evening) add a daily pattern, a bit more at weekends. The annual total is calibrated to ``annual_m3``
(≈ 1200 m³ is a typical house). A boiler burns in bursts, so each hour's demand becomes one burst at a
realistic flow (never below the burner's minimum, never above the meter's Qmax) rather than a thin
average flow that a real meter would not see.

Rules: the same seed gives the same plan; no plan step ever has a negative flow; the flow never exceeds
``max_flow_m3h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterkast.randomness import RandomSource

HOURS_PER_YEAR = 8760
MEAN_OUTDOOR_C = 10.5
SEASONAL_SWING_C = 7.5
DAILY_SWING_C = 3.0
DAY_SETPOINT_C = 20.0
NIGHT_SETPOINT_C = 16.0
INTERNAL_GAINS_C = 3.0  # people, appliances and sun heat the house a few degrees for free
HOT_WATER_SHARE = 0.17  # of the annual total: showers, dishes, cooking
MIN_BURNER_FLOW_M3H = 0.8
# Relative weight of hot water / cooking per hour of the day.
_TAP_PATTERN = (0, 0, 0, 0, 0, 0, 2, 6, 4, 1, 1, 1, 1, 0.5, 0.5, 0.5, 1, 3, 4, 2, 1, 1, 0.5, 0)


@dataclass(frozen=True, slots=True)
class FlowStep:
    """From ``offset_s`` seconds into the hour on, gas flows at ``flow_m3h`` at ``gas_temp_c``."""

    offset_s: int
    flow_m3h: Decimal
    gas_temp_c: Decimal


def outdoor_temperature_c(moment: datetime) -> float:
    """The smooth climate part of the outdoor temperature (weather comes on top)."""
    day = moment.timetuple().tm_yday + moment.hour / 24
    seasonal = MEAN_OUTDOOR_C - SEASONAL_SWING_C * math.cos(2 * math.pi * (day - 15) / 365.25)
    daily = -DAILY_SWING_C * math.cos(2 * math.pi * (moment.hour - 4) / 24)
    return seasonal + daily


def gas_temperature_c(moment: datetime) -> Decimal:
    """Gas arrives through the ground and sits in an indoor meter cupboard: 8 °C in winter, 18 in summer."""
    day = moment.timetuple().tm_yday
    value = 13 - 5 * math.cos(2 * math.pi * (day - 30) / 365.25)
    return Decimal(f"{value:.1f}")


def setpoint_c(moment: datetime) -> float:
    return NIGHT_SETPOINT_C if moment.hour >= 23 or moment.hour < 6 else DAY_SETPOINT_C


def _heating_degrees(moment: datetime, weather_c: float) -> float:
    return max(0.0, setpoint_c(moment) - INTERNAL_GAINS_C - outdoor_temperature_c(moment) - weather_c)


class Household:
    def __init__(
        self,
        rng: RandomSource,
        *,
        annual_m3: float = 1200.0,
        max_flow_m3h: float = 6.0,
        calibration_year: int = 2025,
    ) -> None:
        self._rng = rng
        self._max_flow = max_flow_m3h
        self._weather_day: tuple[int, int, int] | None = None
        self._weather_c = 0.0
        year_start = datetime(calibration_year, 1, 1)
        degree_hours = sum(
            _heating_degrees(year_start + timedelta(hours=h), 0.0) for h in range(HOURS_PER_YEAR)
        )
        self._m3_per_degree_hour = annual_m3 * (1 - HOT_WATER_SHARE) / degree_hours
        self._tap_m3_per_weight = annual_m3 * HOT_WATER_SHARE / (365.25 * sum(_TAP_PATTERN))

    def demand_m3(self, hour_start: datetime) -> float:
        """Gas wanted in the hour that starts at ``hour_start`` (local wall time is close enough)."""
        day = (hour_start.year, hour_start.month, hour_start.day)
        if day != self._weather_day:
            self._weather_day = day
            self._weather_c = self._rng.gauss(0.0, 2.5)
        heating = self._m3_per_degree_hour * _heating_degrees(hour_start, self._weather_c)
        weekend = 1.15 if hour_start.weekday() >= 5 else 1.0
        tap = self._tap_m3_per_weight * _TAP_PATTERN[hour_start.hour] * weekend
        noise = max(0.0, 1 + self._rng.gauss(0.0, 0.25))
        return (heating + tap) * noise

    def plan(self, hour_start: datetime) -> list[FlowStep]:
        """The flow steps of one hour: off, one burst, off again."""
        demand = min(self.demand_m3(hour_start), self._max_flow * 0.9)
        temp = gas_temperature_c(hour_start)
        if demand <= 0.001:
            return [FlowStep(0, Decimal(0), temp)]
        flow = max(demand, MIN_BURNER_FLOW_M3H)
        burst_s = max(1, round(3600 * demand / flow))
        start_s = self._rng.randrange(0, 3600 - burst_s + 1)
        steps = [FlowStep(start_s, Decimal(f"{flow:.4f}"), temp)]
        steps.insert(0, FlowStep(0, Decimal(0), temp))
        if start_s + burst_s < 3600:
            steps.append(FlowStep(start_s + burst_s, Decimal(0), temp))
        return steps
