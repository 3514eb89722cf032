"""Both network-side ends of a simulated P1 port: a ser2net-style TCP server and a pseudo-terminal.

SYSTEM P2: "a network bridge (ser2net, TCP) is how most home tools connect". The server sends the raw
telegram byte stream, exactly what a P1 cable carries, with no extra framing, to every client: the
way ser2net (or a P1-to-Wi-Fi dongle) shares one meter with several readers. A pseudo-terminal
(``os.openpty``) gives serial tools a device path (``/dev/pts/N``) to open instead.

Telegrams are emitted on simulated time: a ``Pacer`` waits until the simulated clock reaches the next
telegram instant (``ClockPacer``: a ``SimClock`` running at ``speed`` × real time; ``InstantPacer``: as
fast as possible, the clock jumped to each instant), then ``P1Port`` advances the installation and makes
the bytes.

Rules this module keeps:
- the emitter never waits for a reader: a meter does not wait for its P1 device either;
- each TCP client has its own queue of whole telegrams (``backlog``) behind a small kernel send buffer
  (``send_buffer_bytes``); a client that falls so far behind that its queue is full is **disconnected**
  (logged with the reason), never served half a telegram and never allowed to hold up the others.
  Dropping telegrams silently would leave a reader with gaps it cannot see; a closed connection is a
  clear signal, and readers reconnect (``p1_reader`` does);
- the pty behaves like a serial line with no flow control: when nobody reads and the kernel buffer is
  full, stale bytes are flushed and the newest telegram written (the reader's framer resynchronises);
- when the emitter falls behind the simulated clock by more than ``max_lag`` it skips ahead to the
  current telegram instant (counted in ``stats.skipped``); ``max_lag=None`` emits every telegram;
- the shell builds everything (composition root); nothing here runs at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import termios
import tty
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from meterkast.clock import Clock, SimClock
from meterkast.errors import LinkError
from meterkast.io.listen import bind_tcp
from meterkast.io.tcp import close_quietly
from meterkast.sim.p1_source import P1Port

log = logging.getLogger(__name__)

DEFAULT_BACKLOG = 256  # telegrams queued per client before it counts as too slow
# Kernel send buffer per client. Left to autotuning, Linux lets a reader that stopped reading fall
# megabytes (hours of simulated telegrams) behind before anything notices; a live feed wants the newest.
DEFAULT_SEND_BUFFER_BYTES = 64 * 1024
PTY_PENDING_LIMIT = 64 * 1024  # bytes held for a pty that accepts nothing; beyond this they are dropped
Sleep = Callable[[float], Awaitable[None]]


class Pacer(Protocol):
    def now(self) -> datetime: ...

    async def wait_until(self, moment: datetime) -> None: ...


class ClockPacer:
    """Waits on real time for a clock that runs at ``speed`` simulated seconds per real second."""

    def __init__(self, clock: Clock, speed: float, sleep: Sleep = asyncio.sleep) -> None:
        if speed <= 0:
            raise ValueError(f"speed {speed} must be above 0; use InstantPacer for 'as fast as possible'")
        self._clock = clock
        self._speed = speed
        self._sleep = sleep

    def now(self) -> datetime:
        return self._clock.now()

    async def wait_until(self, moment: datetime) -> None:
        while (ahead := (moment - self._clock.now()).total_seconds()) > 0:
            await self._sleep(ahead / self._speed)


class InstantPacer:
    """As fast as possible: the simulated clock is moved to each telegram instant."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        return self._clock.now()

    async def wait_until(self, moment: datetime) -> None:
        if moment > self._clock.now():
            self._clock.advance_to(moment)
        await asyncio.sleep(0)


@dataclass(slots=True)
class ServerStats:
    telegrams: int = 0  # emitted
    skipped: int = 0  # telegram instants skipped because the emitter fell behind
    clients_served: int = 0
    clients_dropped: int = 0  # disconnected for being too slow
    pty_flushes: int = 0  # times stale bytes were discarded because nobody read the pty


class _Client:
    def __init__(self, writer: asyncio.StreamWriter, backlog: int) -> None:
        self.writer = writer
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(backlog)
        peer = writer.get_extra_info("peername")
        self.name = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.sending: asyncio.Task[None] | None = None
        self.watching: asyncio.Task[None] | None = None


class PtyPort:
    """The slave end of a pseudo-terminal that serial tools open like a P1 cable's USB adapter."""

    def __init__(self, baud: int = 115200) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no CR/LF translation, no echo: the bytes a meter sends
        attrs = termios.tcgetattr(self._slave)
        speed = getattr(termios, f"B{baud}", termios.B115200)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(self._slave, termios.TCSANOW, attrs)
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self._pending = bytearray()
        self._writing = False
        self.flushes = 0

    def send(self, data: bytes) -> None:
        if len(self._pending) > PTY_PENDING_LIMIT:  # the line has been blocked for a long time
            self._pending.clear()
            self.flushes += 1
        waiting = bool(self._pending)  # a flush is already scheduled for when the pty takes bytes again
        self._pending += data
        if not waiting:
            self._flush()

    def _flush(self) -> None:
        while self._pending:
            try:
                written = os.write(self._master, self._pending)
            except BlockingIOError:
                # Nobody reads: drop what is waiting in the line, as a serial line would lose it.
                self.flushes += 1
                with contextlib.suppress(termios.error):
                    termios.tcflush(self._slave, termios.TCIFLUSH)
                try:
                    written = os.write(self._master, self._pending)
                except BlockingIOError:
                    self._wait_writable()
                    return
            del self._pending[:written]
        self._stop_waiting()

    def _wait_writable(self) -> None:
        if not self._writing:
            asyncio.get_running_loop().add_writer(self._master, self._flush)
            self._writing = True

    def _stop_waiting(self) -> None:
        if self._writing:
            asyncio.get_running_loop().remove_writer(self._master)
            self._writing = False

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._stop_waiting()
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class P1Server:
    """Emits a ``P1Port``'s telegrams on simulated time to TCP clients and an optional pty."""

    def __init__(
        self,
        port: P1Port | None,
        pacer: Pacer,
        *,
        backlog: int = DEFAULT_BACKLOG,
        send_buffer_bytes: int | None = DEFAULT_SEND_BUFFER_BYTES,
        max_lag: timedelta | None = None,
    ) -> None:
        self.port = port
        self.pacer = pacer
        self.backlog = backlog
        self.send_buffer_bytes = send_buffer_bytes
        self.max_lag = max_lag
        self.stats = ServerStats()
        self._clients: set[_Client] = set()
        self._server: asyncio.Server | None = None
        self._pty: PtyPort | None = None
        self._joined = asyncio.Condition()

    # -- endpoints -----------------------------------------------------------------------------------

    async def start_tcp(self, host: str = "127.0.0.1", port: int = 2000) -> tuple[str, int]:
        """Listen on ``host:port`` (0 = any free port; ``::`` dual-stack, ``io.listen``); return the address
        actually bound."""
        sock = bind_tcp(host, port, what="P1")
        try:
            self._server = await asyncio.start_server(self._serve_client, sock=sock)
        except OSError as exc:
            sock.close()
            raise LinkError(f"cannot listen on tcp://{host}:{port}: {exc.strerror or exc}") from exc
        bound = self._server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    def open_pty(self, baud: int = 115200) -> str:
        """Create the pseudo-terminal; return the slave's path for serial tools."""
        self._pty = PtyPort(baud)
        return self._pty.path

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def wait_for_clients(self, count: int) -> None:
        async with self._joined:
            await self._joined.wait_for(lambda: len(self._clients) >= count)

    # -- emitting ------------------------------------------------------------------------------------

    async def run(self, until: datetime | None = None) -> None:
        """Emit telegrams from the installation's time until ``until`` (inclusive) or cancellation."""
        port = self.port
        if port is None:
            raise ValueError("this server has no P1 port to run; feed it with broadcast()")
        moment = port.first_telegram_at()
        while until is None or moment <= until:
            await self.pacer.wait_until(moment)
            if self.max_lag is not None and self.pacer.now() - moment > self.max_lag:
                latest = port.next_telegram_at(self.pacer.now()) - port.interval
                self.stats.skipped += int((latest - moment) / port.interval)
                moment = latest
            _, data = port.telegram(moment)
            if data is not None:
                self.broadcast(data)
            moment += port.interval
            await asyncio.sleep(0)

    def broadcast(self, data: bytes) -> None:
        """Hand one telegram to every client and the pty; never waits."""
        self.stats.telegrams += 1
        for client in list(self._clients):
            try:
                client.queue.put_nowait(data)
            except asyncio.QueueFull:
                self._drop(client)
        if self._pty is not None:
            self._pty.send(data)
            self.stats.pty_flushes = self._pty.flushes

    def _drop(self, client: _Client) -> None:
        log.warning(
            "P1 client %s is %d telegrams behind; disconnecting it so the others are not held up",
            client.name,
            client.queue.qsize(),
        )
        self.stats.clients_dropped += 1
        self._clients.discard(client)
        client.writer.transport.abort()

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer, self.backlog)
        sock = writer.get_extra_info("socket")
        if sock is not None and self.send_buffer_bytes is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer_bytes)
        self._clients.add(client)
        self.stats.clients_served += 1
        log.info("P1 client %s connected", client.name)
        async with self._joined:
            self._joined.notify_all()
        try:
            async with asyncio.TaskGroup() as group:
                client.sending = group.create_task(self._send(client))
                client.watching = group.create_task(self._watch(reader, client))
        except* (ConnectionError, OSError):
            pass  # the client went away; nothing to recover
        finally:
            self._clients.discard(client)
            await close_quietly(writer)
            log.info("P1 client %s disconnected", client.name)

    @staticmethod
    async def _send(client: _Client) -> None:
        try:
            while (data := await client.queue.get()) is not None:
                client.writer.write(data)
                await client.writer.drain()
        finally:
            if client.watching is not None:
                client.watching.cancel()

    @staticmethod
    async def _watch(reader: asyncio.StreamReader, client: _Client) -> None:
        """Read and discard what a client sends (P1 has no return path); stop sending at its EOF."""
        while await reader.read(4096):
            pass
        if client.sending is not None:
            client.sending.cancel()

    async def close(self, *, flush_timeout_s: float = 5.0) -> None:
        """Stop listening; give clients up to ``flush_timeout_s`` to receive what is queued, then disconnect."""
        if self._server is not None:
            self._server.close()
        tasks = [c.sending for c in self._clients if c.sending is not None]
        for client in list(self._clients):
            try:
                client.queue.put_nowait(None)  # ends its sender after the queued telegrams
            except asyncio.QueueFull:
                client.writer.transport.abort()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=flush_timeout_s)
            for task in late:
                task.cancel()
        deadline = asyncio.get_running_loop().time() + 1.0
        while self._clients and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.001)  # let each handler close its connection
        if self._pty is not None:
            self._pty.close()
