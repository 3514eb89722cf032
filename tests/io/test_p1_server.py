"""The P1 server: ser2net-style fan-out over TCP, slow clients cut off, a pty, pacing on simulated time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from datetime import UTC, datetime, timedelta

import pytest

from meterkast.clock import SimClock
from meterkast.errors import LinkError
from meterkast.io.p1_server import ClockPacer, InstantPacer, P1Server
from meterkast.p1.decode import decode_telegram
from meterkast.p1.framer import P1Framer
from meterkast.sim.installation import Installation
from meterkast.sim.p1_source import P1Port

START = datetime(2025, 1, 14, 22, 30, tzinfo=UTC)


def port(version: str = "4", seed: int = 3) -> P1Port:
    return P1Port(Installation.build(START, random.Random(seed)), version)


def expected_stream(version: str, until: datetime, seed: int = 3) -> bytes:
    """The bytes a twin port sends for every telegram instant up to ``until``."""
    twin = port(version, seed)
    moment, out = twin.first_telegram_at(), bytearray()
    while moment <= until:
        _, data = twin.telegram(moment)
        assert data is not None
        out += data
        moment += twin.interval
    return bytes(out)


async def read_all(host: str, bound: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, bound)
    data = bytearray()
    while chunk := await reader.read(65536):
        data += chunk
    writer.close()
    return bytes(data)


def test_every_client_gets_every_telegram() -> None:
    until = START + timedelta(minutes=30)

    async def scenario() -> tuple[list[bytes], int]:
        server = P1Server(port(), InstantPacer(SimClock(START)))
        host, bound = await server.start_tcp("127.0.0.1", 0)
        readers = [asyncio.create_task(read_all(host, bound)) for _ in range(3)]
        await server.wait_for_clients(3)
        await server.run(until)
        await server.close()
        return list(await asyncio.gather(*readers)), server.stats.telegrams

    streams, sent = asyncio.run(scenario())
    assert sent == 181
    expected = expected_stream("4", until)
    assert streams == [expected] * 3
    assert len(P1Framer().feed(expected)) == 181


def test_a_slow_client_is_disconnected_and_the_others_get_everything(caplog: pytest.LogCaptureFixture) -> None:
    until = START + timedelta(seconds=2000)

    async def scenario() -> tuple[bytes, P1Server]:
        server = P1Server(port("5"), InstantPacer(SimClock(START)), backlog=8)
        host, bound = await server.start_tcp("127.0.0.1", 0)
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect((host, bound))  # connects and never reads
        fast = asyncio.create_task(read_all(host, bound))
        await server.wait_for_clients(2)
        await server.run(until)
        await server.close()
        stalled.close()
        return await fast, server

    with caplog.at_level(logging.WARNING, logger="meterkast.io.p1_server"):
        received, server = asyncio.run(scenario())
    assert server.stats.clients_dropped == 1
    assert "telegrams behind; disconnecting it" in caplog.text
    assert received == expected_stream("5", until)


def test_a_client_that_leaves_does_not_disturb_the_server() -> None:
    async def scenario() -> P1Server:
        server = P1Server(port(), InstantPacer(SimClock(START)))
        host, bound = await server.start_tcp("127.0.0.1", 0)
        _, writer = await asyncio.open_connection(host, bound)
        await server.wait_for_clients(1)
        writer.write(b"ignored: P1 has no return path\r\n")
        writer.close()
        await server.run(START + timedelta(minutes=10))
        await server.close()
        return server

    server = asyncio.run(scenario())
    assert server.stats.telegrams == 61
    assert server.clients == 0


def test_the_pty_carries_the_telegrams_to_a_serial_reader() -> None:
    async def scenario() -> tuple[bytes, P1Server]:
        server = P1Server(port(), InstantPacer(SimClock(START)))
        path = server.open_pty()
        assert path.startswith("/dev/")
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        received = bytearray()
        loop = asyncio.get_running_loop()

        def drain() -> None:
            with contextlib.suppress(BlockingIOError):
                received.extend(os.read(fd, 65536))

        loop.add_reader(fd, drain)
        await server.run(START + timedelta(minutes=5))
        for _ in range(100):
            await asyncio.sleep(0.001)
            if received.endswith(b"\r\n") and len(P1Framer().feed(bytes(received))) == 31:
                break
        loop.remove_reader(fd)
        os.close(fd)
        await server.close()
        return bytes(received), server

    received, _ = asyncio.run(scenario())
    telegrams = [decode_telegram(frame.data, strict=True) for frame in P1Framer().feed(received)]
    assert len(telegrams) == 31
    assert received == expected_stream("4", START + timedelta(minutes=5))


def test_nobody_reading_the_pty_never_blocks_the_server() -> None:
    async def scenario() -> P1Server:
        server = P1Server(port("5"), InstantPacer(SimClock(START)))
        server.open_pty()
        await server.run(START + timedelta(seconds=600))
        await server.close()
        return server

    server = asyncio.run(scenario())
    assert server.stats.telegrams == 601
    assert server.stats.pty_flushes > 0


class FakeTime:
    """A monotonic clock that only moves when the server sleeps (``slowness`` × what it asked for)."""

    def __init__(self, slowness: float = 1.0) -> None:
        self.now = 0.0
        self.slowness = slowness
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds * self.slowness


def test_telegrams_are_paced_on_the_simulated_clock() -> None:
    fake = FakeTime()
    clock = SimClock(START, speed=10.0, monotonic=fake.monotonic)
    server = P1Server(port(), ClockPacer(clock, 10.0, sleep=fake.sleep))
    asyncio.run(server.run(START + timedelta(minutes=1)))
    assert server.stats.telegrams == 7
    assert fake.sleeps == pytest.approx([1.0] * 6)  # 10 simulated seconds at 10× = 1 real second
    assert clock.now() == START + timedelta(minutes=1)


def test_a_server_that_falls_behind_skips_to_the_current_telegram() -> None:
    fake = FakeTime(slowness=30.0)  # every wait overshoots: the machine is too slow for the speed
    clock = SimClock(START, speed=10.0, monotonic=fake.monotonic)
    server = P1Server(port(), ClockPacer(clock, 10.0, sleep=fake.sleep), max_lag=timedelta(seconds=30))
    asyncio.run(server.run(START + timedelta(minutes=30)))
    assert server.stats.skipped > 0
    assert server.stats.telegrams + server.stats.skipped == 181


def test_a_port_in_use_is_a_link_error() -> None:
    async def scenario() -> None:
        first = P1Server(port(), InstantPacer(SimClock(START)))
        host, bound = await first.start_tcp("127.0.0.1", 0)
        try:
            with pytest.raises(LinkError, match="cannot listen"):
                await P1Server(port(), InstantPacer(SimClock(START))).start_tcp(host, bound)
        finally:
            await first.close()

    asyncio.run(scenario())
