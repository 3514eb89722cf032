"""P3 shows each M-Bus channel in its own unit: 0-x:24.2.1 scaler_unit "set by the E-meter by reading the
M-Bus device VIF/DIF" [P3-4.2.2 §7.3.1], for the water (VIF 13h), gas (13h) and heat (0Fh) meters of the
``water-heat`` scenario (Liander manual §8)."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from meterkast.cosem.access import Client, Ctx, MeterInfo
from meterkast.cosem.association import e_meter_model
from meterkast.cosem.services import Services
from meterkast.cosem.values import Unit, read_scaler_unit
from meterkast.dlms import Array, AttributeDescriptor, Conformance, DoubleLongUnsigned, ObisCode, OctetString, Structure
from meterkast.scenario_files import load_scenario
from meterkast.sim.weather import DE_BILT_1991_2020
from tests.cosem.conftest import METER_TITLE

MODEL = e_meter_model()


def test_each_channel_reads_in_its_own_unit_over_p3() -> None:
    scenario = load_scenario("water-heat")
    installation = scenario.build(random.Random(scenario.seed), DE_BILT_1991_2020)
    installation.advance(scenario.start + timedelta(hours=5, minutes=30))
    ctx = Ctx(installation.emeter, MeterInfo(METER_TITLE), Client.MANAGEMENT, conformance=Conformance(0xFFFFFF),
              objects=MODEL.objects())
    services = Services(MODEL, ctx, 0xFFFF)

    def read(ln: str, class_id: int, attribute: int) -> object:
        return services.read(AttributeDescriptor(class_id, ObisCode.parse(ln), attribute), None)

    expected = {1: (-3, Unit.VOLUME_CUBIC_METRE), 2: (-3, Unit.CUBIC_METRE), 3: (7, Unit.JOULE)}
    for channel, (scaler, unit) in expected.items():
        master = installation.emeter.master_value(channel)
        assert master is not None
        value, scal_unit = read(f"0-{channel}:24.2.1.255", 4, 2), read(f"0-{channel}:24.2.1.255", 4, 3)
        assert read_scaler_unit(scal_unit) == (scaler, unit)  # type: ignore[arg-type]
        assert isinstance(value, DoubleLongUnsigned)
        shown = Decimal(value.value).scaleb(scaler)  # in m³ or J
        assert shown == (master.value_m3 * 10**9 if channel == 3 else master.value_m3)
    # capture_definition (class 72 attr 3): the register's DIB/VIB, 4C 0F for heat [P2-4.2.2 §6.4.5]
    heat = read("0-3:24.1.0.255", 72, 3)
    assert isinstance(heat, Array)
    assert heat.items[0] == Structure((OctetString(b"\x4c"), OctetString(b"\x0f")))
