"""The E-meter reads a DSMR gas meter's RSP_UD: the App. B1.5 vector, replays, wrong keys, missing records."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterkast.errors import AuthenticationError, FrameError, RecordError, ReplayError
from meterkast.mbus.gas_reply import read_gas_reply
from meterkast.mbus.link import LongFrame, decode_frame, encode_frame
from meterkast.mbus.security import FrameCounterGuard
from tests.mbus.test_dsmr import RSP_UD

USER_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")  # App. B
ZERO_KEY = bytes(16)


def frame(raw: bytes = RSP_UD) -> LongFrame:
    decoded = decode_frame(raw)
    assert isinstance(decoded, LongFrame)
    return decoded


def test_appendix_b_reply_reads_as_0_391_m3_at_11_utc() -> None:
    reply = read_gas_reply(frame(), user_key=USER_KEY, guard=FrameCounterGuard(channel=1))
    assert (reply.meter.manufacturer, reply.meter.ident, reply.meter.version, reply.meter.medium) == (
        "NET", "23456789", 0x40, 0x03)
    assert reply.value_m3 == Decimal("0.391") and reply.resolution_m3 == Decimal("0.001")
    assert reply.capture_time == datetime(2009, 6, 18, 11, 0, tzinfo=UTC)
    assert (reply.status, reply.valve, reply.configuration, reply.frame_counter) == (0, 1, 7, 1)
    assert reply.equipment_identifier == "XXXXX110123456789"
    assert reply.access_number == 0xF6


def test_the_same_reply_twice_is_a_replay_once_the_first_was_committed() -> None:
    guard = FrameCounterGuard(channel=1)
    first = read_gas_reply(frame(), user_key=USER_KEY, guard=guard)
    assert guard.last_validated is None  # reading checks the guard, the E-meter commits after judging
    assert first.frame_counter is not None
    guard.accept(first.frame_counter)
    with pytest.raises(ReplayError):
        read_gas_reply(frame(), user_key=USER_KEY, guard=guard)


def test_wrong_key_names_the_meter_and_channel() -> None:
    with pytest.raises(AuthenticationError, match=r"NET 23456789.*channel 2|channel 2.*NET 23456789"):
        read_gas_reply(frame(), user_key=bytes(range(1, 17)), channel=2)


def test_encrypted_reply_without_a_user_key_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="no user key"):
        read_gas_reply(frame(), user_key=ZERO_KEY)


def test_not_an_rsp_ud_is_a_frame_error() -> None:
    with pytest.raises(FrameError, match="expected RSP_UD"):
        read_gas_reply(LongFrame(0x53, 1, 0x51, b"\x01\x7a\x05"), user_key=ZERO_KEY)


def test_plain_reply_without_the_hourly_value_names_what_is_missing() -> None:
    header = bytes.fromhex("89674523B43840030100 0000".replace(" ", ""))
    raw = encode_frame(LongFrame(0x08, 1, 0x72, header + bytes.fromhex("01FD1700")))
    with pytest.raises(RecordError, match=r"NET 23456789: RSP_UD has no hourly time stamp \(46 6D\)"):
        read_gas_reply(frame(raw), user_key=ZERO_KEY)
