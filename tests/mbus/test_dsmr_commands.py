"""The E-meter's clock synchronisation and status housekeeping over P2 bytes (P2-4.0.7 §4.3.4, §6.2.1, §6.2.4)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import LinkError
from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.events import ClockSynchronized, StatusBitsCleared
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.mbus.datatypes import decode_datetime_i
from meterkast.mbus.dsmr_commands import clear_status_records, clock_sync_body, needs_housekeeping
from meterkast.mbus.link import LongFrame, decode_frame
from meterkast.mbus.security import ConfigurationWord
from meterkast.mbus.virtual import BusFaults
from meterkast.sim.p2_link import P2GasLink

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # a Tuesday
MIN = timedelta(minutes=1)
DAY = timedelta(days=1)


class Listener:
    """A device on the bus that never answers and keeps every SND_UD it hears."""

    def __init__(self) -> None:
        self.heard: list[LongFrame] = []

    def on_request(self, _now: datetime, request: bytes) -> bytes | None:
        frame = decode_frame(request)
        if isinstance(frame, LongFrame) and frame.control == 0x53:
            self.heard.append(frame)
        return None


def installed(*, encrypted: bool = True, drift_ppm: int = 0) -> tuple[P2GasLink, GasMeter, Listener]:
    rng = random.Random(7)
    meter = GasMeter.manufacture(MeterType.G4, "G0001123456789012", T0, rng)
    meter.handle(T0, cmd.SetClockDrift(Decimal(drift_ppm)))
    link = P2GasLink(rng, encrypted=encrypted)
    link.attach(1, meter)
    listener = Listener()
    link.bus.attach(listener)
    return link, meter, listener


def test_the_set_time_body_is_tc_00_type_i_utc_and_three_reserved_bytes() -> None:
    """§6.2.1 and its footnote 6: UTC in the type I fields, day of week filled in (Tuesday = 2), DST fields 0."""
    body = clock_sync_body(datetime(2013, 7, 16, 13, 0, 0, 500_000, tzinfo=UTC))
    assert body[0] == 0x00 and body[7:] == bytes(3) and len(body) == 10
    assert body[3] >> 5 == 2 and body[6] == 0  # day of week; week and DST bits 0
    assert decode_datetime_i(body[1:7]) == datetime(2013, 7, 16, 13, 0, 0)
    assert clear_status_records() == bytes.fromhex("01 FD 97 06 73")  # §6.2.4, mask 01110011
    assert needs_housekeeping(0x20) and needs_housekeeping(0x40) and not needs_housekeeping(0x84)


def test_encrypted_sync_sets_the_gas_meters_clock_and_the_next_read_is_still_accepted() -> None:
    """§4.3.4: CI 6C, long header with the target's Short ID, mode 15 once a key is set; §5.2: the command's
    counter is adopted by the meter, and the reply after it must still pass the E-meter's checks."""
    link, meter, wire = installed(drift_ppm=900)  # 77.76 s a day: more than the 60 s limit
    link.read(T0 + MIN, 1)
    meter.advance(T0 + DAY)
    assert meter.clock_offset > timedelta(seconds=60)
    link.synchronize_clock(T0 + DAY, 1, T0 + DAY)
    assert abs(meter.clock_offset) < timedelta(seconds=1)
    sync = [e.event for e in link.take_events() if isinstance(e.event, ClockSynchronized)]
    assert len(sync) == 1 and sync[0].out_of_sync and sync[0].offset_s == pytest.approx(-77.76, abs=0.01)
    frame = wire.heard[-1]
    assert frame.ci == 0x6C and frame.data[:8] == link.p2.devices[1].meter.short_id  # the target [§4.3.4]
    assert ConfigurationWord.from_value(int.from_bytes(frame.data[10:12], "little")).mode == 15
    reading = link.read(T0 + DAY + MIN, 1)  # ACC − FC moved by one: still accepted
    assert reading.status & 0x20  # bit 5: clock synchronisation error [§6.2.4]
    device = link.device(1)
    assert device is not None and device.rejected == 0


def test_housekeeping_clears_bit_5_over_p2_and_reads_go_on() -> None:
    """§6.2.4: after the status is taken over, ``01 FD 97 06 73`` (CI 5A, encrypted) clears bit 5."""
    link, meter, wire = installed(drift_ppm=900)
    link.read(T0 + MIN, 1)
    link.synchronize_clock(T0 + DAY, 1, T0 + DAY)
    assert link.read(T0 + DAY + MIN, 1).status & 0x20
    link.clear_status(T0 + DAY + 2 * MIN, 1)
    assert wire.heard[-1].ci == 0x5A
    assert [e.event for e in link.take_events() if isinstance(e.event, StatusBitsCleared)]
    assert not meter.clock_sync_error
    assert not link.read(T0 + DAY + 3 * MIN, 1).status & 0x20
    device = link.device(1)
    assert device is not None and device.rejected == 0


def test_without_a_user_key_both_go_plain() -> None:
    """§4.3.4: unencrypted time sync only while the user key is zero; the clear command then as CI 51."""
    link, meter, wire = installed(encrypted=False)
    link.synchronize_clock(T0 + MIN, 1, T0 + 5 * MIN)
    assert meter.clock_sync_error and wire.heard[-1].data[10:12] == b"\x00\x00"
    link.clear_status(T0 + 2 * MIN, 1)
    assert not meter.clock_sync_error and wire.heard[-1].ci == 0x51


def test_no_encrypted_command_before_the_frame_counter_is_known() -> None:
    """§5.2 note: the E-meter learns the counter from a REQ_UD2 before it sends encrypted commands."""
    link, _, _ = installed()
    with pytest.raises(LinkError, match="frame counter is unknown"):
        link.synchronize_clock(T0 + MIN, 1, T0 + MIN)


def test_a_lost_acknowledgement_does_not_block_the_next_read() -> None:
    """The meter carried the sync out but its E5 was lost: the E-meter does not know, and the next reply
    (counter + 2, access number + 1) must still be accepted."""
    link, meter, _ = installed(drift_ppm=900)
    link.read(T0 + MIN, 1)
    link.bus.faults = BusFaults(no_reply=1.0)
    with pytest.raises(LinkError):
        link.synchronize_clock(T0 + DAY, 1, T0 + DAY)
    assert abs(meter.clock_offset) < timedelta(seconds=1)  # carried out all the same
    link.bus.faults = BusFaults()
    link.read(T0 + DAY + MIN, 1)
    device = link.device(1)
    assert device is not None and device.rejected == 0
    link.synchronize_clock(T0 + DAY + 2 * MIN, 1, T0 + DAY + 2 * MIN)  # and commands go on
    assert link.read(T0 + DAY + 3 * MIN, 1) is not None and device.rejected == 0


@given(when=st.datetimes(datetime(1981, 1, 1), datetime(2080, 12, 31, 23, 59, 59), timezones=st.just(UTC)))
def test_any_time_set_over_p2_is_the_time_the_meter_takes(when: datetime) -> None:
    """§6.2.1: type I used for UTC (two-digit years: 1981–2080); the meter takes the time it receives."""
    body = clock_sync_body(when)
    assert decode_datetime_i(body[1:7]) == when.replace(tzinfo=None, microsecond=0)
    assert body[3] >> 5 == when.isoweekday()
