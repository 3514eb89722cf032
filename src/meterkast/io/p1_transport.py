"""The P1 reader's transports: a TCP bridge, a serial port, and the in-memory twin (SYSTEM P1, P2).

[P1-4.2.2 §5.1] (115200 baud 8N1), [P1-5.0.2 §6.1], [P1-3.0 §5.1] (DSMR 2.2/3: 9600 baud 7E1).

Rules this module keeps: a transport is small (``P1Transport``: ``read() -> bytes``, ``b""`` at end of
stream; ``close()``); ``MemoryTransport`` is the in-memory twin the tests use; foreign errors (socket,
pyserial) become ``LinkError`` at this boundary, with the port named.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import serial

from meterkast.errors import InvalidInput, LinkError
from meterkast.io.tcp import close_quietly, open_tcp
from meterkast.p1.specs import spec_for

READ_CHUNK = 4096


@dataclass(frozen=True, slots=True)
class SerialSettings:
    baud: int
    bytesize: int
    parity: str
    stopbits: float


SERIAL_SETTINGS: dict[str, SerialSettings] = {  # by TelegramSpec name
    "2.2": SerialSettings(9600, serial.SEVENBITS, serial.PARITY_EVEN, serial.STOPBITS_ONE),  # [P1-3.0 §5.1]
    "4": SerialSettings(115200, serial.EIGHTBITS, serial.PARITY_NONE, serial.STOPBITS_ONE),  # [P1-4.0.7 §5.1]
    "4.2": SerialSettings(115200, serial.EIGHTBITS, serial.PARITY_NONE, serial.STOPBITS_ONE),  # [P1-4.2.2 §5.1]
    "5": SerialSettings(115200, serial.EIGHTBITS, serial.PARITY_NONE, serial.STOPBITS_ONE),  # [P1-5.0.2 §6.1]
}


def serial_settings(version: str = "4", baud: int | None = None) -> SerialSettings:
    settings = SERIAL_SETTINGS[spec_for(version).name]
    if baud is None:
        return settings
    if baud <= 0:
        raise InvalidInput(f"--baud {baud} must be a positive number of bits per second")
    return SerialSettings(baud, settings.bytesize, settings.parity, settings.stopbits)


# -- transports ---------------------------------------------------------------------------------------


class P1Transport(Protocol):
    async def read(self) -> bytes:
        """The next bytes received; ``b""`` when the other end closed."""
        ...

    async def close(self) -> None: ...


class MemoryTransport:
    """The in-memory twin: yields the given chunks, then end of stream."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = list(chunks)
        self.closed = False

    async def read(self) -> bytes:
        if self.closed:
            raise LinkError("memory P1 transport is closed")
        await asyncio.sleep(0)
        return self._chunks.pop(0) if self._chunks else b""

    async def close(self) -> None:
        self.closed = True


class TcpTransport:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str) -> None:
        self._reader = reader
        self._writer = writer
        self.where = where

    @classmethod
    async def connect(cls, host: str, port: int, timeout_s: float = 10.0) -> TcpTransport:
        reader, writer, where = await open_tcp(host, port, timeout_s, "the P1 bridge")
        return cls(reader, writer, where)

    async def read(self) -> bytes:
        try:
            return await self._reader.read(READ_CHUNK)
        except OSError as exc:
            raise LinkError(f"P1 bridge {self.where} dropped the connection: {exc}") from exc

    async def close(self) -> None:
        await close_quietly(self._writer)


class SerialTransport:
    """A serial port (USB P1 cable, pty) read without threads: the event loop watches its descriptor."""

    def __init__(self, port: serial.Serial, where: str) -> None:
        self._port = port
        self.where = where

    @classmethod
    def open(cls, path: str, settings: SerialSettings) -> SerialTransport:
        try:
            port = serial.Serial(
                path,
                baudrate=settings.baud,
                bytesize=settings.bytesize,
                parity=settings.parity,
                stopbits=settings.stopbits,
                timeout=0,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise LinkError(f"cannot open serial port {path}: {exc}") from exc
        return cls(port, path)

    async def read(self) -> bytes:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._port.fileno()
        loop.add_reader(fd, _set_once, ready)
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        try:
            return bytes(self._port.read(max(1, self._port.in_waiting)))
        except (serial.SerialException, OSError) as exc:
            # pyserial reports a vanished device (or a closed pty master) as "ready but no data".
            raise LinkError(f"serial port {self.where} failed: {exc}") from exc

    async def close(self) -> None:
        self._port.close()


def _set_once(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


Connect = Callable[[str, SerialSettings], Awaitable[P1Transport]]


async def open_transport(url: str, settings: SerialSettings) -> P1Transport:
    """``tcp://host:port`` or a serial device path."""
    if url.startswith("tcp://"):
        host, sep, port = url[len("tcp://") :].rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise InvalidInput(f"{url!r} is not tcp://host:port")
        return await TcpTransport.connect(host.strip("[]"), int(port))
    if "://" in url:
        raise InvalidInput(f"{url!r}: use tcp://host:port or a serial device path such as /dev/ttyUSB0")
    return SerialTransport.open(url, settings)
