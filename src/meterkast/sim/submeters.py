"""A water meter and a heat meter with their households' demand: the registers behind the other M-Bus devices.

Liander manual §8 (Apparatuur): besides gas, an E-meter's M-Bus serves a water meter, a heat or cold
meter or a slave E-meter; SYSTEM M3. The P2 side (frames, keys) is ``meterkast.mbus.utility_slave``;
here is what the meters count.

The register (``SubMeter``) counts in millionths of its unit (ml for m³, kJ for GJ), so it is exact, and
stores its value at every whole hour of its clock, as every DSMR M-Bus device does ("All M-Bus devices
transfer the last known hourly value", P2-4.2.2 §6.3). Within an hour the demand is spread evenly, so
the register at any instant follows from the hour's start and amount alone: how a caller slices time
does not change a value.

Demand models, deterministic and seeded (a keyed hash of seed and hour, so no draw order to keep):
- water: ``persons`` × 119 l per day, the Dutch mean household use per person (Vewin, "Waterverbruik
  thuis 2016": 119.1 l/person/day), over a typical diurnal shape (morning and evening peaks, almost
  nothing at night), each hour times a factor 0.5–1.5 (mean 1);
- heat (district heating): ``annual_gj`` a year (default 25 GJ: a district-heated dwelling; heat
  suppliers quote 20–35 GJ for flats and terraced houses; an assumption, not a measurement), of which
  ``hot_water_share`` (20 %) is tap water spread over the day like water use and the rest space heating
  in proportion to the heating degree-hours below 18 °C of the weather normals (``WeatherSeries``),
  scaled so a normal year sums to the space-heating share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterkast.errors import ClockError, InvalidInput
from meterkast.mbus.device_kinds import HEAT, WATER, DeviceKind
from meterkast.sim.weather import DE_BILT_1991_2020, WeatherSeries
from meterkast.timeutil import HOUR, require_utc

ZONE = ZoneInfo("Europe/Amsterdam")
MICRO = 1_000_000  # register steps per unit: ml per m³, kJ per GJ
HOUR_US = 3_600_000_000
REGISTER_STEPS = 10**8  # 8 BCD digits (DIF 4C)
LITRES_PER_PERSON_DAY = Decimal("119")  # Vewin, Waterverbruik thuis 2016 (119.1)
BASE_TEMPERATURE_C = 18.0  # heating degree-days base used for Dutch dwellings (KNMI "graaddagen")
# Share of a day's tap water per local hour 0..23: night near zero, morning peak (showers) 7–9 h, a
# smaller evening peak (cooking, dishes) 18–21 h. Shape of the Dutch diurnal demand curve; sums to 1000.
DIURNAL_WATER = (6, 4, 3, 3, 4, 10, 45, 85, 90, 70, 60, 45, 45, 40, 35, 35, 40, 55, 65, 70, 65, 55, 45, 25)
Demand = Callable[[datetime], int]  # hour start (UTC) → register steps (millionths) in that hour


def _uniform(seed: int, hour: datetime, salt: str) -> float:
    """A number in [0, 1) fixed by seed, hour and salt: the same hour always draws the same."""
    digest = hashlib.blake2b(f"{seed}:{salt}:{hour.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True, slots=True)
class WaterDemand:
    """Tap water of a household: ``persons`` × 119 l/day over ``DIURNAL_WATER``, ±50 % per hour."""

    seed: int
    persons: Decimal = Decimal("2.1")  # mean Dutch household size (CBS)

    def __call__(self, hour: datetime) -> int:
        local = hour.astimezone(ZONE)
        daily_ml = self.persons * LITRES_PER_PERSON_DAY * 1000
        factor = Decimal(str(round(0.5 + _uniform(self.seed, hour, "water"), 4)))
        return int(daily_ml * DIURNAL_WATER[local.hour] / 1000 * factor)


@dataclass(frozen=True, slots=True)
class HeatDemand:
    """Space heating by degree-hours below 18 °C plus tap hot water, ``annual_gj`` in a normal year."""

    seed: int
    annual_gj: Decimal = Decimal("25")
    hot_water_share: Decimal = Decimal("0.2")
    weather: WeatherSeries = DE_BILT_1991_2020
    _degree_hours: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.annual_gj < 0 or not 0 <= self.hot_water_share <= 1:
            raise InvalidInput("heat demand needs annual_gj ≥ 0 and hot_water_share in 0..1")
        start = datetime(2021, 1, 1, tzinfo=UTC)  # any non-leap year: the normals are a typical year
        total = sum(self._below_base(start + timedelta(hours=h)) for h in range(8760))
        object.__setattr__(self, "_degree_hours", total)

    def _below_base(self, hour: datetime) -> float:
        return max(0.0, BASE_TEMPERATURE_C - self.weather.temperature_c(hour.astimezone(ZONE)))

    def __call__(self, hour: datetime) -> int:
        annual_kj = self.annual_gj * MICRO
        space = annual_kj * (1 - self.hot_water_share) * Decimal(str(self._below_base(hour) / self._degree_hours))
        tap_day = annual_kj * self.hot_water_share / 365
        tap = tap_day * DIURNAL_WATER[hour.astimezone(ZONE).hour] / 1000
        factor = Decimal(str(round(0.5 + _uniform(self.seed, hour, "heat"), 4)))
        return int(space + tap * factor)


@dataclass(frozen=True, slots=True)
class HourlyValue:
    captured_at: datetime  # UTC, a whole hour of the meter's clock
    value: Decimal  # in the kind's unit, at the register's resolution


@dataclass(slots=True)
class SubMeter:
    """A water or heat meter's register and its last stored hourly value (P2-4.2.2 §6.3, §6.4.5–6.4.6)."""

    kind: DeviceKind
    equipment_id: str
    demand: Demand
    now: datetime
    default_key: bytes
    resolution: Decimal
    steps: int = 0  # millionths of the unit counted so far
    access_number: int = 0
    hourly: HourlyValue | None = None
    _hour: datetime = field(init=False)
    _base: int = field(init=False)
    _amount: int = field(init=False)

    def __post_init__(self) -> None:
        self.now = require_utc(self.now, "installation time")
        self.resolution = self.kind.resolutions[0] if self.resolution not in self.kind.resolutions else self.resolution
        self._open_hour(self.now.replace(minute=0, second=0, microsecond=0))

    @classmethod
    def install(cls, kind: DeviceKind, equipment_id: str, now: datetime, demand: Demand, default_key: bytes, *,
                initial: Decimal = Decimal(0), access_number: int = 0) -> SubMeter:
        if kind not in (WATER, HEAT):
            raise InvalidInput(f"a {kind.name} meter is not modelled as a sub-meter; use water or heat")
        steps = int(initial * MICRO)
        meter = cls(kind, equipment_id, demand, now, default_key, kind.resolutions[0], steps, access_number)
        return meter

    def _open_hour(self, hour: datetime) -> None:
        self._hour, self._base, self._amount = hour, self.steps, max(0, self.demand(hour))

    def advance(self, now: datetime) -> None:
        """Count up to ``now``, storing the register at every whole hour passed."""
        now = require_utc(now)
        if now < self.now:
            raise ClockError(f"{self.kind.name} meter {self.equipment_id}: time cannot go back from "
                             f"{self.now.isoformat()} to {now.isoformat()}")
        while now >= self._hour + HOUR:
            end = self._hour + HOUR
            self.steps = self._base + self._amount
            self.hourly = HourlyValue(end, self.register_at_steps(self.steps))
            self._open_hour(end)
        elapsed = int((now - self._hour) / timedelta(microseconds=1))
        self.steps = self._base + self._amount * elapsed // HOUR_US
        self.now = now

    def register_at_steps(self, steps: int) -> Decimal:
        """The register shows 8 digits, as its P2 record carries them (8-digit BCD, P2-4.2.2 §6.4.5–6.4.6),
        and rolls over to 0 after 99999.999 m³ or 999999.99 GJ like any counter with a fixed width."""
        per_step = int(self.resolution * MICRO)
        return (Decimal(steps // per_step % REGISTER_STEPS) * self.resolution).quantize(self.resolution)

    @property
    def last_hour(self) -> tuple[datetime, Decimal] | None:
        """The value stored at the last whole hour and its time (UTC) [P2-4.2.2 §6.3]; None before the first."""
        return None if self.hourly is None else (self.hourly.captured_at, self.hourly.value)

    @property
    def register(self) -> Decimal:
        """What the display shows: the count, cut to the register's resolution."""
        return self.register_at_steps(self.steps)
