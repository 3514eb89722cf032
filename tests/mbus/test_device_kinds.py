"""The device-kind table and the hourly register of each kind on P2 (P2-4.2.2 §6.3, §6.4.4–6.4.7)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import RecordError
from meterkast.mbus.device_kinds import (
    ELECTRICITY,
    GAS,
    HEAT,
    KINDS,
    WATER,
    DeviceKind,
    kind_for_device_type,
    unit_for_device_type,
)
from meterkast.mbus.gas_records import (
    GasReadout,
    HourlyReading,
    MeterConfiguration,
    decode_gas_records,
    encode_gas_records,
)
from meterkast.mbus.records import decode_records, encode_records
from meterkast.mbus.vif import Vib, meaning

STAMP = datetime(2025, 1, 13, 11, 0, tzinfo=UTC)


def test_the_device_types_are_en_13757_3_codes_used_in_nl() -> None:
    """EN 13757-3 device type / medium: 03 gas, 07 water, 04 heat (outlet), 02 electricity (DSMR-FACTS §1.4);
    P1 shows them as 0-n:24.1.0(003), (007), (004) [P1-4.2.2 Table 5-3]."""
    assert [(k.name, k.device_type, k.unit) for k in KINDS] == [
        ("gas", 0x03, "m3"), ("water", 0x07, "m3"), ("heat", 0x04, "GJ"), ("electricity", 0x02, "kWh")]
    assert kind_for_device_type(0x07) is WATER
    with pytest.raises(RecordError, match="0Ah is not one this E-meter reads"):
        kind_for_device_type(0x0A)  # a cooling meter: no heat register to read


@pytest.mark.parametrize("device_type", [0x04, 0x0C, 0x0D])
def test_every_thermal_device_type_is_read_as_a_heat_meter(device_type: int) -> None:
    """[P2-4.2.2 §6.3]: "Thermal meters (device type =x0D) will send … Hourly meter reading heat" (4C 0F,
    §6.4.5). EN 13757-3 also names heat meters 04h (outlet) and 0Ch (inlet). The E-meter reads the heat
    register of each; P1 then shows 0-n:24.1.0 as the device says and the value in GJ [P1-4.2.2 Table 5-3].
    ("Combined Heat and Cold meters are not supported" [P1-4.2.2 §6.4] is about P1 showing one of the two.)"""
    assert kind_for_device_type(device_type) is HEAT
    assert unit_for_device_type(device_type) == "GJ"


@pytest.mark.parametrize(
    ("kind", "resolution", "vif", "unit", "exponent"),
    [
        (GAS, Decimal("0.001"), 0x13, "m³", -3),  # [P2-4.2.2 §6.4.4] 4C 13
        (GAS, Decimal("0.01"), 0x14, "m³", -2),
        (WATER, Decimal("0.001"), 0x13, "m³", -3),  # [§6.4.6] 4C 13, "Multiplier 0,001; unit m³"
        (HEAT, Decimal("0.01"), 0x0F, "J", 7),  # [§6.4.5] 4C 0F, "Multiplier 0,01 ; unit GJ" = 10^7 J
        (ELECTRICITY, Decimal("0.001"), 0x03, "Wh", 0),  # [§6.4.7] 4C 03, "Multiplier 1; unit Wh"
    ],
)
def test_each_register_vif_means_what_the_clause_says(
    kind: DeviceKind, resolution: Decimal, vif: int, unit: str, exponent: int
) -> None:
    assert kind.vif(resolution) == vif and kind.resolution(vif) == resolution
    info = meaning(Vib(vif))
    assert (info.unit, info.exponent) == (unit, exponent)
    # One register step in the kind's unit is one raw step of the VIF, so BCD carries the displayed digits.
    assert kind.to_wire(resolution) == Decimal(1).scaleb(exponent)


def test_a_resolution_the_kind_has_no_vif_for_is_refused_by_name() -> None:
    with pytest.raises(RecordError, match=r"heat register has no VIF for resolution 0.001 GJ; use 0.01 \(P2-4.2.2"):
        HEAT.vif(Decimal("0.001"))


def test_the_heat_register_on_the_wire_is_the_clause_example() -> None:
    """[P2-4.2.2 §6.4.5]: 4C 0F 27 41 31 00 is "Meter reading, e.g. 03141,27 GJ"; water 4C 13 74 12 14 03 is
    03141,274 m³ [§6.4.6]."""
    heat = GasReadout(hourly=HourlyReading(STAMP, Decimal("3141.27"), Decimal("0.01")))
    water = GasReadout(hourly=HourlyReading(STAMP, Decimal("3141.274"), Decimal("0.001")))
    assert encode_records(encode_gas_records(heat, HEAT)).endswith(bytes.fromhex("4C0F27413100"))
    assert encode_records(encode_gas_records(water, WATER)).endswith(bytes.fromhex("4C1374121403"))


readings = st.builds(
    lambda kind, steps, stored: (kind, HourlyReading(STAMP, steps * kind.resolutions[0], kind.resolutions[0], stored)),
    st.sampled_from([GAS, WATER, HEAT, ELECTRICITY]), st.integers(0, 99_999_999), st.booleans(),
)


@given(readings)
@settings(max_examples=150, deadline=None)
def test_every_kind_reads_back_what_it_wrote(case: tuple[DeviceKind, HourlyReading]) -> None:
    """decode(encode(r)) == r for each kind's register, stored (4C) or actual (0C) [P2-4.2.2 §6.3, §6.4.3]."""
    kind, hourly = case
    readout = GasReadout(status=0, equipment_identifier="W0001987654321024", hourly=hourly,
                         configuration=MeterConfiguration.CLOCK)
    back = decode_gas_records(decode_records(encode_records(encode_gas_records(readout, kind))), kind)
    assert back == readout


def test_a_register_of_another_kind_is_not_read_as_this_one() -> None:
    """A heat meter's 4C 0F is no gas volume: read as gas the hourly value is missing, not misread."""
    heat = GasReadout(hourly=HourlyReading(STAMP, Decimal("12.34"), Decimal("0.01")))
    items = decode_records(encode_records(encode_gas_records(heat, HEAT)))
    with pytest.raises(RecordError, match="needs both its time stamp"):
        decode_gas_records(items, GAS)
