"""The dashboard's view of the gas meter's clock: drift, deviation, bit 5 and the last P2 sync (DSMR-M 4.5.89;
P2-4.0.7 §6.2.1, §6.2.4)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meterkast.cosem.events import MbusCommandReceived
from meterkast.dlms.data import Integer
from meterkast.gasmeter import commands as gas
from meterkast.live.views import gas_clock_json
from meterkast.sim.installation import Installation, OperateGasMeter
from meterkast.sim.p2_link import P2GasLink
from tests.live.helpers import make_session

START = datetime(2025, 3, 10, 21, 30, tzinfo=UTC)


def test_the_view_shows_drift_deviation_bit_5_and_the_last_sync() -> None:
    installation = Installation.build(START, random.Random(2), link=P2GasLink(random.Random(2)))
    installation.handle(START, OperateGasMeter(gas.SetClockDrift(Decimal(800))))
    installation.advance(START + timedelta(days=1, hours=2))  # 00:30 local, after the daily sync at 00:01
    [view] = gas_clock_json(installation)
    json.dumps(view)  # plain JSON
    assert view["channel"] == 1 and view["drift_ppm"] == "800"
    assert view["clock_sync_error"] and view["status"] & 0x20  # 69 s off at the daily sync [§6.2.1]
    assert view["last_reason"] == "daily" and view["last_sync"] == "2025-03-12T00:01:00+01:00"
    assert view["deviation_s"] == view["vs_emeter_s"] == "1.392"  # 800 ppm for the 29 minutes since
    assert view["pending"] is None and view["failures"] == 0


def test_p3_synchronize_clock_on_the_m_bus_client_syncs_the_gas_meter_over_p2() -> None:
    """P3 class 72 method 5 ``synchronize_clock`` (0-1:24.1.0): the E-meter sets the gas clock now."""
    session = make_session()
    session.jump_clock(3 * 3600)
    meter = session.installation.gas_meter
    assert meter is not None
    meter.clock_offset = timedelta(seconds=-90)
    session.p3_event(MbusCommandReceived(1, "synchronize_clock", Integer(0)))
    [view] = gas_clock_json(session.installation)
    assert view["last_reason"] == "requested" and view["clock_sync_error"]  # 90 s off [§6.2.1]
    assert abs(meter.clock_offset) < timedelta(seconds=1)
