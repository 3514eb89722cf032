"""The gas meter as a P2 slave (SYSTEM M1–M3; DSMR 4.0.7 P2 §3.1, §4.1, §5, §6, App. B).

Every reply is read back the way an E-meter would: our frame decoder, ``security.decrypt_payload`` with a
``FrameCounterGuard``, then ``decode_gas_records``; the values must equal the gas meter model's state.
All times are fixed datetimes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.emeter.readings import MbusDeviceIdentity, MbusReading, StatusBit
from meterkast.errors import AuthenticationError, ChecksumError, ClockError, ReplayError
from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.battery import CAPACITY_NAH, COSTS_NAH, Drain
from meterkast.gasmeter.events import Fault, HourlyValueStored, ValveAction, ValveCommandRefused, ValvePosition
from meterkast.gasmeter.meter import VALVE_REFUSAL, GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.mbus.application import VariableData, decode_telegram
from meterkast.mbus.datatypes import encode_datetime_i
from meterkast.mbus.gas_records import (
    DEFAULT_READOUT,
    GasReadout,
    HourlyReading,
    MeterConfiguration,
    ReadoutItem,
    decode_gas_records,
    encode_gas_records,
    version_texts,
)
from meterkast.mbus.gas_slave import ROUTES, GasMeterSlave, Route
from meterkast.mbus.header import LongHeader, ShortHeader, encode_long_header, encode_short_header
from meterkast.mbus.keys import NO_USER_KEY, encode_set_key_records, wrap_user_key
from meterkast.mbus.link import LongFrame, ShortFrame, decode_frame, encode_frame
from meterkast.mbus.records import decode_records, encode_records
from meterkast.mbus.security import (
    ConfigurationWord,
    EncryptionMode,
    FrameCounterGuard,
    MeterIdentity,
    decrypt_payload,
    encrypt_payload,
)
from meterkast.mbus.virtual import VirtualBus

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DEFAULT_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")  # App. B
USER_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")  # App. B
OTHER_KEY = bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F")
METER_NUMBER = "G0001123456789012"
ADDRESS = 5


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_meter(meter_type: MeterType = MeterType.G4, index: str = "1234.567") -> GasMeter:
    return GasMeter.manufacture(meter_type, METER_NUMBER, T0, random.Random(7), default_key=DEFAULT_KEY,
                                initial_index_m3=Decimal(index))


def make_slave(meter: GasMeter | None = None, *, user_key: bytes = NO_USER_KEY) -> GasMeterSlave:
    return GasMeterSlave(meter or make_meter(), address=ADDRESS, user_key=user_key)


def short(control: int, address: int = ADDRESS) -> bytes:
    return encode_frame(ShortFrame(control, address))


def snd_ud(ci: int, data: bytes, address: int = ADDRESS, control: int = 0x53) -> bytes:
    return encode_frame(LongFrame(control, address, ci, data))


SND_NKE, REQ_UD2, REQ_UD2_FCB = 0x40, 0x5B, 0x7B


@dataclass
class Reading:
    """One RSP_UD as the E-meter reads it."""

    header: LongHeader
    readout: GasReadout
    frame_counter: int | None


def read(reply: bytes | None, user_key: bytes = NO_USER_KEY, guard: FrameCounterGuard | None = None) -> Reading:
    assert reply is not None, "the slave stayed silent"
    payload = decode_telegram(reply).payload
    assert isinstance(payload, VariableData) and isinstance(payload.header, LongHeader)
    header = payload.header
    opened = decrypt_payload(reply[19:-2], ConfigurationWord.from_value(header.configuration), user_key=user_key,
                             meter=MeterIdentity.from_short_id(header.short_id), guard=guard)
    readout = decode_gas_records(decode_records(opened.records))
    if guard is not None and opened.frame_counter is not None:  # decrypting only checks; commit when read whole
        guard.accept(opened.frame_counter)
    return Reading(header, readout, opened.frame_counter)


def encrypted_command(slave: GasMeterSlave, records: bytes, guard: FrameCounterGuard, key: bytes = USER_KEY) -> bytes:
    """CI 5A as the E-meter sends it: short header, mode 15 under the meter's Short ID, FC = last + 1 [§5.2]."""
    secured = encrypt_payload(records, user_key=key, meter=slave.identity, frame_counter=guard.next_for_sending())
    return snd_ud(0x5A, encode_short_header(ShortHeader(0x01, 0, secured.configuration.value)) + secured.payload)


# -- link layer and addressing ------------------------------------------------------------------------------


def test_snd_nke_is_acknowledged_with_e5() -> None:
    slave = make_slave()
    assert slave.on_request(at(1), short(SND_NKE)) == b"\xe5"
    assert slave.stats.answered == 1


def test_new_meter_answers_at_address_0_only() -> None:
    slave = GasMeterSlave(make_meter())
    assert slave.address == 0
    assert slave.on_request(at(1), short(SND_NKE, 0)) == b"\xe5"
    assert slave.on_request(at(1), short(SND_NKE, 1)) is None


@given(st.integers(0, 255).filter(lambda a: a != ADDRESS), st.sampled_from([SND_NKE, REQ_UD2, REQ_UD2_FCB]))
@settings(max_examples=60, deadline=None)
def test_silent_for_every_other_address_and_for_broadcasts(address: int, control: int) -> None:
    """DSMR: "Address values higher than 250 shall be ignored by the slaves" [§3.1.3], broadcasts included."""
    meter = make_meter()
    slave = make_slave(meter)
    used = meter.battery.used_nah
    assert slave.on_request(at(1), short(control, address)) is None
    assert slave.stats.not_addressed == 1
    assert meter.battery.used_nah == used  # a frame for someone else costs nothing


def test_every_route_has_a_handler_and_other_control_fields_are_silent() -> None:
    """Table 5 is the whole vocabulary [§4.1]: any other C field in a short frame is rejected, silently."""
    assert set(ROUTES.values()) == set(Route)
    slave = make_slave()
    answered = {c for c in range(256) if slave.on_request(at(1), short(c)) is not None}
    assert answered == {0x40, 0x60, 0x5B, 0x7B, 0x5A, 0x7A, 0x49, 0x69, 0x59, 0x79}
    assert slave.stats.rejected == 256 - len(answered)


def test_req_ske_answers_rsp_ske_and_req_ud1_answers_e5() -> None:
    slave = make_slave()
    assert slave.on_request(at(1), short(0x49)) == encode_frame(ShortFrame(0x0B, ADDRESS))
    assert slave.on_request(at(1), short(0x5A)) == b"\xe5"


def test_fcb_is_ignored_every_req_ud2_gets_a_fresh_reply() -> None:
    """§3.1.2: "The frame count bit (FCB) of the C-Field is ignored", the access number moves on instead."""
    slave = make_slave(user_key=USER_KEY)
    guard = FrameCounterGuard()
    first = read(slave.on_request(at(1), short(REQ_UD2_FCB)), USER_KEY, guard)
    again = read(slave.on_request(at(1), short(REQ_UD2_FCB)), USER_KEY, guard)
    other = read(slave.on_request(at(1), short(REQ_UD2)), USER_KEY, guard)
    assert [r.header.access for r in (first, again, other)] == [(first.header.access + n) % 256 for n in range(3)]
    assert [r.frame_counter for r in (first, again, other)] == [1, 2, 3]
    assert first.readout == again.readout == other.readout


def test_garbage_is_silent_and_counted() -> None:
    slave = make_slave()
    for junk in (b"", b"\x10\x5b", bytes.fromhex("105B056116"), b"\xe5", b"hello"):
        assert slave.on_request(at(1), junk) is None
    assert (slave.stats.garbage, slave.stats.not_addressed) == (4, 1)  # E5 is a frame, but no request


@given(st.binary(max_size=80))
@settings(max_examples=300, deadline=None)
def test_random_bytes_never_raise(data: bytes) -> None:
    slave = make_slave(user_key=USER_KEY)
    reply = slave.on_request(at(1), data)
    assert reply is None or reply[:1] in (b"\xe5", b"\x68", b"\x10")
    assert slave.stats.received == 1


@given(st.integers(0, 10), st.integers(0, 255))
@settings(max_examples=200, deadline=None)
def test_a_mutated_command_never_raises_and_never_changes_the_address(position: int, byte: int) -> None:
    slave = make_slave(user_key=USER_KEY)
    frame = bytearray(snd_ud(0x51, bytes.fromhex("01 7A 09")))
    frame[position % len(frame)] = byte
    slave.on_request(at(1), bytes(frame))
    assert slave.address == ADDRESS  # a user key is set: set-address is never accepted [§6.2.3]


# -- meter data -------------------------------------------------------------------------------------------


def test_unencrypted_rsp_ud_carries_the_models_state() -> None:
    meter = make_meter()
    slave = make_slave(meter)
    access = meter.access_number
    reading = read(slave.on_request(at(40), short(REQ_UD2)))
    assert reading.header == LongHeader("34567890", "ITG", 0x40, 0x03, access, 0, 0)
    assert reading.frame_counter is None  # mode 0 has no frame counter [§5.2]
    stored = meter.hourly_value
    assert stored is not None and stored.captured_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    readout = reading.readout
    assert readout.status == meter.status_byte() == 0
    assert readout.equipment_identifier == METER_NUMBER
    assert readout.hourly is not None
    assert (readout.hourly.captured_at, readout.hourly.volume_m3) == (stored.captured_at, stored.index_m3)
    assert readout.hourly.resolution_m3 == Decimal("0.001")
    assert readout.valve is ValvePosition.OPEN == meter.valve
    assert readout.configuration == 0x07  # clock, valve, converted volume [§6.4.9]
    assert readout.versions == ()  # versions only on request [§6.4.2]
    assert meter.access_number == (access + 1) % 256


def test_the_records_carry_what_the_e_meter_needs() -> None:
    """Everything ``MbusDeviceIdentity`` and ``MbusReading`` need is in header and records."""
    reading = read(make_slave().on_request(at(40), short(REQ_UD2)))
    h, r = reading.header, reading.readout
    assert r.equipment_identifier is not None and r.hourly is not None and r.status is not None
    identity = MbusDeviceIdentity(h.manufacturer, int(h.ident), h.version, h.medium, r.equipment_identifier)
    assert identity == MbusDeviceIdentity.for_meter_number(METER_NUMBER)
    value = MbusReading(r.hourly.volume_m3, r.hourly.captured_at, r.status, r.hourly.resolution_m3)
    assert value == MbusReading(Decimal("1234.567"), datetime(2026, 3, 2, 10, 0, tzinfo=UTC), 0)


def test_the_hourly_value_is_sent_not_the_live_index() -> None:
    """§6.1: "One hourly value including M-Bus device time stamp is stored" and transferred."""
    meter = make_meter()
    slave = make_slave(meter)
    meter.handle(at(20), cmd.SetFlow(Decimal("1.5"), Decimal("15")))
    reading = read(slave.on_request(at(95), short(REQ_UD2)))  # 11:05, gas still flowing
    stored = meter.hourly_value
    assert stored is not None and stored.captured_at == datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    assert reading.readout.hourly is not None
    assert reading.readout.hourly.volume_m3 == stored.index_m3 < meter.index_m3


def test_before_the_first_whole_hour_the_actual_value_goes_out_with_the_storage_bit_clear() -> None:
    # [P2-4.0.7 §6.4.3]: "either value will be accompanied with a time stamp of the moment the value is
    # determined. The Storage Number bit in the DIF block of the time stamp signifies the hourly value."
    reply = make_slave().on_request(at(10), short(REQ_UD2))
    reading = read(reply)
    assert reading.readout.equipment_identifier == METER_NUMBER
    assert reading.readout.hourly == HourlyReading(at(10), Decimal("1234.567"), Decimal("0.001"), stored=False)
    assert reply is not None and bytes.fromhex("066D") in reply and bytes.fromhex("0C13") in reply
    assert bytes.fromhex("466D") not in reply


def test_g10_sends_vif_14_with_centilitre_resolution() -> None:
    meter = make_meter(MeterType.G10, "98765.43")
    reply = make_slave(meter).on_request(at(40), short(REQ_UD2))
    assert reply is not None and bytes.fromhex("4C 14 43 65 87 09") in reply  # [§6.4.4]
    hourly = read(reply).readout.hourly
    assert hourly is not None and (hourly.volume_m3, hourly.resolution_m3) == (Decimal("98765.43"), Decimal("0.01"))


@pytest.mark.parametrize(("command", "bit"), [
    (cmd.BreakSeal(), StatusBit.FRAUD_ATTEMPT),
    (cmd.RaiseFault(Fault.MAGNETIC_TAMPER), StatusBit.FRAUD_ATTEMPT),
    (cmd.RaiseFault(Fault.TEMPERATURE_SENSOR), StatusBit.PERMANENT_ERROR),
    (cmd.DrainBattery(CAPACITY_NAH * 95 // 100), StatusBit.BATTERY_LOW),
    (cmd.SynchronizeClock(at(5) + timedelta(minutes=3)), StatusBit.CLOCK_SYNC_ERROR),
])
def test_status_bits_follow_the_model(command: cmd.Command, bit: StatusBit) -> None:
    meter = make_meter()
    slave = make_slave(meter)
    meter.handle(at(5), command)
    status = read(slave.on_request(at(40), short(REQ_UD2))).readout.status
    assert status == meter.status_byte() == bit


def test_every_addressed_exchange_costs_battery_and_an_empty_battery_is_silent() -> None:
    meter = make_meter()
    slave = make_slave(meter)
    meter.advance(at(1))
    used = meter.battery.used_nah
    assert slave.on_request(at(1), short(SND_NKE)) == b"\xe5"
    assert meter.battery.used_nah - used == COSTS_NAH[Drain.MBUS_EXCHANGE]
    meter.handle(at(2), cmd.DrainBattery(CAPACITY_NAH))
    assert not meter.can_communicate
    assert slave.on_request(at(3), short(SND_NKE)) is None
    assert slave.on_request(at(3), short(REQ_UD2)) is None
    assert slave.stats.battery_empty == 2


def test_meter_events_are_kept_for_the_shell() -> None:
    slave = make_slave()
    slave.on_request(at(40), short(REQ_UD2))  # the slave advanced the meter past 10:00
    events = slave.take_events()
    assert any(isinstance(e, HourlyValueStored) for e in events)
    assert slave.take_events() == []


def test_time_going_backwards_is_the_callers_bug() -> None:
    slave = make_slave()
    slave.on_request(at(40), short(REQ_UD2))
    with pytest.raises(ClockError):
        slave.on_request(at(39), short(REQ_UD2))


VERSION_ITEMS = [ReadoutItem.MODEL_VERSION, ReadoutItem.HARDWARE_VERSION, ReadoutItem.METROLOGY_VERSION,
                 ReadoutItem.OTHER_VERSION]


@st.composite
def readouts(draw: st.DrawFn) -> GasReadout:
    resolution = draw(st.sampled_from([Decimal("0.001"), Decimal("0.01")]))
    hour = draw(st.datetimes(datetime(2000, 1, 1), datetime(2080, 12, 31))).replace(minute=0, second=0, microsecond=0)
    hourly = HourlyReading(hour.replace(tzinfo=UTC), draw(st.integers(0, 99_999_999)) * resolution, resolution)
    text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30)
    chosen = draw(st.lists(st.sampled_from(VERSION_ITEMS), unique=True))
    return GasReadout(
        status=draw(st.none() | st.integers(0, 255)),
        equipment_identifier=draw(st.none() | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E),
                                                       min_size=17, max_size=17)),
        hourly=draw(st.none() | st.just(hourly)),
        valve=draw(st.none() | st.sampled_from(list(ValvePosition))),
        configuration=draw(st.none() | st.integers(0, 31).map(MeterConfiguration)),
        versions=tuple((item, draw(text)) for item in VERSION_ITEMS if item in chosen),
    )


@given(readouts())
def test_gas_records_round_trip(readout: GasReadout) -> None:
    """STYLE 6: decode(encode(r)) == r, through bytes."""
    assert decode_gas_records(decode_records(encode_records(encode_gas_records(readout)))) == readout


# -- encryption and frame counter ---------------------------------------------------------------------------


def test_encrypted_replies_have_strictly_increasing_frame_counters_and_a_replay_is_rejected() -> None:
    slave = make_slave(user_key=USER_KEY)
    guard = FrameCounterGuard()
    replies = [slave.on_request(at(40 + n), short(REQ_UD2)) for n in range(5)]
    readings = [read(r, USER_KEY, guard) for r in replies]
    assert [r.frame_counter for r in readings] == [1, 2, 3, 4, 5] and slave.frame_counter == 5
    assert all(r.header.status == 0 for r in readings)  # ST unused [§4.2.5]
    word = ConfigurationWord.from_value(readings[0].header.configuration)
    assert (word.encryption, word.blocks) == (EncryptionMode.AES_CBC_MODE_15, 4)  # 40 0F as in App. B1.5
    assert readings[0].readout == read(make_slave().on_request(at(40), short(REQ_UD2))).readout
    with pytest.raises(ReplayError):
        read(replies[2], USER_KEY, guard)


def test_wrong_key_fails_on_the_master_side() -> None:
    reply = make_slave(user_key=USER_KEY).on_request(at(40), short(REQ_UD2))
    with pytest.raises(AuthenticationError):
        read(reply, OTHER_KEY)
    with pytest.raises(AuthenticationError):
        read(reply, NO_USER_KEY)  # an E-meter without the key cannot read it either


def test_zero_key_sends_plain_records_without_a_frame_counter() -> None:
    reply = make_slave().on_request(at(40), short(REQ_UD2))
    assert reply is not None and reply[17:19] == b"\x00\x00"  # configuration word 0 [§4.3.2]
    assert b"\x04\xfd\x08" not in reply and b"\x0d\x78\x11" in reply
    with pytest.raises(AuthenticationError):
        read(reply, USER_KEY)  # once a key is set the E-meter refuses plain data [§6.5]


# -- key change and address ---------------------------------------------------------------------------------


def set_key_frame(user_key: bytes, default_key: bytes = DEFAULT_KEY) -> bytes:
    return snd_ud(0x51, encode_set_key_records(wrap_user_key(default_key, user_key)))


def test_key_change_with_the_default_key() -> None:
    slave = make_slave()
    assert slave.on_request(at(40), set_key_frame(USER_KEY)) == b"\xe5"
    assert slave.keys.user_key == USER_KEY and slave.keys.is_encrypted
    assert read(slave.on_request(at(41), short(REQ_UD2)), USER_KEY).frame_counter == 1
    # §6.5: set new key stays accepted unencrypted, any number of times; the counter is never reset.
    assert slave.on_request(at(42), set_key_frame(OTHER_KEY)) == b"\xe5"
    assert read(slave.on_request(at(43), short(REQ_UD2)), OTHER_KEY).frame_counter == 2
    assert slave.on_request(at(44), set_key_frame(NO_USER_KEY)) == b"\xe5"  # back to no encryption
    assert read(slave.on_request(at(45), short(REQ_UD2))).frame_counter is None


def test_a_key_wrapped_with_the_wrong_default_key_is_installed_but_unreadable() -> None:
    """One AES block has no check value (§6.5.1): the meter cannot tell, the first reply fails the 2F 2F check."""
    slave = make_slave()
    assert slave.on_request(at(40), set_key_frame(USER_KEY, default_key=OTHER_KEY)) == b"\xe5"
    with pytest.raises(AuthenticationError):
        read(slave.on_request(at(41), short(REQ_UD2)), USER_KEY)


@pytest.mark.parametrize("data", [
    bytes.fromhex("07 FD 19 03 E0 EE D1 F6 8E 9B 8F"),  # one half only
    bytes.fromhex("07 FD 19 03 E0 EE D1 F6 8E 9B 8F 07 FD 19 5E 13 72 75 4A B7 9F 27"),  # low half twice
    bytes.fromhex("07 FD 19 03 E0 EE D1 F6 8E 9B"),  # truncated
])
def test_a_malformed_key_change_is_ignored(data: bytes) -> None:
    slave = make_slave(user_key=USER_KEY)
    assert slave.on_request(at(40), snd_ud(0x51, data)) is None
    assert slave.keys.user_key == USER_KEY and slave.stats.rejected == 1


def test_set_key_in_an_encrypted_control_message_is_refused() -> None:
    """Set new key uses CI 51h [§6.5, Table 5]; CI 5A does not carry it."""
    slave = make_slave(user_key=USER_KEY)
    guard = FrameCounterGuard()
    records = encode_set_key_records(wrap_user_key(DEFAULT_KEY, OTHER_KEY))
    assert slave.on_request(at(40), encrypted_command(slave, records, guard)) is None
    assert slave.keys.user_key == USER_KEY


def test_set_primary_address() -> None:
    slave = GasMeterSlave(make_meter())
    assert slave.on_request(at(1), snd_ud(0x51, bytes.fromhex("01 7A 07"), address=0)) == b"\xe5"
    assert slave.address == 7
    assert slave.on_request(at(2), short(REQ_UD2, 0)) is None
    assert read(slave.on_request(at(2), short(REQ_UD2, 7))).header.ident == "34567890"


def test_set_address_is_ignored_once_a_user_key_is_set_and_above_250() -> None:
    """§6.2.3: accepted "only ... when the User key is not set"; §3.1.3: 1..250."""
    keyed = make_slave(user_key=USER_KEY)
    assert keyed.on_request(at(1), snd_ud(0x51, bytes.fromhex("01 7A 07"))) is None
    plain = make_slave()
    assert plain.on_request(at(1), snd_ud(0x51, bytes.fromhex("01 7A FB"))) is None
    assert keyed.address == plain.address == ADDRESS


# -- control messages ---------------------------------------------------------------------------------------


def test_readout_selection_of_versions_then_reset_by_snd_nke() -> None:
    """App. B1.4: select hardware and metrology versions (CI 5A, encrypted), read them, reset the list."""
    meter = make_meter()
    slave = make_slave(meter, user_key=USER_KEY)
    guard = FrameCounterGuard()
    read(slave.on_request(at(40), short(REQ_UD2)), USER_KEY, guard)  # learn the frame counter (Figure 4)
    select = bytes.fromhex("08 FD 0D 08 FD 0E")
    assert slave.on_request(at(41), encrypted_command(slave, select, guard)) == b"\xe5"
    assert slave.readout == (ReadoutItem.HARDWARE_VERSION, ReadoutItem.METROLOGY_VERSION)
    versions = read(slave.on_request(at(42), short(REQ_UD2)), USER_KEY, guard).readout
    texts = version_texts(meter)
    assert versions == GasReadout(versions=(
        (ReadoutItem.HARDWARE_VERSION, texts[ReadoutItem.HARDWARE_VERSION]),
        (ReadoutItem.METROLOGY_VERSION, f"met={meter.legal_firmware.version}\r\n"),
    ))
    assert slave.on_request(at(43), short(SND_NKE)) == b"\xe5"
    assert slave.readout == DEFAULT_READOUT
    assert read(slave.on_request(at(44), short(REQ_UD2)), USER_KEY, guard).readout.versions == ()


def test_a_refused_command_does_not_move_the_meters_frame_counter() -> None:
    """Mode 15 has no MAC: a command that decrypts but is refused (here: a forged counter near the top with
    records the meter cannot use) must not become the meter's counter, or no genuine command would pass again."""
    slave = make_slave(user_key=USER_KEY)
    guard = FrameCounterGuard()
    read(slave.on_request(at(40), short(REQ_UD2)), USER_KEY, guard)
    forger = FrameCounterGuard(last_validated=0xFFFFFFF0)
    garbage = bytes.fromhex("0F 0F 0F 0F")  # manufacturer-specific data: no command the meter accepts over 5A
    assert slave.on_request(at(41), encrypted_command(slave, garbage, forger)) is None
    assert slave.frame_counter == 1
    select = bytes.fromhex("08 FD 0D 08 FD 0E")
    assert slave.on_request(at(42), encrypted_command(slave, select, guard)) == b"\xe5"
    assert slave.readout == (ReadoutItem.HARDWARE_VERSION, ReadoutItem.METROLOGY_VERSION)


def test_everything_selected_still_fits_one_frame() -> None:
    slave = make_slave(user_key=USER_KEY)
    every = bytes.fromhex("08 FD 17 08 78 48 6D 08 13 08 FD 1A 08 FD 67 08 FD 0C 08 FD 0D 08 FD 0E 08 FD 0F")
    guard = FrameCounterGuard(last_validated=0)
    assert slave.on_request(at(40), encrypted_command(slave, every, guard)) == b"\xe5"
    readout = read(slave.on_request(at(41), short(REQ_UD2)), USER_KEY, guard).readout
    assert readout.hourly is not None and len(readout.versions) == 4
    assert [item for item, _ in readout.versions] == list(ReadoutItem)[-4:]


def test_commands_must_be_encrypted_once_a_key_is_set_and_replays_are_ignored() -> None:
    slave = make_slave(user_key=USER_KEY)
    select = bytes.fromhex("08 FD 0E")
    plain = encode_short_header(ShortHeader(1, 0, 0)) + select
    assert slave.on_request(at(40), snd_ud(0x5A, plain)) is None  # mode 0 with a key set [§6.5]
    assert slave.on_request(at(40), snd_ud(0x51, select)) is None
    guard = FrameCounterGuard(last_validated=slave.frame_counter)
    command = encrypted_command(slave, select, guard)
    assert slave.on_request(at(41), command) == b"\xe5" and slave.frame_counter == 1
    assert slave.on_request(at(42), command) is None  # same frame counter: replay [§5.2]
    # One counter for both directions, owned by the gas meter (§5.2 Figure 4): the reply continues it.
    assert read(slave.on_request(at(42), short(REQ_UD2)), USER_KEY, guard).frame_counter == 2
    stale = FrameCounterGuard(last_validated=0)
    assert slave.on_request(at(42), encrypted_command(slave, select, stale, key=OTHER_KEY)) is None
    assert slave.stats.rejected == 4


def test_valve_commands_are_refused_by_the_meter_and_logged() -> None:
    """SYSTEM G12: the valve never moves; the refusal is in the meter's log with its reason."""
    meter = make_meter()
    slave = make_slave(meter, user_key=USER_KEY)
    guard = FrameCounterGuard()
    for code, action in ((0x00, ValveAction.CLOSE), (0x02, ValveAction.RELEASE)):
        frame = encrypted_command(slave, bytes((0x01, 0xFD, 0x1F, code)), guard)
        assert slave.on_request(at(40), frame) == b"\xe5"  # SND_UD is acknowledged [Table 5]
        refused = meter.log[-1]
        assert isinstance(refused, ValveCommandRefused)
        assert (refused.action, refused.reason) == (action, VALVE_REFUSAL)
    assert [type(e) for e in slave.take_events()].count(ValveCommandRefused) == 2
    assert read(slave.on_request(at(41), short(REQ_UD2)), USER_KEY, guard).readout.valve is ValvePosition.OPEN
    assert slave.on_request(at(42), encrypted_command(slave, bytes.fromhex("01 FD 1F 07"), guard)) is None


def clock_sync(slave: GasMeterSlave, when: datetime, configuration: int = 0, body: bytes | None = None) -> bytes:
    who = slave.identity
    header = LongHeader(who.ident, who.manufacturer, who.version, who.medium, 0x10, 0, configuration)
    time_sync = b"\x2f\x2f\x00" + encode_datetime_i(when.replace(tzinfo=None)) + bytes(3) + b"\x2f" * 4
    return snd_ud(0x6C, encode_long_header(header) + (time_sync if body is None else body))


def test_clock_sync_unencrypted_without_key_and_clear_status() -> None:
    """§6.2.1: more than 60 s off sets status bit 5; §6.2.4: the E-meter clears it with 01 FD 97 06 mask."""
    meter = make_meter()
    slave = make_slave(meter)
    assert slave.on_request(at(20), clock_sync(slave, at(22))) == b"\xe5"
    assert meter.clock_sync_error and meter.meter_time(at(20)) == at(22)
    assert slave.on_request(at(21), snd_ud(0x51, bytes.fromhex("01 FD 97 06 73"))) == b"\xe5"
    assert not meter.clock_sync_error


def test_clock_sync_with_a_key_must_be_encrypted_and_for_this_meter() -> None:
    meter = make_meter()
    slave = make_slave(meter, user_key=USER_KEY)
    assert slave.on_request(at(20), clock_sync(slave, at(22))) is None  # plain while keyed [§4.3.4]
    guard = FrameCounterGuard()
    body = b"\x00" + encode_datetime_i(at(20).replace(second=30, tzinfo=None)) + bytes(3)
    secured = encrypt_payload(body, user_key=USER_KEY, meter=slave.identity, frame_counter=guard.next_for_sending())
    frame = clock_sync(slave, at(20), secured.configuration.value, secured.payload)
    assert slave.on_request(at(20), frame) == b"\xe5"
    assert meter.meter_time(at(20)) == at(20).replace(second=30) and not meter.clock_sync_error
    stranger = GasMeterSlave(make_meter(), address=ADDRESS, identity=MeterIdentity("ITG", "99999999", 0x40, 3))
    assert stranger.on_request(at(20), clock_sync(slave, at(20))) is None  # another meter's Short ID


# -- DSMR P2 Appendix B --------------------------------------------------------------------------------------

APP_B_RSP_UD = bytes.fromhex(  # App. B1.5 with L = 56h (DSMR-FACTS §2.6 c; the spec prints 4Fh)
    "68 56 56 68 08 01 72 89 67 45 23 B4 38 40 03 F6 00 40 0F"
    "F1 80 C5 3E 07 68 C7 6A E6 E2 4A 98 BD D5 94 7F 62 27 32 BF 63 72 AA 2A A9 AF 6D 0F 0C 71"
    "FB 59 5D FE CC 67 2F D3 51 CC 00 A0 49 8D A5 FC 51 15 58 42 C7 76 F5 9B 31 9B 60 08 62 18"
    "3F 69 1A 68 04 FD 08 01 00 00 00 E5 16"
)
APP_B_SET_KEY = bytes.fromhex(  # App. B1.3 with checksum 8Eh (the spec prints 4Eh)
    "68 19 19 68 53 01 51 07 FD 19 03 E0 EE D1 F6 8E 9B 8F 47 FD 19 5E 13 72 75 4A B7 9F 27 8E 16")


class _AccessF6:
    """The random source at manufacture: App. B1.5's access number F6h is the meter's random start [§4.2.4]."""

    def random(self) -> float:
        return 0.0

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        return 0xF6

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        return 0.0

    def getrandbits(self, k: int, /) -> int:
        return 0


def test_appendix_b_known_answer_through_install_key_change_and_readout() -> None:
    """App. B: a new meter at address 0 gets address 1, the B1.3 key change, then answers B1.5 byte for byte.

    One deviation is needed to build it: App. B's Identification Number 23456789 does not follow from its
    own equipment identifier 'XXXXX110123456789' by §4.2.2 (the last 8 digits of the 10-digit serial
    '1101234567' are 01234567). So the App. B Short ID (NET, 23456789, 40h, gas) is passed as the
    ``identity`` the manufacturer programmed; everything else comes from the model: equipment identifier,
    hourly value 0.391 m³ stored at 2009-06-18 11:00 UTC, status 0, valve open, configuration 07h, access
    number F6h, frame counter 1, default key and the user key unwrapped from the B1.3 frame.
    """
    meter = GasMeter.manufacture(MeterType.G4, "XXXXX110123456789", datetime(2009, 6, 18, 10, 30, tzinfo=UTC),
                                 _AccessF6(), default_key=DEFAULT_KEY, initial_index_m3=Decimal("0.391"))
    slave = GasMeterSlave(meter, identity=MeterIdentity("NET", "23456789", 0x40, 0x03))
    now = datetime(2009, 6, 18, 11, 5, tzinfo=UTC)
    assert slave.on_request(now, short(SND_NKE, 0)) == b"\xe5"
    assert slave.on_request(now, snd_ud(0x51, bytes.fromhex("01 7A 01"), address=0)) == b"\xe5"
    assert slave.on_request(now, APP_B_SET_KEY) == b"\xe5"
    assert slave.keys.user_key == USER_KEY
    assert slave.on_request(now, short(REQ_UD2, 1)) == APP_B_RSP_UD


# -- on the in-memory bus (SYSTEM M3) ------------------------------------------------------------------------


def test_two_gas_meters_on_the_virtual_bus_answer_only_their_own_address() -> None:
    first, second = make_slave(), GasMeterSlave(
        GasMeter.manufacture(MeterType.G6, "G0001000000001112", T0, random.Random(8), default_key=OTHER_KEY),
        address=ADDRESS + 1)
    bus = VirtualBus(random.Random(0))
    bus.attach(first)
    bus.attach(second)
    for slave in (first, second):
        heard = bus.transact(at(40), short(REQ_UD2, slave.address))
        assert read(heard.now).header.ident == slave.identity.ident
    assert bus.transact(at(41), short(REQ_UD2, 200)).now == b""
    assert bus.collisions == 0


def test_two_new_meters_at_address_0_collide() -> None:
    """Installation takes "only 1 device at the same time" [§8.3.1 Figure 6]: two at address 0 garble RSP_UD."""
    bus = VirtualBus(random.Random(0))
    meters = [GasMeter.manufacture(MeterType.G4, number, T0, random.Random(9), default_key=DEFAULT_KEY)
              for number in ("G0001000000001112", "G0001000000002212")]
    slaves = [GasMeterSlave(meter) for meter in meters]
    for slave in slaves:
        bus.attach(slave)
    assert bus.transact(at(40), short(SND_NKE, 0)).now == b"\xe5"  # identical E5s hide each other
    heard = bus.transact(at(40), short(REQ_UD2, 0)).now
    assert bus.collisions == 2
    with pytest.raises(ChecksumError):  # the AND of two replies is nobody's frame
        decode_frame(heard)
