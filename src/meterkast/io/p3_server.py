"""The E-meter's P3 port over TCP: the IEC 62056-47 COSEM wrapper on port 4059, one association per
connection, serving a live ``EMeter`` (DSMR 4.2.2 P3 §3.1 "COSEM wrapper", Table 3-1 TCP-UDP setup).

A thin adapter around the sans-I/O ``meterkast.cosem.server``: bytes from the socket go through the
``WrapperFramer``; each APDU addressed to the management logical device (wPort 1) goes to the connection's
``ServerAssociation`` under the source wPort (the client SAP: 1 management, 16 public); the reply goes back
wrapped with the ports swapped. The caller passes a getter for the meter (the simulation advances it
between requests; asyncio runs one request at a time, so a request sees one consistent meter) and the keys.

Rules this module keeps:
- frames for another destination wPort are dropped and counted, as IEC 62056-47 discards them;
- a connection idle for ``inactivity_timeout_s`` (TCP-UDP setup attribute 6, default 300 s) is closed;
- the meter's counters (``cosem.session_counters.P3Counters``: its own invocation counter, from 1, and the
  last client counter per key) live in ``P3Server`` and so continue across connections; whenever a frame
  moved them, ``on_counters`` (the shell's persistence) gets them *before* the reply is written, so a
  restarted meter given the saved state never reuses an IV nor accepts a used client counter; if that
  fails (``MeterkastError``), the reply is not sent and the connection is closed;
- the server's events are logged and handed to ``on_event`` (the shell's dispatcher), never swallowed;
- ``stop()`` closes the listener and every open connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from meterkast.cosem.access import MeterInfo
from meterkast.cosem.events import P3Event
from meterkast.cosem.server import P3Server, ServerAssociation
from meterkast.cosem.session_counters import P3Counters
from meterkast.dlms import SecurityKeys, WrapperFrame, WrapperFramer, encode_wrapper
from meterkast.dlms.wrapper import DLMS_TCP_PORT, MANAGEMENT_LOGICAL_DEVICE
from meterkast.emeter import EMeter
from meterkast.errors import MeterkastError
from meterkast.io.listen import bind_tcp
from meterkast.randomness import RandomSource

log = logging.getLogger(__name__)

INACTIVITY_TIMEOUT_S = 300.0  # P3 Table 3-1, inactivity_time_out default 300


class _NotPersisted(Exception):
    """The counters' store refused (``__cause__``): the connection closes without the reply."""


@dataclass(slots=True)
class P3ServerStats:
    connections: int = 0
    apdus: int = 0
    replies: int = 0
    misaddressed: int = 0  # frames for a destination wPort other than 1
    timeouts: int = 0


class P3TcpServer:
    def __init__(self, meter: Callable[[], EMeter], info: MeterInfo, keys: SecurityKeys | None, *,
                 rng: RandomSource | None = None, counters: P3Counters | None = None,
                 on_event: Callable[[P3Event], None] | None = None,
                 on_counters: Callable[[P3Counters], None] | None = None,
                 inactivity_timeout_s: float = INACTIVITY_TIMEOUT_S) -> None:
        self.core = P3Server(meter, info, keys, rng or random.SystemRandom(), counters or P3Counters())
        self.on_event = on_event
        self.on_counters = on_counters
        self.inactivity_timeout_s = inactivity_timeout_s
        self.stats = P3ServerStats()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._connections: set[asyncio.Task[object]] = set()

    async def start(self, host: str = "127.0.0.1", port: int = DLMS_TCP_PORT) -> int:
        """Listen; returns the port (0 picks a free one; ``::`` is dual-stack, ``io.listen``)."""
        self._server = await asyncio.start_server(self._serve, sock=bind_tcp(host, port, what="P3"))
        bound = int(self._server.sockets[0].getsockname()[1])
        log.info("P3 server for %s listening on %s:%d", self.core.info.system_title.hex().upper(), host, bound)
        return bound

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        await asyncio.gather(*self._connections, return_exceptions=True)  # every handler has finished
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> P3TcpServer:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()

    def _dispatch(self, events: tuple[P3Event, ...]) -> None:
        for event in events:
            log.info("P3 %s", event)
            if self.on_event is not None:
                self.on_event(event)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.connections += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        association = self.core.association()
        framer = WrapperFramer()
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(4096), self.inactivity_timeout_s)
                except TimeoutError:
                    self.stats.timeouts += 1
                    break
                if not data:
                    break
                for frame in framer.feed(data):
                    reply = self._handle(association, frame)
                    if reply is not None:
                        writer.write(reply)
                await writer.drain()
        except ConnectionError:
            pass  # the central system went away; the meter keeps serving others
        except _NotPersisted as exc:  # answer nothing, close: a reply must not use an unsaved counter
            log.error("P3 connection closed without an answer: the counters could not be persisted: %s: %s",
                      type(exc.__cause__).__name__, exc.__cause__)
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(OSError, RuntimeError):
                await writer.wait_closed()

    def _handle(self, association: ServerAssociation, frame: WrapperFrame) -> bytes | None:
        if frame.destination_wport != MANAGEMENT_LOGICAL_DEVICE:
            self.stats.misaddressed += 1
            return None
        self.stats.apdus += 1
        counters = self.core.counters
        before = counters.version
        output = association.receive(frame.source_wport, frame.apdu)
        if self.on_counters is not None and counters.version != before:
            try:
                self.on_counters(counters)  # persisted before the reply that used them leaves
            except MeterkastError as exc:
                raise _NotPersisted from exc
        self._dispatch(output.events)
        if output.reply is None:
            return None
        self.stats.replies += 1
        return encode_wrapper(WrapperFrame(MANAGEMENT_LOGICAL_DEVICE, frame.source_wport, output.reply))
