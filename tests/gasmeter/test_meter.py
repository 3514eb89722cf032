"""The gas meter model's behaviour (SYSTEM G2–G12), driven by advance(now) and commands."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from meterkast.errors import ClockError, InvalidInput, PortDisabled
from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.display import PRESSES_PER_DAY, READING_IDLE_S, TEST_IDLE_S, DisplayState
from meterkast.gasmeter.events import (
    BatteryEmpty,
    BatteryLow,
    DisplayChanged,
    DisplayLocked,
    Fault,
    FirmwarePart,
    FirmwareUpdateRefused,
    HourlyValueStored,
    ReadingChanged,
    RegisterWrapped,
    SealBroken,
    SealRestored,
    ValveAction,
    ValveCommandRefused,
    ValvePosition,
)
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.units import convert_volume
from tests.gasmeter.conftest import T0, make_meter

H = timedelta(hours=1)
S = timedelta(seconds=1)


def flow(meter: GasMeter, at: timedelta, m3h: str, temp: str = "15") -> None:
    meter.handle(T0 + at, cmd.SetFlow(Decimal(m3h), Decimal(temp)))


def test_a_new_meter_reads_zero_with_its_display_off(meter: GasMeter) -> None:
    assert meter.index_m3 == 0
    assert meter.display_state is DisplayState.OFF
    assert not meter.frame(T0).lit


def test_flow_becomes_cycles_vm_and_vb(meter: GasMeter) -> None:
    flow(meter, timedelta(0), "1.2", "15")
    meter.advance(T0 + H)
    reg = meter.register
    assert reg.measured_m3 == reg.cycles * Decimal("0.0012")  # Vm = cycles × V (G2)
    # DSMR-M 4.3.48 (G3), within the 1e-20 quantum of the cached factor
    assert abs(reg.converted_m3 - convert_volume(reg.measured_m3, Decimal(15))) < Decimal("1e-18")
    assert meter.index_m3 == reg.converted_m3.quantize(Decimal("0.001"), rounding="ROUND_FLOOR")


def test_colder_gas_gives_a_higher_index() -> None:
    cold, warm = make_meter(), make_meter()
    flow(cold, timedelta(0), "2", "0")
    flow(warm, timedelta(0), "2", "30")
    cold.advance(T0 + 5 * H)
    warm.advance(T0 + 5 * H)
    assert cold.register.measured_m3 == warm.register.measured_m3
    assert cold.index_m3 > warm.index_m3


def test_flow_below_qmin_is_counted_down_to_the_starting_flow(meter: GasMeter) -> None:
    # SYSTEM G1 / EN 1359 §5.3: the issue's `--flow 0.03` for two hours must move the index.
    flow(meter, timedelta(0), "0.03")
    meter.advance(T0 + 2 * H)
    assert meter.register.true_m3 == Decimal("0.06")
    # Error +0.36 % at 0.03 m³/h (between +1.2 % at Qmin and −30 % at Qstart): 50.18 cycles, 50 counted.
    assert meter.register.cycles == 50 and meter.register.measured_m3 == Decimal("0.06")
    assert meter.index_m3 == Decimal("0.058")  # Vb = 0.06 × 0.974 at 15 °C, truncated to 0.001 m³


def test_a_pilot_light_shows_in_the_index_and_the_arrow(meter: GasMeter) -> None:
    meter.handle(T0, cmd.PressButton())
    flow(meter, timedelta(0), "0.012")  # ≈ 120 W: a pilot flame, a third of Qmin
    on = T0 + timedelta(seconds=2, milliseconds=100)
    meter.advance(on)
    assert meter.flowing and meter.frame(on).arrow
    meter.advance(T0 + 24 * H)
    assert meter.index_m3 > Decimal("0.2")  # 0.288 m³ flowed; the meter under-registers, but counts


def test_below_the_starting_flow_nothing_moves(meter: GasMeter) -> None:
    meter.handle(T0, cmd.PressButton())
    flow(meter, timedelta(0), "0.002")
    on = T0 + timedelta(seconds=2, milliseconds=100)
    meter.advance(on)
    assert not meter.flowing and not meter.frame(on).arrow
    meter.advance(T0 + 10 * H)
    assert meter.index_m3 == 0
    assert meter.register.true_m3 == Decimal("0.02")


def test_hourly_value_at_every_whole_hour(meter: GasMeter) -> None:
    flow(meter, timedelta(0), "1")
    events = meter.advance(T0 + 3 * H + 30 * 60 * S)
    stored = [e for e in events if isinstance(e, HourlyValueStored)]
    assert [e.captured_at for e in stored] == [T0 + H, T0 + 2 * H, T0 + 3 * H]
    assert meter.hourly_value is not None and meter.hourly_value.captured_at == T0 + 3 * H
    assert meter.hourly_value.index_m3 == stored[-1].index_m3 < meter.index_m3


def test_slicing_time_differently_gives_the_same_meter() -> None:
    one, many = make_meter(), make_meter()
    for m in (one, many):
        flow(m, timedelta(0), "2.345", "11.5")
    one.advance(T0 + 7 * H)
    t = T0
    while t < T0 + 7 * H:
        t += timedelta(seconds=317)
        many.advance(min(t, T0 + 7 * H))
    assert one.register == many.register
    assert one.battery.used_nah == many.battery.used_nah


def test_time_never_goes_back(meter: GasMeter) -> None:
    meter.advance(T0 + H)
    with pytest.raises(ClockError, match="cannot go back"):
        meter.advance(T0)


def test_register_wraps_like_the_lcd() -> None:
    meter = make_meter(initial_index_m3=Decimal("99999.990"))
    flow(meter, timedelta(0), "6")
    events = meter.advance(T0 + H)
    assert any(isinstance(e, RegisterWrapped) for e in events)
    assert Decimal(5) < meter.index_m3 < Decimal(6)
    assert not meter.frame(T0 + H).lit  # display off until pressed
    meter.handle(T0 + H, cmd.PressButton())
    assert meter.frame(T0 + H).text().startswith("00005.")


def test_g10_has_two_decimals() -> None:
    meter = make_meter(MeterType.G10)
    flow(meter, timedelta(0), "10")
    meter.advance(T0 + H)
    assert meter.index_m3 == meter.index_m3.quantize(Decimal("0.01"))
    meter.handle(T0 + H, cmd.PressButton())
    assert meter.frame(T0 + H).dots == frozenset({5})


def test_press_shows_the_reading_then_it_switches_off(meter: GasMeter) -> None:
    flow(meter, timedelta(0), "1")
    events = meter.handle(T0 + H, cmd.PressButton(Decimal("0.2")))
    assert [e.state for e in events if isinstance(e, DisplayChanged)] == [DisplayState.READING]
    frame = meter.frame(T0 + H)
    digits = f"{int(meter.index_m3 * 1000):08d}"
    assert frame.lit and frame.text() == f"{digits[:5]}.{digits[5:]}"
    still = meter.advance(T0 + H + (READING_IDLE_S - 1) * S)
    assert meter.display_state is DisplayState.READING and not any(isinstance(e, DisplayChanged) for e in still)
    off = meter.advance(T0 + H + (READING_IDLE_S + 1) * S)
    assert [e.state for e in off if isinstance(e, DisplayChanged)] == [DisplayState.OFF]


def test_long_press_enters_test_mode_on_the_legal_firmware_version(meter: GasMeter) -> None:
    meter.handle(T0, cmd.PressButton(Decimal(12)))
    assert meter.display_state is DisplayState.TEST_FIRMWARE
    assert meter.frame(T0).text() == "L    1.08"
    seen = []
    for i in range(1, 5):
        meter.handle(T0 + 12 * S + i * S, cmd.PressButton())
        seen.append(meter.display_state)
    assert seen == [DisplayState.TEST_ALL_ON, DisplayState.TEST_ALL_OFF, DisplayState.TEST_READING,
                    DisplayState.TEST_FIRMWARE]
    meter.advance(T0 + 16 * S + (TEST_IDLE_S + 1) * S)
    assert meter.display_state is DisplayState.OFF


def test_ten_seconds_exactly_is_still_a_short_press(meter: GasMeter) -> None:
    meter.handle(T0, cmd.PressButton(Decimal(10)))
    assert meter.display_state is DisplayState.READING


def test_too_many_presses_lock_the_display_for_one_local_day(meter: GasMeter) -> None:
    # seed §9 "Display": pressed too often, the display stays off "gedurende een dag" (SYSTEM G7);
    # display_day.py: one local day, until the same wall-clock time tomorrow.
    t = T0 + 8 * H  # 09:00 in Amsterdam (CET)
    for i in range(PRESSES_PER_DAY):
        meter.handle(t + i * 2 * S, cmd.PressButton())
    assert meter.display_state is DisplayState.READING
    locked_at = t + 100 * S
    events = meter.handle(locked_at, cmd.PressButton())
    locked = [e for e in events if isinstance(e, DisplayLocked)]
    assert locked and locked[0].locked_until == locked_at + 24 * H
    assert meter.display_state is DisplayState.LOCKED and not meter.frame(locked_at).lit
    assert meter.display_locked_until == locked_at + 24 * H
    meter.handle(T0 + 20 * H, cmd.PressButton())
    meter.advance(T0 + 24 * H)  # UTC midnight, 01:00 local: no longer the end of anything
    meter.handle(locked_at + 24 * H - S, cmd.PressButton())
    assert meter.display_state is DisplayState.LOCKED
    meter.handle(locked_at + 24 * H, cmd.PressButton())
    assert meter.display_state is DisplayState.READING and meter.display_locked_until is None


def test_flow_arrow_blinks_while_gas_flows(meter: GasMeter) -> None:
    meter.handle(T0, cmd.PressButton())
    assert not meter.frame(T0).arrow
    flow(meter, timedelta(seconds=1), "1")
    on, off = T0 + timedelta(seconds=2, milliseconds=100), T0 + timedelta(seconds=2, milliseconds=700)
    meter.advance(off)
    assert meter.frame(on).arrow and not meter.frame(off).arrow


def test_seal_break_raises_an_event_and_the_triangle_until_resealed(meter: GasMeter) -> None:
    events = meter.handle(T0, cmd.BreakSeal())
    assert events == [SealBroken(T0)]
    assert meter.handle(T0 + S, cmd.BreakSeal()) == []  # once broken, stays broken: no second event
    meter.handle(T0 + 2 * S, cmd.PressButton())
    assert meter.frame(T0 + 2 * S).triangle
    assert meter.status_byte() & 0x40  # fraud attempt [P2-4.0.7 §6.2.4]
    with pytest.raises(InvalidInput, match="grid operator"):
        meter.handle(T0 + 3 * S, cmd.Reseal(" "))
    assert meter.handle(T0 + 4 * S, cmd.Reseal("Liander")) == [SealRestored(T0 + 4 * S, "Liander")]
    assert not meter.frame(T0 + 4 * S).triangle and meter.status_byte() & 0x40 == 0


@pytest.mark.parametrize("action", list(ValveAction))
def test_every_valve_command_is_refused_and_logged(meter: GasMeter, action: ValveAction) -> None:
    events = meter.handle(T0, cmd.CommandValve(action))
    assert len(events) == 1 and isinstance(events[0], ValveCommandRefused)
    assert "SYSTEM G12" in events[0].reason
    assert meter.valve is ValvePosition.OPEN
    assert meter.log[-1] == events[0]


@pytest.mark.parametrize("part", list(FirmwarePart))
def test_firmware_never_changes(meter: GasMeter, part: FirmwarePart) -> None:
    before = (meter.legal_firmware, meter.functional_firmware)
    events = meter.handle(T0, cmd.UpdateFirmware(part, "9.99"))
    assert isinstance(events[0], FirmwareUpdateRefused) and "SYSTEM G6" in events[0].reason
    assert (meter.legal_firmware, meter.functional_firmware) == before
    assert len(meter.legal_firmware.checksum) == 8


def test_p0_is_disabled_after_manufacture(meter: GasMeter) -> None:
    with pytest.raises(PortDisabled, match="disabled for good"):
        meter.p0.program("G0001999999999912", bytes(16))
    with pytest.raises(PortDisabled):
        meter.p0.disable()
    assert str(meter.meter_number) == "G0001123456789012"


def test_battery_low_then_empty_stops_communication_but_keeps_the_index(meter: GasMeter) -> None:
    flow(meter, timedelta(0), "1")
    meter.advance(T0 + H)
    index = meter.index_m3
    low = meter.handle(T0 + H, cmd.DrainBattery(int(meter.battery.capacity_nah * 0.91)))
    assert any(isinstance(e, BatteryLow) for e in low)
    assert meter.status_byte() & 0x04  # power low
    empty = meter.handle(T0 + H, cmd.DrainBattery(meter.battery.capacity_nah))
    assert any(isinstance(e, BatteryEmpty) for e in empty)
    assert not meter.can_communicate
    assert meter.battery.remaining_nah == 0
    meter.advance(T0 + 5 * H)
    assert meter.index_m3 == index  # the legal register keeps its value
    assert meter.handle(T0 + 5 * H, cmd.PressButton()) == []
    assert meter.display_state is DisplayState.DEAD
    meter.handle(T0 + 6 * H, cmd.ReplaceBattery("Liander"))
    assert meter.can_communicate and meter.display_state is DisplayState.OFF


def test_temperature_sensor_fault_freezes_conversion_and_lights_the_triangle(meter: GasMeter) -> None:
    flow(meter, timedelta(0), "2", "5")
    meter.handle(T0 + H, cmd.RaiseFault(Fault.TEMPERATURE_SENSOR))
    flow(meter, H, "2", "30")
    meter.advance(T0 + 2 * H)
    expected = convert_volume(meter.register.measured_m3, Decimal(5))
    assert abs(meter.register.converted_m3 - expected) < Decimal("1e-18")
    assert meter.alarm and meter.status_byte() & 0x08


def test_clock_sync_over_60s_sets_status_bit_5(meter: GasMeter) -> None:
    meter.handle(T0, cmd.SynchronizeClock(T0 + 30 * S))
    assert meter.status_byte() & 0x20 == 0
    meter.handle(T0 + S, cmd.SynchronizeClock(T0 + 200 * S))
    assert meter.status_byte() & 0x20
    events = meter.advance(T0 + H)
    stored = [e for e in events if isinstance(e, HourlyValueStored)]
    assert stored and stored[0].captured_at == T0 + H  # meter-clock whole hour
    assert stored[0].at == T0 + H - 199 * S


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (cmd.SetFlow(Decimal(-1), Decimal(15)), "negative"),
        (cmd.SetFlow(Decimal(1), Decimal(99)), "gas temperature 99"),
        (cmd.PressButton(Decimal(-1)), "hold time"),
        (cmd.DrainBattery(-5), "negative"),
    ],
)
def test_bad_commands_name_the_value_and_the_rule(meter: GasMeter, command: cmd.Command, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        meter.handle(T0, command)


def test_reading_changed_is_coalesced_per_advance(meter: GasMeter) -> None:
    flow(meter, timedelta(0), "1")
    events = meter.advance(T0 + 5 * H)
    changed = [e for e in events if isinstance(e, ReadingChanged)]
    assert len(changed) == 1 and changed[0].index_m3 == meter.index_m3
