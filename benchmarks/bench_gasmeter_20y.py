"""20 years of a typical household on one G4 meter, on the simulated clock (issue: foundation).

No peer project models a gas meter, so this one times meterkast alone and reports when the
battery-low alarm came. Run: ``make bench`` or ``python -m benchmarks gasmeter_20y``.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import benchmarks
from meterkast.gasmeter.events import BatteryLow
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.sim.household import Household
from meterkast.sim.meter_run import run_hours

START = datetime(2026, 1, 1, tzinfo=UTC)
HOURS = 20 * 8766
QUICK_HOURS = 8766  # python -m benchmarks --quick: one year


def main() -> None:
    hours = benchmarks.scaled(HOURS, QUICK_HOURS)
    rng = random.Random(2026)
    meter = GasMeter.manufacture(MeterType.G4, "G0001123456789026", START, rng)
    household = Household(rng)
    began = time.perf_counter()
    low_at = None
    report = None
    for report in run_hours(meter, household.plan, hours):
        for event in report.events:
            if isinstance(event, BatteryLow):
                low_at = event.at
    elapsed = time.perf_counter() - began
    assert report is not None
    print(f"simulated hours       {hours}{'  (quick: one year, not 20)' if hours != HOURS else ''}")
    print(f"wall time             {elapsed:.2f} s  ({hours / elapsed:,.0f} simulated hours/s)")
    print(f"index at the end      {report.index_m3} m³ (true flow {float(report.true_m3):.1f} m³)")
    print(f"battery left          {report.battery_percent:.2f} %")
    if low_at is not None:
        print(f"battery low at        {low_at.date()} ({(low_at - START).days / 365.25:.2f} years)")
