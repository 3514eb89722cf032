"""Coupling, decoupling, replacing, polling, read failures and M-Bus events (SYSTEM M3, E1, E4)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from meterkast.emeter import AmrStatus, MbusReading, StatusBit, ValveAction
from meterkast.emeter.events import (
    AlarmRaised,
    DeviceDecoupled,
    LogId,
    MbusCode,
    MbusEventLogged,
    ReadFailed,
    ValveCommandRefused,
)
from meterkast.errors import CommandRefused, InvalidInput
from tests.emeter.conftest import drive, gas_identity, local, new_meter, utc

START = utc(2024, 1, 10, 8, 30)


def test_devices_take_channels_in_installation_order_and_a_fifth_is_refused() -> None:
    meter = new_meter(START, devices=0)
    channels = [meter.couple(START, gas_identity(n))[0] for n in range(4)]
    assert channels == [1, 2, 3, 4]
    with pytest.raises(CommandRefused, match="all 4"):
        meter.couple(START, gas_identity(99))
    meter.decouple(START, 2)
    with pytest.raises(CommandRefused, match="already coupled"):
        meter.couple(START, gas_identity(0))  # still on channel 1
    channel, events = meter.couple(START, gas_identity(42))
    assert channel == 2
    assert meter.alarm_register >> 24 & 0xF == 0b1111  # new device discovered ch1–4
    assert any(isinstance(e, MbusEventLogged) and e.code == 115 for e in events)
    with pytest.raises(InvalidInput, match="channels 1–4"):
        meter.decouple(START, 5)


def test_polls_follow_the_hour_with_one_retry_before_eleven_past() -> None:
    meter = new_meter(START)
    assert meter.next_deadline() == utc(2024, 1, 10, 8, 45)
    meter.advance(utc(2024, 1, 10, 8, 45))
    assert meter.polls_due(meter.now) == []
    assert meter.next_deadline() == utc(2024, 1, 10, 9, 0)
    meter.advance(utc(2024, 1, 10, 9, 0))
    assert meter.next_deadline() == utc(2024, 1, 10, 9, 1)
    first = utc(2024, 1, 10, 9, 1)
    meter.advance(first)
    assert meter.polls_due(first) == [1]
    events = meter.record_read_failure(first, 1, "no E5")
    failed = [e for e in events if isinstance(e, ReadFailed)]
    assert failed[0].retry_at == utc(2024, 1, 10, 9, 6) and failed[0].attempt == 1
    assert not any(isinstance(e, MbusEventLogged) for e in events)
    assert meter.polls_due(utc(2024, 1, 10, 9, 3)) == []
    assert meter.next_deadline() == utc(2024, 1, 10, 9, 6)
    retry = utc(2024, 1, 10, 9, 6)
    meter.advance(retry)
    assert meter.polls_due(retry) == [1]
    events = meter.record_read_failure(retry, 1, "no E5")
    logged = [e for e in events if isinstance(e, MbusEventLogged)]
    assert [e.code for e in logged] == [100]
    assert any(isinstance(e, AlarmRaised) and e.new_bits == 1 << 16 for e in events)
    assert meter.polls_due(utc(2024, 1, 10, 9, 7)) == []
    assert meter.error_register & 1 << 16


def test_failed_hour_files_last_value_with_dnv_then_comm_ok() -> None:
    meter = new_meter(START)
    drive(meter, utc(2024, 1, 10, 12, 30), fail=lambda _c, at: at.hour == 10)
    entries = list(meter.hourly_profile(1))
    assert [e.clock.hour for e in entries] == [10, 11, 12, 13]  # local; 10:00 UTC is 11:00 local
    stale = entries[1]
    assert stale.status == AmrStatus.DNV
    assert stale.value_m3 == entries[0].value_m3 and stale.capture_time == entries[0].capture_time
    assert entries[2].status == AmrStatus(0)
    codes = [e.code for e in meter.event_log(LogId.MBUS)]
    assert codes == [105, 100, 101]
    assert not meter.error_register & 1 << 16  # self-clearing
    assert meter.alarm_register & 1 << 16  # alarms stay until cleared
    meter.clear_alarm_register(meter.now)
    assert meter.alarm_register == 0


def test_a_late_single_failure_after_the_retry_window_is_final() -> None:
    meter = new_meter(START)
    late = utc(2024, 1, 10, 9, 8)
    meter.advance(late)
    events = meter.record_read_failure(late, 1, "timeout")
    assert [e.code for e in events if isinstance(e, MbusEventLogged)] == [100]


def test_status_bits_raise_events_once_on_their_rising_edge() -> None:
    meter = new_meter(START)
    bits = StatusBit.BATTERY_LOW | StatusBit.FRAUD_ATTEMPT
    drive(meter, utc(2024, 1, 10, 12, 30), status=lambda _c, hour: int(bits) if hour.hour in (10, 11) else 0)
    codes = [e.code for e in meter.event_log(LogId.MBUS)]
    assert codes == [105, 102, 103]
    assert meter.alarm_register & 1 << 20
    assert not meter.error_register & 1 << 20  # fraud bit gone with the status bit
    meter.record_reading(meter.now, 1, MbusReading(Decimal(1), utc(2024, 1, 10, 12), int(StatusBit.PERMANENT_ERROR)))
    assert [e.code for e in meter.event_log(LogId.MBUS)][-1] == 106


def test_decoupled_channel_keeps_its_stale_value_and_stops() -> None:
    meter = new_meter(START, devices=2)
    drive(meter, utc(2024, 1, 10, 10, 30))
    before = meter.master_value(1)
    events = meter.decouple(meter.now, 1)
    assert any(isinstance(e, DeviceDecoupled) for e in events)
    drive(meter, utc(2024, 1, 10, 14, 30))
    assert meter.master_value(1) == before
    assert len(meter.hourly_profile(1)) == 2 and len(meter.hourly_profile(2)) == 6
    with pytest.raises(CommandRefused):
        meter.record_reading(meter.now, 1, MbusReading(Decimal(1), utc(2024, 1, 10, 14), 0))
    daily_channel_1 = meter.daily_profile.last
    assert daily_channel_1 is None  # no midnight yet
    view = meter.p1_view(meter.now)
    emptied, live = view.mbus
    assert (emptied.channel, emptied.device_type, emptied.equipment_id, emptied.value_m3) == (1, 3, "", None)
    assert emptied.capture_time is None and not emptied.coupled
    assert live.equipment_id == "G0001123456789112" and live.value_m3 is not None


def test_replace_installs_a_new_device_on_the_same_channel() -> None:
    meter = new_meter(START)
    drive(meter, utc(2024, 1, 10, 10, 30))
    events = meter.replace(meter.now, 1, gas_identity(555))
    assert [e.code for e in events if isinstance(e, MbusEventLogged)] == [105]
    assert meter.master_value(1) is None
    identity = meter.identity(1)
    assert identity is not None and identity.identification_number == 555
    drive(meter, utc(2024, 1, 10, 12, 30), gas=lambda _c, _h: Decimal("7.000"))
    assert meter.hourly_profile(1)[-1].value_m3 == Decimal("7.000")
    with pytest.raises(CommandRefused, match="never had"):
        meter.replace(meter.now, 3, gas_identity(777))


def test_valve_commands_are_refused_and_logged() -> None:
    meter = new_meter(START)
    events = meter.command_valve(START, 1, ValveAction.OPEN)
    refused = [e for e in events if isinstance(e, ValveCommandRefused)]
    assert refused and refused[0].code == 230 and "4.2.2" in refused[0].reason
    assert meter.event_log(LogId.MBUS)[-1].code == 230


def test_first_value_after_coupling_starts_the_profile() -> None:
    meter = new_meter(utc(2024, 1, 10, 9, 5), devices=0)
    meter.couple(meter.now, gas_identity())
    meter.advance(utc(2024, 1, 10, 9, 20))  # xx:11 passed without a value: nothing to file
    assert len(meter.hourly_profile(1)) == 0
    drive(meter, utc(2024, 1, 10, 10, 20))
    assert [e.clock for e in meter.hourly_profile(1)] == [local(2024, 1, 10, 11)]
    assert MbusCode.NEW_DEVICE == 105
    assert meter.next_deadline() - meter.now <= timedelta(minutes=15)
