"""A virtual M-Bus served on a TCP port, the way libmbus/ser2net gateways expose a real one.

The byte stream is raw EN 13757-2 (no extra framing), so ``libmbus``'s ``mbus-tcp-scan`` and our own
``TcpTransport`` talk to it as to real hardware. Requests from every client are framed and put on the
one bus in arrival order (a bus carries one exchange at a time; the lock keeps that true). A late reply
(``BusFaults.late_reply``) is written ``late_after_s`` after the prompt part, when a master that waits
less has already given up, as on a real slow line.
"""

from __future__ import annotations

import asyncio
import contextlib

from meterkast.clock import Clock
from meterkast.io.listen import bind_tcp
from meterkast.io.tcp import close_quietly
from meterkast.mbus.framer import Direction, Framer
from meterkast.mbus.link import encode_frame
from meterkast.mbus.virtual import VirtualBus


class MbusGateway:
    def __init__(self, bus: VirtualBus, clock: Clock, late_after_s: float = 1.0) -> None:
        self.bus = bus
        self.clock = clock
        self.late_after_s = late_after_s
        self._lock = asyncio.Lock()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (0 picks a free one; ``::`` is dual-stack, ``io.listen``)."""
        self._server = await asyncio.start_server(self._serve, sock=bind_tcp(host, port, what="the M-Bus gateway"))
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer(accept=Direction.FROM_MASTER)
        try:
            while data := await reader.read(4096):
                for frame in framer.feed(data):
                    await self._forward(encode_frame(frame), writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the master went away; the bus stays up for the next one
        finally:
            await close_quietly(writer)

    async def _forward(self, request: bytes, writer: asyncio.StreamWriter) -> None:
        async with self._lock:
            heard = self.bus.transact(self.clock.now(), request)
        if heard.now:
            writer.write(heard.now)
            await writer.drain()
        if heard.late:
            task = asyncio.create_task(self._write_late(writer, heard.late))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write_late(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        await asyncio.sleep(self.late_after_s)
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.write(data)
            await writer.drain()
