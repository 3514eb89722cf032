"""Acceptance (issue 13, item 4): a third-party M-Bus master reads ``meterkast mbus gateway``.

pyMeterBus (``import meterbus``, BSD-3) is the master: its own frame functions (``send_ping_frame`` =
SND_NKE, ``send_request_frame`` = REQ_UD2, ``recv_frame``, ``load``) over pyserial, once on the TCP
gateway (``socket://`` URL, the way it talks to a ser2net/libmbus gateway) and once on the pty. The
gateway serves the simulated installation's encrypted P2 bus: gas meters at primary addresses 1, 2
installed by the E-meter [P2-4.0.7 §8.3]. pyMeterBus reads each long header (ident, manufacturer,
medium, EN 13757-3 §5.4) in the clear; the payload is mode 15 (AES-128-CBC, [P2-4.0.7 §6.2]) and opens
with the user key the gateway lists, giving the meter's own hourly value and capture time.

libmbus's ``mbus-tcp-request-data`` is not tested: libmbus is not packaged for this system (no Debian
package, no PyPI wheel), so only pyMeterBus and meterkast's own master are run against the gateway.
"""

from __future__ import annotations

import asyncio
import json
import random
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import meterbus
import pytest
import serial

from meterkast.cli import main
from meterkast.clock import SimClock
from meterkast.commands.mbus.gateway import device_line, write_keys
from meterkast.errors import AuthenticationError, InvalidInput
from meterkast.io.mbus_gateway import MbusGateway
from meterkast.mbus.gas_reply import read_gas_reply
from meterkast.mbus.link import LongFrame, decode_frame
from meterkast.sim.gateway_devices import GatewayDevices

START = datetime(2026, 1, 5, 6, 20, tzinfo=UTC)
ASKED_AT = START + timedelta(hours=3, minutes=25)  # 09:45 UTC: the meters hold their 09:00 values
WAIT_S = 5.0  # pyserial's read time-out: bounds a failure only; replies come at once


def build(*, encrypted: bool = True) -> GatewayDevices:
    return GatewayDevices.build(START, random.Random(13), gas_meters=2, encrypted=encrypted)


def run_master(devices: GatewayDevices, master: Callable[[str], Any], *, pty: bool) -> tuple[Any, int]:
    """Serve ``devices`` (clock frozen at ASKED_AT) and run the blocking ``master(url)`` in a thread."""

    async def go() -> tuple[Any, int]:
        gateway = MbusGateway(devices.bus, SimClock(ASKED_AT), before=devices.advance)
        port = await gateway.start("127.0.0.1", 0)
        url = gateway.open_pty() if pty else f"socket://127.0.0.1:{port}"
        try:
            return await asyncio.to_thread(master, url), gateway.exchanges
        finally:
            await gateway.stop()

    return asyncio.run(go())


def read_long_frame(port: Any) -> bytes:
    """One long frame by its length field: ``recv_frame`` would parse the (encrypted) records as well."""
    head = port.read(4)
    assert len(head) == 4 and head[0] == 0x68 == head[3] and head[1] == head[2], head.hex()
    return bytes(head) + bytes(port.read(head[1] + 2))


def pymeterbus_requests(url: str, *, parse: bool) -> list[tuple[int, bytes, bytes, Any]]:
    """pyMeterBus's SND_NKE and REQ_UD2 at addresses 1 and 2: (address, ack, reply, parsed) for each."""
    port = serial.serial_for_url(url, baudrate=2400, timeout=WAIT_S)  # a pty: 8N1 (docs/mbus.md)
    out = []
    try:
        for address in (1, 2):
            meterbus.send_ping_frame(port, address)
            ack = meterbus.recv_frame(port, 1)
            meterbus.send_request_frame(port, address)
            if parse:
                reply = bytes(meterbus.recv_frame(port, 1))
                out.append((address, bytes(ack), reply, meterbus.load(reply)))
            else:
                reply = read_long_frame(port)
                header = meterbus.TelegramBodyHeader()
                header.load(list(reply[6:19]))  # CI 72 and the 12-byte long header (EN 13757-3 §5.4)
                out.append((address, bytes(ack), reply, header))
    finally:
        port.close()
    return out


def encrypted_master(url: str) -> list[tuple[int, bytes, bytes, Any]]:
    return pymeterbus_requests(url, parse=False)


def plain_master(url: str) -> list[tuple[int, bytes, bytes, Any]]:
    return pymeterbus_requests(url, parse=True)


@pytest.mark.parametrize("pty", [False, True], ids=["tcp", "pty"])
def test_pymeterbus_reads_every_gas_meter_and_the_listed_user_key_opens_it(pty: bool) -> None:
    devices = build()
    replies, exchanges = run_master(devices, encrypted_master, pty=pty)
    assert exchanges == 4
    listed = {d.primary_address: d for d in devices.devices()}
    twin = build()
    twin.advance(ASKED_AT)
    for address, ack, raw, header in replies:
        assert ack == b"\xe5", "SND_NKE is acknowledged with the single character E5h (EN 13757-2 §5.5)"
        device = listed[address]
        assert raw[5] == address
        assert "".join(f"{b:02X}" for b in header.id_nr) == device.ident
        assert header.manufacturer_field.decodeManufacturer == device.manufacturer == "ITG"
        assert header.measure_medium_field.parts == [0x03]  # gas
        assert raw[18] & 0x1F == 15, "configuration word: security mode 15 [P2-4.0.7 §5.1]"
        frame = decode_frame(raw)
        assert isinstance(frame, LongFrame)
        assert device.user_key is not None
        reply = read_gas_reply(frame, user_key=device.user_key)
        meter = twin.installation.gas_meters()[device.channel]
        assert meter.hourly_value is not None
        assert reply.value_m3 == meter.hourly_value.index_m3 and reply.value_m3 > 0
        assert reply.capture_time == meter.hourly_value.captured_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
        assert reply.equipment_identifier == device.meter_number


def test_pymeterbus_decodes_the_records_of_the_plain_gateway() -> None:
    """``--plain``: no user key installed, so pyMeterBus decodes the records itself (volume, fabrication
    number); its reading of the DSMR type I time point is its own (it is not checked here)."""
    devices = build(encrypted=False)
    replies, _ = run_master(devices, plain_master, pty=False)
    twin = build(encrypted=False)
    twin.advance(ASKED_AT)
    listed = {d.primary_address: d for d in devices.devices()}
    for address, _ack, _raw, telegram in replies:
        device = listed[address]
        assert device.user_key is None
        assert isinstance(telegram, meterbus.TelegramLong)
        records = {str(r.interpreted["type"]): r.interpreted["value"] for r in telegram.body.bodyPayload.records}
        meter = twin.installation.gas_meters()[device.channel]
        assert meter.hourly_value is not None
        volume = Decimal(str(records["VIFUnit.VOLUME"])).quantize(Decimal("0.001"))
        assert volume == meter.hourly_value.index_m3 > 0
        assert records["VIFUnit.FABRICATION_NO"] == device.meter_number


def test_without_the_user_key_the_payload_stays_closed() -> None:
    devices = build()
    (first, *_), _ = run_master(devices, encrypted_master, pty=False)
    frame = decode_frame(first[2])
    assert isinstance(frame, LongFrame)
    with pytest.raises(AuthenticationError):
        read_gas_reply(frame, user_key=devices.devices()[1].user_key)  # the other meter's key


def test_device_lines_and_the_keys_file(tmp_path: Path) -> None:
    devices = build().devices()
    assert [(d.channel, d.primary_address) for d in devices] == [(1, 1), (2, 2)]
    first = devices[0]
    shown = device_line(first, with_keys=True)
    assert first.user_key.hex().upper() in shown and f"secondary address {first.secondary_address}" in shown
    assert first.user_key.hex().upper() not in device_line(first, with_keys=False)
    assert first.secondary_address == f"{first.ident}8726{first.version:02X}03"  # ITG = 0x2687, LSB first

    path = tmp_path / "keys.json"
    write_keys(str(path), devices)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())["devices"]
    assert [bytes.fromhex(d["user_key"]) for d in saved] == [d.user_key for d in devices]
    assert saved[0]["medium"] == "gas" and saved[0]["meter_number"] == first.meter_number


def test_more_meters_than_channels_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"channels 1\.\.4"):
        GatewayDevices.build(START, random.Random(0), gas_meters=5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-tcp"], "--no-tcp without --pty"),
        (["--speed", "max"], "--speed max"),
        (["--gas-meters", "0"], "channels 1..4"),
    ],
)
def test_gateway_usage_errors_exit_2_with_a_message(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mbus", "gateway", "--port", "0", "--start", "2026-01-05T00:00:00Z", *args]) == 2
    assert message in capsys.readouterr().err
