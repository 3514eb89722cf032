"""One contract for every M-Bus transport: the in-memory bus, the TCP gateway and a serial line on a pty.

The same ``BusMaster`` code runs over each; the slaves are simple fixed responders built from a real
libmbus frame, so the contract is about the link (addressing, retries, echo, collisions), not the data.
"""

from __future__ import annotations

import asyncio
import os
import random
import tty
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import serial

from meterkast.clock import SimClock
from meterkast.errors import BusCollision, LinkError, NoReply
from meterkast.io.mbus_gateway import MbusGateway
from meterkast.io.mbus_serial import DSMR_P2_BAUD as SERIAL_BAUD
from meterkast.io.mbus_serial import SerialTransport
from meterkast.io.mbus_tcp import TcpTransport
from meterkast.io.mbus_transport import VirtualTransport
from meterkast.mbus.framer import Direction, Framer
from meterkast.mbus.link import E5, LongFrame, ShortFrame, decode_frame, encode_frame
from meterkast.mbus.master import BusMaster, MbusTransport, RetryPolicy
from meterkast.mbus.virtual import BusFaults, VirtualBus

START = datetime(2026, 3, 1, tzinfo=UTC)
# A real RSP_UD (Itron CYBLE, libmbus test-frames/ACW_Itron-CYBLE-M-Bus-14.hex); the address is rewritten.
CYBLE = bytes.fromhex(
    "685656680801722315010977041407250000000C78231501090D7C084449202E747375630A353537363730414C3930046D1A"
    "0ECD13027C09656D6974202E746162D40904131F00000004937F0000000044131F0000000F00011FA916"
)


class FixedSlave:
    """Answers SND_NKE with E5 and REQ_UD2 with a fixed RSP_UD, at one primary address."""

    def __init__(self, address: int, reply: bytes = CYBLE) -> None:
        frame = decode_frame(reply)
        assert isinstance(frame, LongFrame)
        self.address = address
        self.reply = encode_frame(LongFrame(frame.control, address, frame.ci, frame.data))
        self.requests = 0

    def on_request(self, now: datetime, request: bytes) -> bytes | None:
        frame = decode_frame(request)
        if not isinstance(frame, ShortFrame) or frame.address != self.address:
            return None
        self.requests += 1
        if frame.control == 0x40:
            return encode_frame(E5)
        if frame.control & 0xDF == 0x5B:
            return self.reply
        return None


def make_bus(*slaves: FixedSlave, faults: BusFaults | None = None, seed: int = 1) -> VirtualBus:
    bus = VirtualBus(random.Random(seed), faults or BusFaults())
    for slave in slaves:
        bus.attach(slave)
    return bus


@asynccontextmanager
async def virtual(bus: VirtualBus) -> AsyncIterator[MbusTransport]:
    transport = VirtualTransport(bus, SimClock(START))
    yield transport
    await transport.close()


@asynccontextmanager
async def tcp(bus: VirtualBus) -> AsyncIterator[MbusTransport]:
    gateway = MbusGateway(bus, SimClock(START), late_after_s=0.05)
    port = await gateway.start()
    transport = await TcpTransport.connect("127.0.0.1", port)
    try:
        yield transport
    finally:
        await transport.close()
        await gateway.stop()


@asynccontextmanager
async def serial_pty(bus: VirtualBus) -> AsyncIterator[MbusTransport]:
    """pyserial at 2400 8E1 on a pseudo-terminal; the far end puts each framed request on the bus."""
    controller, device = os.openpty()
    tty.setraw(controller)
    framer = Framer(accept=Direction.FROM_MASTER)
    clock = SimClock(START)

    def on_bytes() -> None:
        for frame in framer.feed(os.read(controller, 4096)):
            heard = bus.transact(clock.now(), encode_frame(frame))
            os.write(controller, heard.now)  # late replies are the TCP gateway's business

    loop = asyncio.get_running_loop()
    loop.add_reader(controller, on_bytes)
    # The line settings are 2400 8E1 on real hardware (test_serial_line_settings); this kernel's
    # pseudo-terminals refuse PARENB (EINVAL), so the pty runs without parity.
    transport = SerialTransport(serial.Serial(os.ttyname(device), SERIAL_BAUD, timeout=0))
    try:
        yield transport
    finally:
        await transport.close()
        loop.remove_reader(controller)
        os.close(controller)
        os.close(device)


TRANSPORTS: dict[str, Callable[[VirtualBus], Any]] = {"virtual": virtual, "tcp": tcp, "serial": serial_pty}
FAST = RetryPolicy(attempts=3, reply_wait_s=0.03)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(params=sorted(TRANSPORTS))
def connect(request: pytest.FixtureRequest) -> Callable[[VirtualBus], Any]:
    return TRANSPORTS[request.param]


def test_reset_and_read_one_slave(connect: Callable[[VirtualBus], Any]) -> None:
    slave = FixedSlave(5)

    async def go() -> LongFrame:
        async with connect(make_bus(slave, FixedSlave(6))) as transport:
            master = BusMaster(transport, FAST)
            await master.reset(5)
            return await master.request_data(5)

    reply = run(go())
    assert encode_frame(reply) == slave.reply
    assert slave.requests == 2


def test_silence_is_no_reply_after_every_attempt(connect: Callable[[VirtualBus], Any]) -> None:
    async def go() -> BusMaster:
        async with connect(make_bus(FixedSlave(5))) as transport:
            master = BusMaster(transport, FAST)
            with pytest.raises(NoReply, match="address 9: no answer after 3 attempts"):
                await master.request_data(9)
            return master

    master = run(go())
    assert (master.stats.attempts, master.stats.retries, master.stats.no_reply) == (3, 2, 1)


def test_two_slaves_on_one_address_collide(connect: Callable[[VirtualBus], Any]) -> None:
    other = bytes.fromhex("6808086808077278563412000116")  # any other RSP_UD from the same address

    async def go() -> None:
        async with connect(make_bus(FixedSlave(7), FixedSlave(7, _fix(other)))) as transport:
            master = BusMaster(transport, FAST)
            await master.reset(7)  # E5 AND E5 = E5: a reset cannot see the collision
            with pytest.raises(BusCollision, match="address 7: replies were garbled on 3 attempts"):
                await master.request_data(7)

    run(go())


def test_echoing_converter_is_not_mistaken_for_a_reply(connect: Callable[[VirtualBus], Any]) -> None:
    slave = FixedSlave(5)

    async def go() -> LongFrame:
        async with connect(make_bus(slave, faults=BusFaults(echo=True))) as transport:
            return await BusMaster(transport, FAST).request_data(5)

    assert encode_frame(run(go())) == slave.reply


def test_noisy_line_is_survived_by_retries(connect: Callable[[VirtualBus], Any]) -> None:
    slave = FixedSlave(5)

    async def go() -> tuple[list[LongFrame], BusMaster]:
        bus = make_bus(slave, faults=BusFaults(flip_bit=0.004, no_reply=0.2), seed=3)
        async with connect(bus) as transport:
            master = BusMaster(transport, RetryPolicy(attempts=6, reply_wait_s=0.03))
            return [await master.request_data(5) for _ in range(20)], master

    replies, master = run(go())
    assert all(encode_frame(r) == slave.reply for r in replies)
    assert master.stats.retries > 0  # the seed makes some attempts fail; none of them leaked through


def test_scan_finds_slaves_and_collisions(connect: Callable[[VirtualBus], Any]) -> None:
    async def go() -> tuple[list[int], list[int]]:
        bus = make_bus(FixedSlave(1), FixedSlave(4), FixedSlave(6), FixedSlave(6, _fix(CYBLE[:-3] + b"\x00\x00\x16")))
        async with connect(bus) as transport:
            hits, collisions = await BusMaster(transport, FAST).scan_primary(range(8))
        return [h.address for h in hits], collisions

    assert run(go()) == ([1, 4], [6])


def test_closed_transport_raises_link_error(connect: Callable[[VirtualBus], Any]) -> None:
    async def go() -> None:
        async with connect(make_bus(FixedSlave(5))) as transport:
            await transport.close()
            with pytest.raises(LinkError):
                await BusMaster(transport, FAST).request_data(5)

    run(go())


def _fix(frame: bytes) -> bytes:
    """Recompute the checksum of a long frame whose data we edited."""
    body = frame[4:-2]
    return frame[:4] + body + bytes((sum(body) & 0xFF, 0x16))


def test_serial_line_settings_are_dsmr_p2() -> None:
    """2400 Bd, 8 data bits, even parity, 1 stop bit, fixed at all times [P2-4.0.7 §3.1.4 Table 3]."""
    transport = SerialTransport.open("loop://")
    port = transport.port
    assert (port.baudrate, port.bytesize, port.parity, port.stopbits) == (2400, 8, "E", 1)
    run(transport.close())


def test_missing_serial_device_is_a_link_error() -> None:
    with pytest.raises(LinkError, match="cannot open M-Bus serial port /nonexistent/ttyUSB9"):
        SerialTransport.open("/nonexistent/ttyUSB9")
