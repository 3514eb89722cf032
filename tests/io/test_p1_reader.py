"""The P1 reader: transports (one contract for all), reconnecting with backoff, rate-limited reports, AES-GCM."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import tty
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
import serial

from meterkast.clock import SimClock
from meterkast.errors import AuthenticationError, InvalidInput, LinkError
from meterkast.io.p1_reader import (
    SMARTY_AUTHENTICATION_KEY,
    Backoff,
    CipherFramer,
    MemoryTransport,
    P1Transport,
    ReaderStats,
    SerialSettings,
    SerialTransport,
    TcpTransport,
    open_transport,
    p1_reader,
    serial_settings,
)
from meterkast.io.p1_server import InstantPacer, P1Server
from meterkast.p1.crc import crc16
from meterkast.p1.crypto import encrypt_telegram
from meterkast.p1.decode import decode_telegram
from meterkast.p1.telegram import Telegram
from meterkast.sim.installation import Installation
from meterkast.sim.p1_source import P1Cipher, P1Port

START = datetime(2025, 1, 14, 22, 30, tzinfo=UTC)
KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
PAYLOAD = [b"/MKS5\\2meterkast", b"-E\r\n\r\n1-3:0.2.8(40)\r\n", b"!ABCD\r\n", bytes(range(256))]


def telegrams(count: int, version: str = "4") -> list[bytes]:
    port = P1Port(Installation.build(START, random.Random(5)), version)
    moment, out = port.first_telegram_at(), []
    for _ in range(count):
        _, data = port.telegram(moment)
        assert data is not None
        out.append(data)
        moment += port.interval
    return out


def corrupt(telegram: bytes) -> bytes:
    """The same telegram with one digit changed: its CRC no longer matches."""
    return re.sub(rb"1-0:1\.7\.0\(\d", b"1-0:1.7.0(9", telegram, count=1)


async def collect(reader: AsyncIterator[Telegram], limit: int | None = None) -> list[Telegram]:
    out: list[Telegram] = []
    try:
        async for telegram in reader:
            out.append(telegram)
            if limit is not None and len(out) >= limit:
                break
    except LinkError:
        pass
    return out


# -- one contract for every transport ----------------------------------------------------------------

Opened = Callable[[list[bytes]], Awaitable[tuple[P1Transport, Callable[[], Awaitable[None]]]]]


async def open_memory(chunks: list[bytes]) -> tuple[P1Transport, Callable[[], Awaitable[None]]]:
    async def nothing() -> None:
        return None

    return MemoryTransport(chunks), nothing


async def chunk_server(chunks: list[bytes]) -> asyncio.Server:
    """A loopback P1 port that sends ``chunks`` to each client, then closes the connection."""
    async def send(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        writer.close()

    return await asyncio.start_server(send, "127.0.0.1", 0)


async def open_tcp(chunks: list[bytes]) -> tuple[P1Transport, Callable[[], Awaitable[None]]]:
    server = await chunk_server(chunks)
    host, bound = server.sockets[0].getsockname()[:2]
    transport = await open_transport(f"tcp://{host}:{bound}", serial_settings())

    async def stop() -> None:
        server.close()
        await server.wait_closed()

    return transport, stop


class Counting:
    """Counts what a transport delivered, so the test's cable is pulled only after the last byte."""

    def __init__(self, inner: P1Transport) -> None:
        self.inner = inner
        self.delivered = 0

    async def read(self) -> bytes:
        data = await self.inner.read()
        self.delivered += len(data)
        return data

    async def close(self) -> None:
        await self.inner.close()


async def open_pty(chunks: list[bytes]) -> tuple[P1Transport, Callable[[], Awaitable[None]]]:
    master, slave = os.openpty()
    tty.setraw(slave)
    transport = Counting(await open_transport(os.ttyname(slave), serial_settings("4")))
    total = sum(map(len, chunks))

    async def cable() -> None:
        for chunk in chunks:
            os.write(master, chunk)
        while transport.delivered < total:  # closing the master discards unread input
            await asyncio.sleep(0.001)
        os.close(master)  # the cable is pulled: the reader sees the end

    task = asyncio.create_task(cable())

    async def stop() -> None:
        await task
        os.close(slave)

    return transport, stop


@pytest.mark.parametrize("opener", [open_memory, open_tcp, open_pty], ids=["memory", "tcp", "serial-pty"])
def test_transport_contract(opener: Opened) -> None:
    """Every transport delivers the bytes in order, then says the stream ended: b"" or LinkError."""

    async def scenario() -> bytes:
        transport, stop = await opener(PAYLOAD)
        received = bytearray()
        try:
            while data := await transport.read():
                received += data
        except LinkError:
            pass
        await transport.close()
        await stop()
        return bytes(received)

    assert asyncio.run(scenario()) == b"".join(PAYLOAD)


def test_serial_settings_follow_the_version() -> None:
    # [P1-3.0 §5.1] 9600 7E1; [P1-4.0.7 §5.1], [P1-5.0.2 §6.1] 115200 8N1.
    assert serial_settings("2.2") == SerialSettings(9600, serial.SEVENBITS, serial.PARITY_EVEN, serial.STOPBITS_ONE)
    assert serial_settings("5") == SerialSettings(115200, serial.EIGHTBITS, serial.PARITY_NONE, serial.STOPBITS_ONE)
    assert serial_settings("4.2.2", 9600).baud == 9600
    with pytest.raises(InvalidInput, match="baud"):
        serial_settings("4", 0)


def test_urls_that_are_neither_tcp_nor_a_device_are_refused() -> None:
    for url in ("tcp://nohost", "http://example.org/p1", "tcp://:2000"):
        with pytest.raises(InvalidInput):
            asyncio.run(open_transport(url, serial_settings()))
    with pytest.raises(LinkError, match="cannot open serial port"):
        SerialTransport.open("/dev/does-not-exist-p1", serial_settings())


def test_an_unreachable_bridge_is_a_link_error() -> None:
    with pytest.raises(LinkError, match="cannot reach"):
        asyncio.run(TcpTransport.connect("127.0.0.1", 1))


# -- reading from the server -------------------------------------------------------------------------


@asynccontextmanager
async def running_server(version: str, minutes: int, cipher: P1Cipher | None = None) -> AsyncIterator[str]:
    port = P1Port(Installation.build(START, random.Random(5)), version, cipher=cipher)
    server = P1Server(port, InstantPacer(SimClock(START)))
    host, bound = await server.start_tcp("127.0.0.1", 0)

    async def emit() -> None:
        await server.wait_for_clients(1)
        await server.run(START + timedelta(minutes=minutes))
        await server.close()

    task = asyncio.create_task(emit())
    yield f"tcp://{host}:{bound}"
    await task


def test_reader_gets_every_telegram_from_the_server() -> None:
    async def scenario() -> list[Telegram]:
        async with running_server("4.2", 10) as url:
            return await collect(p1_reader(url, max_reconnects=0))

    received = asyncio.run(scenario())
    assert [t.timestamp for t in received] == [decode_telegram(d).timestamp for d in telegrams(61, "4.2")]
    assert all(t.crc_ok for t in received)


def test_reader_decrypts_with_the_key() -> None:
    async def scenario() -> list[Telegram]:
        async with running_server("5", 1, P1Cipher(KEY, SMARTY_AUTHENTICATION_KEY)) as url:
            return await collect(p1_reader(url, KEY, version="5", max_reconnects=0))

    received = asyncio.run(scenario())
    assert len(received) == 61
    assert received[0].timestamp == START


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_a_wrong_key_ends_the_reader_after_as_many_frames_as_asked(limit: int) -> None:
    frames = [
        encrypt_telegram(t, encryption_key=KEY, authentication_key=SMARTY_AUTHENTICATION_KEY,
                         system_title=b"MKS\x00\x00\x00\x00\x01", invocation_counter=n)
        for n, t in enumerate(telegrams(5), start=1)
    ]  # fmt: skip

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        return MemoryTransport([b"\x00garbage" + b"".join(frames)])

    async def scenario() -> None:
        async for _ in p1_reader("memory", bytes(16), connect=connect, max_auth_failures=limit):
            pass

    with pytest.raises(AuthenticationError, match=f"{limit} frames in a row"):
        asyncio.run(scenario())


def test_a_wrong_key_is_reported_and_the_reader_reads_on(caplog: pytest.LogCaptureFixture) -> None:
    good = telegrams(1)[0]
    frames = [
        encrypt_telegram(good, encryption_key=KEY, authentication_key=SMARTY_AUTHENTICATION_KEY,
                         system_title=b"MKS\x00\x00\x00\x00\x01", invocation_counter=n)
        for n in range(1, 6)
    ]  # fmt: skip

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        # Four forged frames (another key), then a genuine one: the forgeries do not stop the reader.
        forged = [
            encrypt_telegram(good, encryption_key=bytes(16), authentication_key=SMARTY_AUTHENTICATION_KEY,
                             system_title=b"MKS\x00\x00\x00\x00\x01", invocation_counter=n)
            for n in range(1, 5)
        ]  # fmt: skip
        return MemoryTransport([b"".join(forged), frames[4]])

    with caplog.at_level(logging.WARNING, logger="meterkast.io.p1_reader"):
        got = asyncio.run(collect(p1_reader("memory", KEY, connect=connect, max_reconnects=0)))
    assert len(got) == 1 and got[0].crc_ok is True
    assert any(r.levelno == logging.ERROR and "check the key" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("chunk", [1, 7, 64, 100_000])
def test_cipher_framer_finds_frames_in_any_chunking(chunk: int) -> None:
    frames = [
        encrypt_telegram(t, encryption_key=KEY, authentication_key=SMARTY_AUTHENTICATION_KEY,
                         system_title=b"MKS\x00\x00\x00\x00\x01", invocation_counter=n)
        for n, t in enumerate(telegrams(3), start=1)
    ] + [encrypt_telegram(b"/x", encryption_key=KEY, authentication_key=KEY, system_title=bytes(8),
                          invocation_counter=9)]  # fmt: skip
    stream = b"\xdb\x07noise" + frames[0] + b"\r\n" + frames[1] + frames[2] + b"\xdb" + frames[3]
    framer = CipherFramer()
    found = [f for i in range(0, len(stream), chunk) for f in framer.feed(stream[i : i + chunk])]
    assert found == frames
    assert framer.garbage_bytes == len(b"\xdb\x07noise\r\n\xdb")


# -- reconnecting and reporting ----------------------------------------------------------------------


def test_reconnects_with_exponential_backoff_reset_by_a_good_telegram() -> None:
    good = telegrams(2)
    attempts: list[str] = []

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        attempts.append("connect")
        if len(attempts) == 3:
            return MemoryTransport(good)
        raise LinkError("connection refused")

    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    async def scenario() -> tuple[list[Telegram], ReaderStats]:
        stats = ReaderStats()
        reader = p1_reader("tcp://p1:2000", connect=connect, sleep=sleep, max_reconnects=3, stats=stats)
        got: list[Telegram] = []
        with pytest.raises(LinkError, match="connection refused"):
            async for telegram in reader:
                got.append(telegram)
        return got, stats

    got, stats = asyncio.run(scenario())
    assert len(got) == 2
    assert delays == [0.5, 1.0, 0.5, 1.0, 2.0]  # no wall-clock waiting: sleep is injected
    assert (stats.connects, stats.reconnects, stats.telegrams) == (1, 5, 2)


def test_each_retry_is_said_with_its_reason_and_count_and_giving_up_too(caplog: pytest.LogCaptureFixture) -> None:
    """A reader that cannot reach its port says why, which retry and the limit; then gives up (issue 13)."""

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        raise LinkError("cannot reach the P1 bridge at tcp://p1:2000: connection refused")

    async def sleep(_seconds: float) -> None:
        return None

    async def scenario(limit: int | None, attempts: int) -> None:
        reader = p1_reader("tcp://p1:2000", connect=connect, sleep=sleep, max_reconnects=limit)
        try:
            for _ in range(attempts):
                await anext(reader)
        finally:
            await reader.aclose()

    with caplog.at_level(logging.WARNING), pytest.raises(LinkError, match=r"refused \(gave up after 2 retries\)$"):
        asyncio.run(scenario(2, 1))
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "P1 reader: cannot reach the P1 bridge at tcp://p1:2000: connection refused; retry 1 (of 2) in 0.5 s",
        "P1 reader: cannot reach the P1 bridge at tcp://p1:2000: connection refused; retry 2 (of 2) in 1.0 s",
    ]


def test_without_a_limit_each_retry_says_so(caplog: pytest.LogCaptureFixture) -> None:
    tries: list[int] = []

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        tries.append(1)
        if len(tries) > 3:
            raise asyncio.CancelledError  # the user's Ctrl-C, after three refusals
        raise LinkError("connection refused")

    async def sleep(_seconds: float) -> None:
        return None

    async def scenario() -> None:
        async for _ in p1_reader("tcp://p1:2000", connect=connect, sleep=sleep):
            pass

    with caplog.at_level(logging.WARNING), pytest.raises(asyncio.CancelledError):
        asyncio.run(scenario())
    assert [r.getMessage() for r in caplog.records][-1] == "P1 reader: connection refused; retry 3 (no limit) in 2.0 s"


def test_backoff_doubles_up_to_its_ceiling() -> None:
    backoff = Backoff()
    assert [backoff.next_delay() for _ in range(10)] == [0.5, 1, 2, 4, 8, 16, 32, 60, 60, 60]
    backoff.reset()
    assert backoff.next_delay() == 0.5


class TickingTransport:
    """One chunk per read; every read moves a fake monotonic clock one second on."""

    def __init__(self, chunks: list[bytes], clock: list[float]) -> None:
        self._chunks = chunks
        self._clock = clock

    async def read(self) -> bytes:
        self._clock[0] += 1.0
        return self._chunks.pop(0) if self._chunks else b""

    async def close(self) -> None:
        return None


def test_a_crc_storm_is_reported_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    good = telegrams(300)
    stream = [corrupt(t) if n % 3 else t for n, t in enumerate(good)]  # 200 bad, 100 good, over 300 s
    clock = [0.0]

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        return TickingTransport(list(stream), clock)

    async def scenario() -> tuple[list[Telegram], ReaderStats]:
        stats = ReaderStats()
        reader = p1_reader("tcp://p1:2000", connect=connect, monotonic=lambda: clock[0], stats=stats,
                           max_reconnects=0)  # fmt: skip
        return await collect(reader), stats

    with caplog.at_level(logging.WARNING, logger="meterkast.io.p1_reader"):
        got, stats = asyncio.run(scenario())
    assert (len(got), stats.crc_errors) == (100, 200)
    reports = [r.getMessage() for r in caplog.records if "bad CRC" in r.getMessage()]
    assert len(reports) == 5  # at 2 s, then once per 60 s: 62, 122, 182, 242
    counts = [int(m.split()[2]) for m in reports]
    assert counts[0] == 1 and sum(counts) <= 200 and all(c >= 39 for c in counts[1:])
    assert "in the last 60 s" in reports[1]


def test_a_bad_crc_can_be_passed_through() -> None:
    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        return MemoryTransport([corrupt(telegrams(1)[0])])

    async def scenario() -> list[Telegram]:
        return await collect(p1_reader("memory", connect=connect, skip_bad_crc=False, max_reconnects=0))

    (telegram,) = asyncio.run(scenario())
    assert telegram.crc_ok is False


# -- no input stops the reader (issue 10) ------------------------------------------------------------

EVIL = b"/ISk5\\2MT3\n!3F97\r\n"  # valid CRC, no data lines: once crashed P1Decoder (TypeError)


def hostile_stream() -> tuple[list[bytes], bytes]:
    """Chunks a hostile P1 port sends, ending in a good telegram without CR LF after its CRC."""
    good = telegrams(3)
    bad_line = good[1].replace(b"1-0:1.8.1(", b"1-0:1.8.1(x", 1)
    chunks = [
        EVIL,
        EVIL,
        b"\x00\xff garbage \xab!!!//\r\n",
        corrupt(good[0]),
        bytes(range(256)) * 4,
        good[1][:120],  # cut off by the next telegram
        bad_line[: bad_line.index(b"!") + 1] + b"%04X\r\n" % crc16(bad_line[: bad_line.index(b"!") + 1]),
        b"/" + b"A" * 20_000,  # grows past the framer's bound
        good[0],
        good[2].rstrip(b"\r\n"),  # end of input ends it
    ]
    return chunks, good[2]


def check_hostile(got: list[Telegram], stats: ReaderStats, last: bytes) -> None:
    assert [t.values for t in got[:2]] == [{}, {}]  # the evil telegram, twice, read as what it is
    assert got[2].errors and got[2].errors[0].text.startswith("1-0:1.8.1(x")  # yielded with its bad line
    assert got[2].decimal("1-0:1.8.2") is not None  # ... and its good ones
    assert got[3].crc_ok is True and got[4] == decode_telegram(last)
    assert len(got) == 5
    # The corrupt telegram, and three stretches of bytes(range(256)) from a "/" to a '!"#...': text
    # where a CRC belongs is a damaged CRC, never "no CRC" (those are not verified, so skipped).
    assert stats.crc_errors == 4 and stats.line_errors == 1


def test_a_hostile_port_never_stops_the_reader_memory(caplog: pytest.LogCaptureFixture) -> None:
    chunks, last = hostile_stream()

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        return MemoryTransport(list(chunks))

    stats = ReaderStats()
    with caplog.at_level(logging.WARNING, logger="meterkast.io.p1_reader"):
        got = asyncio.run(collect(p1_reader("memory", connect=connect, max_reconnects=0, stats=stats)))
    check_hostile(got, stats, last)
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "bad CRC" in messages and "unreadable lines" in messages


def test_a_hostile_port_never_stops_the_reader_tcp() -> None:
    chunks, last = hostile_stream()

    async def scenario() -> tuple[list[Telegram], ReaderStats]:
        server = await chunk_server(chunks)
        port = server.sockets[0].getsockname()[1]
        stats = ReaderStats()
        async with server:
            got = await collect(p1_reader(f"tcp://127.0.0.1:{port}", max_reconnects=0, stats=stats))
        return got, stats

    got, stats = asyncio.run(scenario())
    check_hostile(got, stats, last)


def test_random_bytes_never_escape_the_session() -> None:
    rng = random.Random(10)
    good = telegrams(2)
    chunks = [rng.randbytes(rng.randrange(1, 300)) for _ in range(200)]
    chunks += [bytes(rng.choice(b"/!()*:.-0123456789ABCDEF\r\nSW") for _ in range(200)) for _ in range(200)]
    chunks += good

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        return MemoryTransport(list(chunks))

    got = asyncio.run(collect(p1_reader("memory", connect=connect, max_reconnects=0)))
    assert [t.timestamp for t in got[-2:]] == [decode_telegram(g).timestamp for g in good]


def test_a_damaged_or_missing_crc_is_never_used_as_good() -> None:
    """'!Q002' where '!1002' was sent, or a DSMR 4 telegram cut to '!': not verified, so skipped."""
    good = telegrams(3)
    changed = corrupt(good[1])
    bang = changed.index(b"!")
    garbled = changed[: bang + 1] + b"Q" + changed[bang + 2 :]
    missing = good[2][: good[2].index(b"!") + 1] + b"\r\n"
    stream = [good[0], garbled, missing, good[0]]

    async def scenario(skip: bool) -> tuple[list[Telegram], ReaderStats]:
        stats = ReaderStats()

        async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
            return MemoryTransport(list(stream))

        reader = p1_reader("memory", connect=connect, skip_bad_crc=skip, max_reconnects=0, stats=stats)
        return await collect(reader), stats

    got, stats = asyncio.run(scenario(True))
    assert [t.crc_ok for t in got] == [True, True] and stats.crc_errors == 2
    got, stats = asyncio.run(scenario(False))
    assert [t.crc_ok for t in got] == [True, False, False, True]
    assert all("CRC" in t.errors[0].reason for t in got[1:3])


def test_garbage_between_telegrams_is_counted_reported_and_read_past(caplog: pytest.LogCaptureFixture) -> None:
    good = telegrams(4)
    stream = [b"\xffnoise", good[0], b"\r\n\0", good[1].rstrip(b"\r\n") + b" junk\r\n", good[2], b"more noise", good[3]]

    async def connect(_url: str, _settings: SerialSettings) -> P1Transport:
        return MemoryTransport(list(stream))

    async def scenario() -> tuple[list[Telegram], ReaderStats]:
        stats = ReaderStats()
        return await collect(p1_reader("memory", connect=connect, max_reconnects=0, stats=stats)), stats

    with caplog.at_level(logging.WARNING, logger="meterkast.io.p1_reader"):
        got, stats = asyncio.run(scenario())
    assert [t.crc_ok for t in got] == [True] * 4 and all(not t.errors for t in got)
    assert stats.garbage_bytes == len(b"\xffnoise") + len(b" junk\r\n") + len(b"more noise")
    reports = [r.getMessage() for r in caplog.records if "garbage" in r.getMessage()]
    assert len(reports) == 1 and "noise" in reports[0]  # rate-limited: once per minute
