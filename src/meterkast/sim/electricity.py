"""A household's electricity use and solar export, hour by hour (seeded, sans-I/O).

The E-meter needs a load to integrate; this gives it a plausible one. Consumption follows a daily
shape (low at night, a morning bump, an evening peak) with seeded noise, scaled to ``annual_kwh``
(≈ 2700 kWh is a typical Dutch household). Optional solar panels (``solar_kwp``) produce around noon,
more in summer; the net of the two is what the meter sees per phase, so an hour of surplus shows as
export (−A). The mains voltage wanders a little around 230 V, far from the sag/swell limits.

Rules: the same seed gives the same loads; watts are whole numbers (``Decimal``), never negative; the
plan is keyed by the local hour it starts (the caller converts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterkast.randomness import RandomSource

# Relative consumption per local hour of the day (mean 1.0).
_DAY_SHAPE = (
    0.55, 0.5, 0.45, 0.45, 0.45, 0.5, 0.7, 1.1, 1.1, 0.9, 0.85, 0.9,
    0.95, 0.9, 0.85, 0.9, 1.0, 1.35, 1.75, 1.8, 1.6, 1.4, 1.1, 0.8,
)  # fmt: skip
_SHAPE_MEAN = sum(_DAY_SHAPE) / len(_DAY_SHAPE)
HOURS_PER_YEAR = 8766  # 365.25 days
NOMINAL_V = 230


@dataclass(frozen=True, slots=True)
class LoadStep:
    """What the E-meter sees from one hour on: W per phase imported and exported, V per phase."""

    import_w: tuple[Decimal, ...]
    export_w: tuple[Decimal, ...]
    voltage_v: tuple[Decimal, ...]


class ElectricityUse:
    def __init__(
        self, rng: RandomSource, *, annual_kwh: float = 2700.0, solar_kwp: float = 0.0, phases: int = 1
    ) -> None:
        self._rng = rng
        self._mean_w = annual_kwh * 1000 / HOURS_PER_YEAR
        self._solar_kwp = solar_kwp
        self._phases = phases

    def solar_w(self, local_hour: datetime) -> float:
        """Clear-sky-ish output: a noon-centred bell whose height and width follow the season."""
        if self._solar_kwp <= 0:
            return 0.0
        day = local_hour.timetuple().tm_yday
        season = 0.5 - 0.5 * math.cos(2 * math.pi * (day - 10) / 365.25)  # 0 in January, 1 in July
        half_width = 4.0 + 4.0 * season  # hours either side of 13:00 local
        distance = abs(local_hour.hour + 0.5 - 13.5)
        if distance >= half_width:
            return 0.0
        shape = math.cos(math.pi / 2 * distance / half_width)
        clouds = min(1.0, max(0.0, self._rng.gauss(0.7, 0.25)))
        return 1000 * self._solar_kwp * (0.25 + 0.5 * season) * shape * clouds

    def load(self, local_hour: datetime) -> LoadStep:
        """The load for the hour that starts at ``local_hour`` (aware, Europe/Amsterdam wall time)."""
        noise = max(0.2, 1 + self._rng.gauss(0.0, 0.3))
        use = self._mean_w * _DAY_SHAPE[local_hour.hour] / _SHAPE_MEAN * noise
        net = use - self.solar_w(local_hour)
        per_phase = abs(net) / self._phases
        watts = Decimal(round(per_phase))
        zero = Decimal(0)
        imports = tuple(watts if net >= 0 else zero for _ in range(self._phases))
        exports = tuple(zero if net >= 0 else watts for _ in range(self._phases))
        volts = tuple(Decimal(f"{NOMINAL_V + self._rng.gauss(0.0, 1.5):.1f}") for _ in range(self._phases))
        return LoadStep(imports, exports, volts)
