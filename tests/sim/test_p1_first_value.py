"""Issue 11 item 7: what P1 shows for a gas meter that has sent no value yet.

[P1-5.0.2 §7.3] (and [P1-4.2.2 §6.3]): "P1 transfers every second [ten seconds] the latest received
5-minute [hourly] value & timestamp". Before the first received value there is none: the installed
device's type and identifier are shown ("only when a M-Bus device is installed, its data will be
exported", [P1-5.0.2 §6.12]) and the 0-n:24.2.1 line is left out, since Table 6-3 gives the value no
empty form and "the number of OBIS codes … is not fixed" [§6.13]. dsmr_parser then reports no gas
reading, instead of 0 without a unit at 1970-01-01 (what ``(700101010000W)(00000000)`` gave).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from meterkast.p1.convert import to_telegram_data
from meterkast.p1.decode import decode_telegram
from meterkast.p1.encode import encode_telegram
from meterkast.sim.installation import Installation
from meterkast.sim.p1_source import telegram_bytes, telegram_data

START = datetime(2025, 1, 14, 23, 0, tzinfo=UTC)  # a fresh installation; the first poll is due at xx:01
GAS_ID_HEX = b"G0001123456789012".hex().upper()
SPECS = {"4": "V4", "4.2": "V4", "5": "V5"}


def fresh() -> Installation:
    return Installation.build(START, random.Random(11))


def gas_reading(parsed: Any, spec: str) -> Any:
    """dsmr_parser's gas reading of channel 1, or None when the telegram has none."""
    if spec == "V5":
        return getattr(parsed.get_mbus_device_by_channel(1), "MBUS_METER_READING", None)
    return getattr(parsed, "HOURLY_GAS_METER_READING", None)


def parse(sent: bytes, spec: str) -> Any:
    parser = TelegramParser(getattr(telegram_specifications, spec))
    return parser.parse(sent.decode("ascii"), throw_ex=True)  # throw_ex: a line it cannot read fails the test


@pytest.mark.parametrize("version", list(SPECS))
def test_a_fresh_e_meter_shows_the_gas_meter_without_a_reading_line(version: str) -> None:
    installation = fresh()
    installation.advance(START + timedelta(seconds=30))  # before the first read (xx:01, DSMR-M 4.5.5)
    sent = telegram_bytes(installation, version)
    assert f"0-1:24.1.0(003)\r\n0-1:96.1.0({GAS_ID_HEX})\r\n!".encode() in sent
    assert b"0-1:24.2.1" not in sent and b"700101" not in sent
    parsed = parse(sent, SPECS[version])
    assert gas_reading(parsed, SPECS[version]) is None, "no gas reading at all, not a 1970 one"
    if SPECS[version] == "V5":
        identifier = parsed.get_mbus_device_by_channel(1).MBUS_EQUIPMENT_IDENTIFIER
    else:
        identifier = parsed.EQUIPMENT_IDENTIFIER_GAS
    assert identifier.value == GAS_ID_HEX


@pytest.mark.parametrize("version", list(SPECS))
def test_the_first_received_value_then_appears_with_its_unit_and_capture_time(version: str) -> None:
    installation = fresh()
    installation.advance(START + timedelta(minutes=1))  # the first read
    expected = telegram_data(installation, version).mbus[0]
    assert expected.value is not None and expected.capture_time is not None and not expected.awaiting_first
    reading = gas_reading(parse(telegram_bytes(installation, version), SPECS[version]), SPECS[version])
    assert (reading.value, reading.unit) == (expected.value, "m3")
    assert reading.datetime.astimezone(UTC) == expected.capture_time.astimezone(UTC)
    assert reading.datetime.year == 2025


@pytest.mark.parametrize("version", [*SPECS, "2.2"])
def test_a_channel_awaiting_its_first_value_round_trips_through_the_decoder(version: str) -> None:
    installation = fresh()
    data = telegram_data(installation, version)
    assert [c.awaiting_first for c in data.mbus] == [True]
    sent = encode_telegram(data, version)
    assert to_telegram_data(decode_telegram(sent)) == data
    assert b"0-1:24.3.0" not in sent  # DSMR 2.2: no hourly profile lines before the first value either
