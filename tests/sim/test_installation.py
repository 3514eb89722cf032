"""The installation: household → gas meter → GasLink → E-meter on injected time (SYSTEM E1, G5, M3)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.events import DeviceReplaced, MbusEventLogged, ReadFailed
from meterkast.emeter.readings import MbusReading
from meterkast.errors import ClockError, CommandRefused, NoReply
from meterkast.gasmeter.commands import DrainBattery
from meterkast.gasmeter.events import BatteryEmpty, HourlyValueStored
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.p1.convert import to_telegram_data
from meterkast.p1.crypto import decrypt_telegram
from meterkast.p1.decode import decode_telegram
from meterkast.sim.gaslink import DirectGasLink, GasMeterEvent
from meterkast.sim.installation import (
    CoupleGasMeter,
    DecoupleGasMeter,
    Event,
    Installation,
    OperateGasMeter,
    ReplaceGasMeter,
)
from meterkast.sim.p1_source import P1Cipher, P1Port, telegram_bytes, telegram_data, telegram_interval

START = datetime(2025, 1, 14, 22, 30, tzinfo=UTC)
NEW_METER = "G0001987654321025"


def build(start: datetime = START, seed: int = 7, **kwargs: object) -> Installation:
    return Installation.build(start, random.Random(seed), **kwargs)  # type: ignore[arg-type]


def stored_values(events: list[Event]) -> dict[tuple[str, datetime], Decimal]:
    """(meter number, UTC capture time) → index, from the gas meters' HourlyValueStored events."""
    return {
        (e.meter_number, e.event.captured_at): e.event.index_m3
        for e in events
        if isinstance(e, GasMeterEvent) and isinstance(e.event, HourlyValueStored)
    }


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    start_h=st.integers(0, 2 * 8760),
    start_s=st.integers(0, 3599),
    days=st.integers(1, 4),
    meter_type=st.sampled_from([MeterType.G4, MeterType.G6, MeterType.G10]),
)
def test_filed_hourly_values_are_the_gas_register_at_those_hours(
    seed: int, start_h: int, start_s: int, days: int, meter_type: MeterType
) -> None:
    # SYSTEM E1, DSMR-M 4.5.6: the E-meter files, at xx:11, the value the gas meter stored at xx:00.
    start = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=start_h, seconds=start_s)
    installation = build(start, seed, meter_type=meter_type)
    events = installation.advance(start + timedelta(days=days))
    stored = stored_values(events)
    number = str(installation.gas_meter.meter_number)  # type: ignore[union-attr]
    entries = list(installation.emeter.hourly_profile(1))
    assert len(entries) >= 24 * days - 2
    if entries[0].capture_time.minute:  # installed before xx:11: its first answer is the actual value
        first_poll = max(start, start.replace(minute=1, second=0))
        assert start.minute < 11 and entries[0].capture_time.astimezone(UTC) == first_poll
        entries = entries[1:]
    for entry in entries:
        captured = entry.capture_time.astimezone(UTC)
        assert captured.minute == captured.second == 0, "each value is one the meter stored at a whole hour"
        assert entry.value_m3 == stored[number, captured]
        assert entry.clock == entry.capture_time  # read at xx:01, filed for hour xx:00
        assert not entry.status & AmrStatus.DNV


def test_result_does_not_depend_on_how_time_is_sliced() -> None:
    whole, sliced = build(), build()
    end = START + timedelta(hours=30)
    whole.advance(end)
    moment = START
    while moment < end:
        moment = min(end, moment + timedelta(seconds=37))
        sliced.advance(moment)
    for version in ("4", "4.2", "5", "2.2"):
        assert telegram_bytes(whole, version) == telegram_bytes(sliced, version)
    assert list(whole.emeter.hourly_profile(1)) == list(sliced.emeter.hourly_profile(1))
    assert list(whole.emeter.load_profile) == list(sliced.emeter.load_profile)


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    end = START + timedelta(hours=12)
    first, again, other = build(seed=1), build(seed=1), build(seed=2)
    for installation in (first, again, other):
        installation.advance(end)
    assert telegram_bytes(first) == telegram_bytes(again)
    assert telegram_bytes(first) != telegram_bytes(other)


def test_first_read_before_any_whole_hour_gives_the_actual_value() -> None:
    # [P2-4.0.7 §6.4.3]: a value comes with "a time stamp of the moment the value is determined".
    start = datetime(2025, 1, 14, 10, 0, tzinfo=UTC)
    installation = build(start)
    installation.advance(start + timedelta(minutes=1, seconds=30))
    master = installation.emeter.master_value(1)
    assert master is not None
    assert master.capture_time.astimezone(UTC) == start + timedelta(minutes=1)
    installation.advance(start + timedelta(hours=1, minutes=2))
    master = installation.emeter.master_value(1)
    assert master is not None and master.capture_time.astimezone(UTC) == start + timedelta(hours=1)


def test_gas_meter_replacement_keeps_the_channel_and_shows_the_new_meter() -> None:
    installation = build()
    replaced_at = START + timedelta(hours=3, minutes=20)
    installation.schedule(replaced_at, ReplaceGasMeter(NEW_METER, initial_index_m3=Decimal("500")))
    events = installation.advance(START + timedelta(hours=8))
    replaced = [e for e in events if isinstance(e, DeviceReplaced)]
    assert [(e.at, e.channel, e.old.equipment_identifier, e.new.equipment_identifier) for e in replaced] == [
        (replaced_at, 1, "G0001123456789012", NEW_METER)
    ]
    assert any(isinstance(e, MbusEventLogged) and e.code == 105 for e in events)  # new device on channel 1
    assert installation.gas_channel == 1
    assert str(installation.gas_meter.meter_number) == NEW_METER  # type: ignore[union-attr]
    stored = stored_values(events)
    for entry in installation.emeter.hourly_profile(1):
        captured = entry.capture_time.astimezone(UTC)
        meter = NEW_METER if captured > replaced_at else "G0001123456789012"
        assert entry.value_m3 == stored[meter, captured]
    data = telegram_data(installation, "4.2")
    assert data.mbus[0].equipment_id == NEW_METER
    assert data.mbus[0].value is not None and data.mbus[0].value >= Decimal("500")


def test_channel_shows_no_value_between_replacement_and_the_new_meters_first_read() -> None:
    installation = build()
    installation.handle(START + timedelta(hours=2, minutes=30), ReplaceGasMeter(NEW_METER))
    channel = telegram_data(installation, "4").mbus[0]
    assert (channel.equipment_id, channel.value, channel.capture_time) == (NEW_METER, None, None)
    assert channel.awaiting_first  # no value received yet: no 0-1:24.2.1 line [P1-4.2.2 §6.3]
    sent = telegram_bytes(installation, "4")
    assert b"0-1:24.1.0(003)" in sent and b"0-1:24.2.1" not in sent
    assert b"0-1:24.3.0" not in telegram_bytes(installation, "2.2")


def test_decouple_then_couple_a_new_meter_on_the_freed_channel() -> None:
    installation = build()
    installation.handle(START + timedelta(hours=2), DecoupleGasMeter())
    assert installation.gas_meter is None
    with pytest.raises(CommandRefused, match="none is coupled"):
        installation.handle(START + timedelta(hours=2), ReplaceGasMeter(NEW_METER))
    installation.advance(START + timedelta(hours=4))
    channel = telegram_data(installation, "4").mbus[0]
    assert (channel.equipment_id, channel.value) == ("", None)  # the emptied form (docs/emeter.md)
    installation.handle(START + timedelta(hours=4), CoupleGasMeter(NEW_METER))
    with pytest.raises(CommandRefused, match="still coupled"):
        installation.handle(START + timedelta(hours=4), CoupleGasMeter("G0001555555555525"))
    installation.advance(START + timedelta(hours=6))
    assert installation.gas_channel == 1
    assert telegram_data(installation, "4").mbus[0].equipment_id == NEW_METER


def test_an_empty_battery_means_no_reply_and_a_communication_error() -> None:
    # SYSTEM G10: an empty battery silences P2; the E-meter logs a communication error (event 100).
    installation = build()
    events = installation.handle(START + timedelta(hours=1), OperateGasMeter(DrainBattery(4_000_000_000_000)))
    assert any(isinstance(e, GasMeterEvent) and isinstance(e.event, BatteryEmpty) for e in events)
    events = installation.advance(START + timedelta(hours=2, minutes=30))
    failed = [e for e in events if isinstance(e, ReadFailed)]
    assert [f.attempt for f in failed] == [1, 2]
    assert "battery is empty" in failed[0].reason
    assert any(isinstance(e, MbusEventLogged) and e.code == 100 for e in events)
    last = installation.emeter.hourly_profile(1).last
    assert last is not None and last.status & AmrStatus.DNV


class FlakyLink(DirectGasLink):
    """Loses the first read of every hour: the E-meter's retry 5 minutes later must get the value."""

    def __init__(self) -> None:
        super().__init__()
        self.lost = 0

    def read(self, now: datetime, channel: int) -> MbusReading:
        if now.minute == 1:
            self.lost += 1
            raise NoReply("the frame was lost")
        return super().read(now, channel)


def test_a_retry_after_a_lost_frame_still_files_the_right_value() -> None:
    link = FlakyLink()
    installation = build(link=link)
    events = installation.advance(START + timedelta(hours=6))
    assert link.lost == 6
    stored = stored_values(events)
    entries = list(installation.emeter.hourly_profile(1))
    assert len(entries) == 6
    for entry in entries:
        assert entry.value_m3 == stored["G0001123456789012", entry.capture_time.astimezone(UTC)]
        assert not entry.status & AmrStatus.DNV


def test_time_never_goes_backwards() -> None:
    installation = build()
    installation.advance(START + timedelta(hours=1))
    with pytest.raises(ClockError):
        installation.advance(START)
    with pytest.raises(ClockError):
        installation.schedule(START, DecoupleGasMeter())


def test_solar_panels_show_as_export() -> None:
    installation = build(datetime(2025, 6, 20, 3, 0, tzinfo=UTC), solar_kwp=4.0)
    installation.advance(datetime(2025, 6, 21, 3, 0, tzinfo=UTC))
    data = telegram_data(installation, "5")
    assert data.export_t1_kwh is not None and data.export_t2_kwh is not None
    assert data.export_t1_kwh + data.export_t2_kwh > Decimal(1)


@pytest.mark.parametrize("version", ["4", "4.2", "5", "2.2"])
def test_telegrams_decode_to_the_data_that_was_meant(version: str) -> None:
    installation = build(phases=3)
    installation.advance(START + timedelta(hours=5, seconds=7))
    data = telegram_data(installation, version)
    telegram = decode_telegram(telegram_bytes(installation, version), strict=True)
    decoded = to_telegram_data(telegram)
    assert decoded == replace(data, timestamp=decoded.timestamp, power_failure_log=decoded.power_failure_log)
    if version != "2.2":
        assert decoded.timestamp == data.timestamp
    else:
        assert data.power_import_kw is not None and data.power_import_kw % Decimal("0.01") == 0  # 10 W steps


def test_telegram_intervals_per_version() -> None:
    # [P1-4.0.7 §5], [P1-4.2.2 §5]: ten seconds; [P1-5.0.2 §6]: every second; [P1-3.0 §4.4, §5]: ten seconds.
    assert {v: telegram_interval(v).total_seconds() for v in ("4", "4.0.7", "4.2", "5", "5.0.2", "2.2")} == {
        "4": 10, "4.0.7": 10, "4.2": 10, "5": 1, "5.0.2": 1, "2.2": 10,
    }  # fmt: skip
    port = P1Port(build(), "4")
    assert port.first_telegram_at() == START
    assert port.next_telegram_at(START) == START + timedelta(seconds=10)
    assert port.next_telegram_at(START + timedelta(seconds=9.5)) == START + timedelta(seconds=10)


def test_encrypted_port_counts_its_invocations() -> None:
    key, auth = bytes(range(16)), bytes(range(16, 32))
    installation = build()
    port = P1Port(installation, "5", cipher=P1Cipher(key, auth))
    moment = port.first_telegram_at()
    plain = []
    for n in range(3):
        _, frame = port.telegram(moment + timedelta(seconds=n))
        assert frame is not None
        plain.append(decrypt_telegram(frame, encryption_key=key, authentication_key=auth, last_invocation_counter=n))
    assert all(decode_telegram(p, strict=True).crc_ok for p in plain)
    assert port.cipher is not None and port.cipher.counter == 4


def test_no_telegram_while_the_e_meter_is_powered_down() -> None:
    installation = build()
    port = P1Port(installation, "4")
    installation.emeter.power_down(START)
    _, data = port.telegram(START + timedelta(seconds=10))
    assert data is None


def test_direct_link_refuses_an_empty_channel() -> None:
    link = DirectGasLink()
    with pytest.raises(NoReply, match="nothing is attached"):
        link.read(START, 2)
    meter = GasMeter.manufacture(MeterType.G4, "G0001123456789012", START, random.Random(0))
    link.attach(2, meter)
    reading = link.read(START + timedelta(minutes=10), 2)
    assert reading.capture_time == START + timedelta(minutes=10)  # no whole hour yet: the actual value
    reading = link.read(START + timedelta(hours=1), 2)
    assert reading.capture_time == START + timedelta(minutes=30)  # 23:00, the stored hourly value
    link.detach(2)
    with pytest.raises(NoReply):
        link.read(START + timedelta(hours=1), 2)
