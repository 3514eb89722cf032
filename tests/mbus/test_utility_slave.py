"""Water and heat meters as M-Bus slaves, installed and read by the E-meter's P2 master beside a gas meter.

P2-4.2.2 §6.3: every slave sends status, equipment identifier, configuration and "the last known hourly
value (Storage Number bit in DIF field is set) and a time stamp"; water 4C 13 [§6.4.6], heat 4C 0F [§6.4.5];
mode 15 once a user key is set [§5, §6.5]; installation as §8.3 says (address 0, a free address, the key).
pyMeterBus (a peer, never imported by the package) reads the records to the same values.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import meterbus
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.errors import AuthenticationError
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.mbus.device_kinds import HEAT, WATER, DeviceKind
from meterkast.mbus.dsmr_master import DsmrP2Master
from meterkast.mbus.gas_reply import read_gas_reply
from meterkast.mbus.gas_slave import GasMeterSlave
from meterkast.mbus.keys import NO_USER_KEY, encode_set_key_records, wrap_user_key
from meterkast.mbus.link import LongFrame, ShortFrame, decode_frame, encode_frame
from meterkast.mbus.master import BusMaster, RetryPolicy
from meterkast.mbus.utility_slave import SubMeterSlave
from meterkast.mbus.virtual import BusPort, VirtualBus, run_now
from meterkast.sim.submeters import HeatDemand, SubMeter, WaterDemand

T0 = datetime(2025, 1, 13, 5, 30, tzinfo=UTC)
WATER_ID, HEAT_ID = "W0001987654321024", "T0001876543210024"
KEYS = {1: bytes([0x11]) * 16, 2: bytes([0x22]) * 16, 3: bytes([0x33]) * 16}


def sub_meter(kind: DeviceKind, initial: str = "0") -> SubMeter:
    demand = WaterDemand(7) if kind is WATER else HeatDemand(7)
    ident = WATER_ID if kind is WATER else HEAT_ID
    return SubMeter.install(kind, ident, T0, demand, bytes([kind.device_type]) * 16, initial=Decimal(initial))


class Rig:
    """Water on channel 1, gas on 2, heat on 3, installed in that order over one bus [P1-4.2.2 §6.3–6.5]."""

    def __init__(self) -> None:
        self.now = T0
        self.bus = VirtualBus(random.Random(0))
        self.p2 = DsmrP2Master(BusMaster(BusPort(self.bus, lambda: self.now), RetryPolicy(attempts=1)))
        self.water, self.heat = sub_meter(WATER, "312.456"), sub_meter(HEAT, "41.27")
        self.gas = GasMeter.manufacture(MeterType.G4, "G0001123456789012", T0, random.Random(1),
                                        initial_index_m3=Decimal("1000"))
        self.slaves = {1: SubMeterSlave(self.water, manufacturer="ITW"),
                       3: SubMeterSlave(self.heat, manufacturer="KAM")}
        for channel in (1, 2, 3):
            if channel == 2:
                self.bus.attach(GasMeterSlave(self.gas))
                default = self.gas.default_key
            else:
                self.bus.attach(self.slaves[channel])
                default = self.slaves[channel].meter.default_key
            run_now(self.p2.install(default_key=default, user_key=KEYS[channel], channel=channel))

    def at(self, now: datetime) -> None:
        self.now = now
        self.gas.advance(now)


def test_water_and_heat_are_installed_and_read_encrypted_beside_the_gas_meter() -> None:
    rig = Rig()
    devices = rig.p2.devices
    assert [(c, devices[c].meter.medium, devices[c].address) for c in (1, 2, 3)] == [(1, 7, 1), (2, 3, 2), (3, 4, 3)]
    assert all(rig.slaves[c].keys.is_encrypted for c in (1, 3))  # the set-key records reached them [§6.5.1]
    for hour in range(1, 30):
        rig.at(T0 + timedelta(hours=hour, minutes=1))
        water, gas, heat = (run_now(rig.p2.read(c, now=rig.now)) for c in (1, 2, 3))
        assert (water.device_type, gas.device_type, heat.device_type) == (0x07, 0x03, 0x04)
        assert (water.capture_time, water.value_m3) == rig.water.last_hour
        assert (heat.capture_time, heat.value_m3) == rig.heat.last_hour
        assert (water.resolution_m3, heat.resolution_m3) == (Decimal("0.001"), Decimal("0.01"))
        assert water.frame_counter == heat.frame_counter == hour  # +1 per encrypted RSP_UD [§5.2]
        assert water.configuration == 0x01 and water.valve is None  # a clock, no valve [§6.4.8]
    assert rig.water.register > Decimal("312.456") and rig.heat.register > Decimal("41.27")


def test_a_replayed_water_reply_is_refused() -> None:
    """The frame counter guard works per channel for any device [P2-4.2.2 §5.2]."""
    rig = Rig()
    rig.at(T0 + timedelta(hours=1, minutes=1))
    request = encode_frame(ShortFrame(0x5B, 1))
    old = rig.slaves[1].on_request(rig.now, request)
    run_now(rig.p2.read(1, now=rig.now))
    assert old is not None
    replayed = rig.slaves[1]

    class Replayer:
        def on_request(self, now: datetime, frame: bytes) -> bytes | None:
            return old if frame == request else None

    rig.bus.detach(replayed)
    rig.bus.attach(Replayer())
    with pytest.raises(AuthenticationError):
        run_now(rig.p2.read(1, now=rig.now))


def test_a_keyed_sub_meter_ignores_a_new_address_and_refuses_a_valve_command() -> None:
    """Set new address only while the user key is zero [§6.2.3]; no valve on a water or heat meter."""
    meter = sub_meter(WATER)
    slave = SubMeterSlave(meter, manufacturer="ITW", address=4)
    set_key = encode_set_key_records(wrap_user_key(meter.default_key, KEYS[1]))
    assert slave.on_request(T0, encode_frame(LongFrame(0x53, 4, 0x51, set_key))) == b"\xe5"
    assert slave.keys.is_encrypted
    assert slave.on_request(T0, encode_frame(LongFrame(0x53, 4, 0x51, bytes.fromhex("017A09")))) is None
    assert slave.on_request(T0, encode_frame(LongFrame(0x53, 4, 0x51, bytes.fromhex("01FD1F00")))) is None
    assert slave.address == 4 and slave.stats.rejected == 2
    assert "takes only set address and set key" in slave.stats.last_rejection  # the valve command, last


@pytest.mark.parametrize(("kind", "manufacturer", "unit", "scale"), [
    (WATER, "ITW", "MeasureUnit.M3", Decimal(1)),
    (HEAT, "KAM", "MeasureUnit.J", Decimal(10) ** 9),  # VIF 0F counts 10^7 J: pyMeterBus says J
])  # fmt: skip
def test_pymeterbus_reads_the_sub_meter_records(kind: DeviceKind, manufacturer: str, unit: str, scale: Decimal) -> None:
    """The plain RSP_UD (no user key yet; mode 15 carries the same records [§5.1]) as a peer reads it."""
    meter = sub_meter(kind, "1234.56")
    slave = SubMeterSlave(meter, manufacturer=manufacturer, address=5, user_key=NO_USER_KEY)
    reply = slave.on_request(T0 + timedelta(hours=3), encode_frame(ShortFrame(0x5B, 5)))
    assert reply is not None and meter.last_hour is not None
    telegram = meterbus.load(reply)
    header = telegram.body.bodyHeader
    assert telegram.manufacturer == manufacturer
    assert (header.measure_medium_field.parts, header.version_field.parts) == ([kind.device_type], [0x42])
    assert "".join(f"{b:02X}" for b in header.id_nr) == meter.equipment_id[7:15]
    status, ident, stamp, register, configuration = telegram.records
    assert status.value == 0 and ident.value == meter.equipment_id
    assert stamp.interpreted["storage_number"] == 1
    assert stamp.dataField.decodeDateTimeWithSeconds == meter.last_hour[0].replace(tzinfo=None).isoformat()
    assert (register.interpreted["unit"], register.interpreted["storage_number"]) == (unit, 1)
    assert abs(Decimal(register.value) - meter.last_hour[1] * scale) <= meter.resolution * scale * Decimal("1e-6")
    assert configuration.value == 0x01


def test_before_its_first_whole_hour_the_actual_value_goes_out() -> None:
    """No hourly value yet: the actual register with the time of reading, storage bit clear [P2-4.2.2 §6.4.3]."""
    meter = sub_meter(WATER, "5")
    meter.advance(T0 + timedelta(minutes=10))
    readout = SubMeterSlave(meter, manufacturer="ITW").readout(T0 + timedelta(minutes=10))
    assert readout.hourly is not None and not readout.hourly.stored
    assert readout.hourly.captured_at == T0 + timedelta(minutes=10)
    assert readout.hourly.volume_m3 == meter.register >= Decimal("5.000")


@given(st.sampled_from([WATER, HEAT]), st.integers(0, 99_999_999), st.integers(1, 24 * 40), st.booleans())
@settings(max_examples=40, deadline=None)
def test_the_e_meter_reads_what_any_sub_meter_sends(kind: DeviceKind, steps: int, minutes: int, keyed: bool) -> None:
    """Property: for any register and time, the E-meter's reader (``gas_reply``, the kind from the DEV byte)
    gives back the sub-meter's stored value and stamp, plain or mode 15 [P2-4.2.2 §5.1, §6.3]."""
    meter = sub_meter(kind, str(steps * kind.resolutions[0]))
    user_key = KEYS[1] if keyed else NO_USER_KEY
    slave = SubMeterSlave(meter, manufacturer="ITW", address=9, user_key=user_key)
    reply = slave.on_request(T0 + timedelta(minutes=minutes), encode_frame(ShortFrame(0x5B, 9)))
    assert reply is not None
    frame = decode_frame(reply)
    assert isinstance(frame, LongFrame)
    read = read_gas_reply(frame, user_key=user_key)
    stamp, value = meter.last_hour or (T0 + timedelta(minutes=minutes), meter.register)
    assert (read.device_type, read.capture_time, read.value_m3) == (kind.device_type, stamp, value)
    assert read.stored == (meter.last_hour is not None)
    assert read.frame_counter == (1 if keyed else None)


@pytest.mark.parametrize("keyed", [False, True])
def test_a_thermal_meter_with_the_dsmr_device_type_0d_is_read(keyed: bool) -> None:
    """[P2-4.2.2 §6.3]: "Thermal meters (device type =x0D)" send the hourly heat reading 4C 0F [§6.4.5]. A
    heat meter whose header says 0Dh (the IV carries it too, §5.2) is read by the E-meter like one saying 04h."""
    meter = sub_meter(HEAT, "41.27")
    user_key = KEYS[3] if keyed else NO_USER_KEY
    slave = SubMeterSlave(meter, manufacturer="KAM", address=5, user_key=user_key)
    slave.identity = replace(slave.identity, medium=0x0D)
    now = T0 + timedelta(hours=2, minutes=1)
    reply = slave.on_request(now, encode_frame(ShortFrame(0x5B, 5)))
    assert reply is not None
    frame = decode_frame(reply)
    assert isinstance(frame, LongFrame)
    read = read_gas_reply(frame, user_key=user_key)
    assert (read.device_type, read.capture_time, read.value_m3) == (0x0D, *meter.last_hour)  # type: ignore[misc]
