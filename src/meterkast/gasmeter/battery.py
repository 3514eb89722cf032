"""The battery as an energy budget (SYSTEM G10).

"Lifetime ≥ 20 years without battery replacement, battery life computed with hourly E–G communication"
[MAIN-4.2.2 DSMR-M 4.3.4]. Charge is counted in whole nanoampere-hours, so the budget is exact and never
negative. Rules:
- every activity draws a cost from ``COSTS_NAH`` (a table, not scattered constants);
- ``BatteryLow`` is raised once when the remaining charge falls to ``LOW_FRACTION`` of capacity, which for
  the typical Dutch household lands between year 18 and 20 (tests/gasmeter/test_battery_lifetime.py);
- at zero the meter stops communicating and its display dies; the legal register keeps its value;
- charge never goes below zero and only a battery replacement (grid operator) refills it.

The figures are a calibration of this model, not a data sheet: a lithium cell of 3.6 Ah usable, a
sleeping microcontroller of about 10 µA, and per-activity costs of the right order for an LCD meter with a
wired M-Bus interface. With them a typical household (≈1200 m³/year, a few display activations a week,
hourly P2 readout) uses ≈170 mAh a year, so the battery lasts ≈21 years.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Drain(Enum):
    SLEEP_HOUR = "sleep-hour"  # quiescent microcontroller, RTC and sensor supervision, per hour
    TEMPERATURE_HOUR = "temperature-hour"  # gas temperature sampled every 30 s, per hour
    CYCLE = "cycle"  # one diaphragm cycle counted
    MBUS_EXCHANGE = "mbus-exchange"  # one answered M-Bus request (parsing, AES, transmit)
    BUTTON_PRESS = "button-press"  # waking up and debouncing
    DISPLAY_SECOND = "display-second"  # one second of lit LCD


COSTS_NAH: dict[Drain, int] = {
    Drain.SLEEP_HOUR: 12_000,  # 12 µA
    Drain.TEMPERATURE_HOUR: 2_400,  # 120 samples × 20 nAh
    Drain.CYCLE: 10,
    Drain.MBUS_EXCHANGE: 3_800,
    Drain.BUTTON_PRESS: 1_000,
    Drain.DISPLAY_SECOND: 14,  # ≈50 µA while lit
}

CAPACITY_NAH = 3_600_000_000  # 3.6 Ah
LOW_FRACTION_PERCENT = 10


@dataclass(slots=True)
class Battery:
    capacity_nah: int = CAPACITY_NAH
    used_nah: int = 0
    low_reported: bool = False

    @property
    def remaining_nah(self) -> int:
        return self.capacity_nah - self.used_nah

    @property
    def remaining_percent(self) -> float:
        return 100 * self.remaining_nah / self.capacity_nah

    @property
    def is_low(self) -> bool:
        return self.remaining_nah * 100 <= self.capacity_nah * LOW_FRACTION_PERCENT

    @property
    def is_empty(self) -> bool:
        return self.remaining_nah <= 0

    def draw(self, drain: Drain, count: int = 1) -> None:
        """Spend ``count`` × the cost of ``drain``; the charge stops at zero."""
        self.used_nah = min(self.capacity_nah, self.used_nah + COSTS_NAH[drain] * count)

    def draw_nah(self, amount_nah: int) -> None:
        """Spend an explicit amount (a scenario's battery drain)."""
        self.used_nah = min(self.capacity_nah, self.used_nah + max(0, amount_nah))

    def replace(self) -> None:
        self.used_nah = 0
        self.low_reported = False
