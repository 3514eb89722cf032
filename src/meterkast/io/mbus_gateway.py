"""A virtual M-Bus served on a TCP port and a pseudo-terminal, the way libmbus/ser2net gateways expose a
real one.

The byte stream is raw EN 13757-2 (no extra framing), so ``libmbus``'s ``mbus-tcp-scan``, pyMeterBus and
our own ``TcpTransport`` talk to it as to real hardware. Requests from every client (TCP or pty) are
framed and put on the one bus in arrival order (a bus carries one exchange at a time; the lock keeps
that true). A late reply (``BusFaults.late_reply``) is written ``late_after_s`` after the prompt part,
when a master that waits less has already given up, as on a real slow line.

``before(now)`` runs under the lock before each exchange: ``meterkast mbus gateway`` advances the
simulated installation there, so a reply always shows the meters at the instant it was asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import Callable
from datetime import datetime

from meterkast.clock import Clock
from meterkast.io.listen import bind_tcp
from meterkast.io.tcp import close_quietly
from meterkast.mbus.framer import Direction, Framer
from meterkast.mbus.link import encode_frame
from meterkast.mbus.virtual import Heard, VirtualBus


class MbusGateway:
    def __init__(
        self,
        bus: VirtualBus,
        clock: Clock,
        late_after_s: float = 1.0,
        *,
        before: Callable[[datetime], object] | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.late_after_s = late_after_s
        self.before = before
        self.exchanges = 0
        self._lock = asyncio.Lock()
        self._server: asyncio.Server | None = None
        self._ptys: list[MbusPty] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the port (0 picks a free one; ``::`` is dual-stack, ``io.listen``)."""
        self._server = await asyncio.start_server(self._serve, sock=bind_tcp(host, port, what="the M-Bus gateway"))
        return int(self._server.sockets[0].getsockname()[1])

    def open_pty(self) -> str:
        """A pseudo-terminal on the same bus; returns the path a serial master opens (``/dev/pts/N``)."""
        pty = MbusPty(self)
        self._ptys.append(pty)
        return pty.path

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for pty in self._ptys:
            pty.close()
        for task in list(self._tasks):
            task.cancel()

    async def answer(self, request: bytes) -> Heard:
        """One exchange on the bus, in turn with every other client's."""
        async with self._lock:
            now = self.clock.now()
            if self.before is not None:
                self.before(now)
            self.exchanges += 1
            return self.bus.transact(now, request)

    def later(self, write: Callable[[bytes], None], data: bytes) -> None:
        """Write ``data`` after ``late_after_s``: the late part of a reply."""
        task = asyncio.create_task(self._write_late(write, data))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        heard = await self.answer(request)
        if heard.now:
            writer.write(heard.now)
            await writer.drain()
        if heard.late:
            self.later(writer.write, heard.late)

    async def _write_late(self, write: Callable[[bytes], None], data: bytes) -> None:
        await asyncio.sleep(self.late_after_s)
        with contextlib.suppress(ConnectionError, RuntimeError, OSError):
            write(data)


class MbusPty:
    """The slave end of a pseudo-terminal that a serial M-Bus master opens like its level converter.

    Raw mode (no echo, no CR/LF translation), 2400 baud. A pty carries bytes whatever the line settings
    say, and Linux ptys may refuse a parity setting (``EINVAL`` from ``tcsetattr`` with ``PARENB``): open
    it 8N1 (docs/mbus.md, "mbus gateway").
    """

    def __init__(self, gateway: MbusGateway) -> None:
        self._gateway = gateway
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        attrs = termios.tcgetattr(self._slave)
        attrs[4] = attrs[5] = termios.B2400
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._framer = Framer(accept=Direction.FROM_MASTER)
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._master, self._readable)
        self._task = self._loop.create_task(self._run())

    def _readable(self) -> None:
        try:
            data = os.read(self._master, 4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no process has the slave open just now; wait for the next master
            return
        for frame in self._framer.feed(data):
            self._queue.put_nowait(encode_frame(frame))

    async def _run(self) -> None:
        while True:
            request = await self._queue.get()
            heard = await self._gateway.answer(request)
            if heard.now:
                self._write(heard.now)
            if heard.late:
                self._gateway.later(self._write, heard.late)

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(BlockingIOError, OSError):  # nobody reads: lost, as on an open line
            os.write(self._master, data)

    def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(RuntimeError, ValueError):
            self._loop.remove_reader(self._master)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
