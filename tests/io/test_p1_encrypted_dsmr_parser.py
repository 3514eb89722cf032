"""Acceptance (issue 13, item 3): dsmr_parser decrypts ``p1 serve --key`` and reads the gas values.

Which of dsmr_parser's readers decrypt a general-global-cipher P1 stream (IEC 62056-5-3 §9.2.7.2, DLMS
security suite 0, the Luxembourg Smarty framing ``DB 08 title 82 len SC IC ciphertext tag``):

- ``'MSn'`` (``telegram_specifications.MSN``): encrypted, the Smarty public authentication key built in,
  and every V5 line, including the M-Bus channels (``0-n:24.1.0``, ``0-n:96.1.0``, ``0-n:24.2.1``). Give
  it the encryption key only. This is the reader for ``p1 serve --key``, DSMR 4 or 5 telegrams alike.
- ``'5L'`` (``LUXEMBOURG_SMARTY``) is a *plaintext* reader: its spec has no ``general_global_cipher``,
  so it looks for ``/…!CRC`` in the binary stream, finds none, and neither calls back nor logs.
- ``'SAGEMCOM_T210_D_R'`` decrypts, with both keys passed, but its spec has no M-Bus/gas line.

The stream goes from meterkast's P1 server over loopback TCP into dsmr_parser's own asyncio protocol
(``create_tcp_dsmr_reader``); the server runs on a ``SimClock`` at high speed, and each telegram read
must equal what a twin installation (same seed) shows at that telegram's instant (SYSTEM P1, E1).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.clients.protocol import create_tcp_dsmr_reader

from meterkast.cli import main
from meterkast.clock import SimClock
from meterkast.io.p1_reader import SMARTY_AUTHENTICATION_KEY
from meterkast.io.p1_server import ClockPacer, P1Server
from meterkast.p1.crypto import GENERAL_GLOBAL_CIPHER
from meterkast.sim.installation import Installation
from meterkast.sim.p1_source import P1Cipher, P1Port, telegram_data

KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
SPEED = 20_000.0
START = datetime(2025, 1, 10, 11, 40, tzinfo=UTC)
SERVE_FROM = datetime(2025, 1, 10, 13, 58, tzinfo=UTC)


async def serve(version: str, reader_version: str, until: datetime, **keys: str) -> tuple[list[Any], int, Any]:
    """Serve encrypted telegrams from SERVE_FROM to ``until``; what dsmr_parser's reader called back with."""
    installation = Installation.build(START, random.Random(13))
    installation.advance(SERVE_FROM)
    port = P1Port(installation, version, cipher=P1Cipher(KEY, SMARTY_AUTHENTICATION_KEY))
    server = P1Server(port, ClockPacer(SimClock(SERVE_FROM, speed=SPEED), SPEED), backlog=1_000_000)
    host, bound = await server.start_tcp("127.0.0.1", 0)
    received: list[Any] = []
    transport, protocol = await create_tcp_dsmr_reader(host, bound, reader_version, received.append, **keys)
    try:
        await asyncio.wait_for(server.wait_for_clients(1), 10)
        await server.run(until)
    finally:
        await server.close(flush_timeout_s=30)
    await asyncio.wait_for(protocol.wait_closed(), 30)  # the server closed: everything sent has been read
    transport.close()
    return received, server.stats.telegrams, protocol


@pytest.mark.parametrize(("version", "minutes"), [("5", 3), ("4", 4)])
def test_MSn_reader_decrypts_p1_serve_key_with_gas_values(version: str, minutes: int) -> None:
    until = SERVE_FROM + timedelta(minutes=minutes)
    received, sent, protocol = asyncio.run(serve(version, "MSn", until, encryption_key=KEY.hex()))
    assert protocol.decryption_error is None
    assert sent > 0 and len(received) == sent, "every frame is framed, authenticated, decrypted and CRC-checked"

    twin = Installation.build(START, random.Random(13))
    captures = set()
    for telegram in received:
        moment = telegram.P1_MESSAGE_TIMESTAMP.value.astimezone(UTC)
        twin.advance(moment)
        expected = telegram_data(twin, version)
        assert telegram.ELECTRICITY_USED_TARIFF_1.value == expected.import_t1_kwh
        assert telegram.ELECTRICITY_USED_TARIFF_2.value == expected.import_t2_kwh
        (gas,) = expected.mbus
        device = telegram.get_mbus_device_by_channel(1)
        assert device.MBUS_DEVICE_TYPE.value == 3  # gas [P1-5.0.2 §7.3, 0-n:24.1.0]
        assert bytes.fromhex(device.MBUS_EQUIPMENT_IDENTIFIER.value).decode() == gas.equipment_id
        reading = device.MBUS_METER_READING
        assert (reading.value, reading.unit) == (gas.value, "m3")
        assert gas.capture_time is not None
        assert reading.datetime.astimezone(UTC) == gas.capture_time.astimezone(UTC)
        captures.add(gas.capture_time)
    assert len(captures) == 2, "the window spans an hourly gas capture (14:00 UTC), and MSn shows both"


def test_5L_reader_is_a_plaintext_reader_and_reads_nothing_of_an_encrypted_stream() -> None:
    assert not telegram_specifications.LUXEMBOURG_SMARTY.get("general_global_cipher")
    received, sent, protocol = asyncio.run(
        serve("5", "5L", SERVE_FROM + timedelta(seconds=20), encryption_key=KEY.hex())
    )
    assert sent == 21 and received == [] and protocol.decryption_error is None


def test_SAGEMCOM_reader_decrypts_but_has_no_gas_line() -> None:
    received, sent, _ = asyncio.run(
        serve(
            "5",
            "SAGEMCOM_T210_D_R",
            SERVE_FROM + timedelta(seconds=5),
            encryption_key=KEY.hex(),
            authentication_key=SMARTY_AUTHENTICATION_KEY.hex(),
        )
    )
    assert len(received) == sent == 6
    assert received[0].ELECTRICITY_USED_TARIFF_1.value is not None
    assert not hasattr(received[0], "MBUS_METER_READING") and received[0].get_mbus_device_by_channel(1) is None


def test_every_served_frame_uses_the_two_byte_length_form_that_dsmr_parser_frames() -> None:
    """Smarty framing (Luxmetering P1 v1.1.3 §3.2.5): ``DB 08 <title> 82 <len hi lo>``, whatever the size."""
    installation = Installation.build(START, random.Random(13))
    port = P1Port(installation, "5", cipher=P1Cipher(KEY, SMARTY_AUTHENTICATION_KEY))
    _, frame = port.telegram(START + timedelta(seconds=1))
    assert frame is not None and frame[0] == GENERAL_GLOBAL_CIPHER and frame[1] == 8
    assert frame[10] == 0x82 and int.from_bytes(frame[11:13], "big") == len(frame) - 13


def test_p1_serve_key_prints_the_keys_and_the_reader_to_use(capsys: pytest.CaptureFixture[str]) -> None:
    until = (SERVE_FROM + timedelta(seconds=2)).isoformat()
    argv = ["p1", "serve", "--port", "0", "--speed", "max", "--version", "5", "--start", SERVE_FROM.isoformat(),
            "--until", until, "--key", KEY.hex()]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"encryption key {KEY.hex().upper()}, authentication key 00112233445566778899AABBCCDDEEFF" in out
    assert "dsmr_parser: version 'MSn' with encryption_key only" in out
