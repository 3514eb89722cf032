"""The dashboard's view of the gas meter shows the new facts of issue 11 (SYSTEM G1, G7, G13)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.display import PRESSES_PER_DAY
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.live.views import gas_meter_json

T0 = datetime(2026, 1, 15, 21, 0, tzinfo=UTC)  # 22:00 in Amsterdam


def test_flow_below_qmin_lockout_and_nameplate_reach_the_dashboard() -> None:
    meter = GasMeter.manufacture(MeterType.G4, "G0019340315370616", T0, random.Random(3))
    meter.handle(T0, cmd.SetFlow(Decimal("0.012"), Decimal(15)))  # a pilot light: EN 1359 §5.3, G1
    for i in range(PRESSES_PER_DAY + 1):  # seed §9: pressed too often, dark for a day (G7)
        meter.handle(T0 + timedelta(seconds=2 * i), cmd.PressButton())
    now = T0 + timedelta(minutes=5)
    meter.advance(now)
    view = gas_meter_json(meter, now)
    assert view["flowing"] is True and view["flow_regime"] == "below-qmin"
    assert view["starting_flow_m3h"] == "0.003"
    assert view["display_state"] == "locked"
    assert view["display_locked_until"] == (T0 + timedelta(seconds=2 * PRESSES_PER_DAY, days=1)).isoformat()
    plate = view["nameplate"]  # seed §10 items 4 and 5 (G13)
    assert plate["year_of_manufacture"] == 2016 and plate["base_pressure_mbar"] == "1041.25"
    assert "Qt 0.6 m³/h   Pmax 0.5 bar   2016" in plate["lines"]
    assert any(line.startswith("Pa 1041.25 mbar") for line in plate["lines"])
