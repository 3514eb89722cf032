"""uvicorn's h11 protocol with a header timeout and a connection cap that sheds idle connections
(issue 10 item 5; docs/web.md "HTTP limits", docs/p4.md).

uvicorn's own ``limit_concurrency`` counts every open connection, also one that never sent a byte, and
answers the next *request* 503 once the count is reached: 100 idle sockets, renewed every 10 s, would keep
the dashboard and P4 unavailable. Here the cap is on connections instead, and when a new connection
would pass it the server closes the connection that has been **waiting on its client** the longest
(see ``waits_on_client``): one that has sent nothing, headers still arriving (slowloris), a kept-alive
connection between requests, or a body still arriving with no answer begun. A connection whose request
the server is working on is never closed to make room; if every other connection is such a one, the
newcomer is closed instead. A genuine client sends its request as soon as it connects, so it is the
newest waiter and the last to go: it is served while any number of idle or slow connections come and go,
and the open connections (file descriptors) never exceed the cap by more than the one being accepted.
A client that asks for an answer and never reads it waits too (its answer is stuck in the write buffer),
also after uvicorn has closed the connection: asyncio keeps a closed transport until its buffer drains,
so such a connection still counts, and is dropped with ``abort`` when it is chosen.

In-flight requests need no separate limit: HTTP/1.1 has one request in progress per connection, and the
connections are capped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from meterkast.io.http_limits import DEFAULT_LIMITS


def victim(connections: Iterable[object]) -> GuardedH11 | None:
    """The connection to close to make room: of those that hold a place and wait on their client, the
    one waiting the longest; None when there is none.

    Connections of another kind (a WebSocket uvicorn upgraded to) are never chosen."""
    waiting = [c for c in connections if isinstance(c, GuardedH11) and c.holds_place() and c.waits_on_client()]
    return min(waiting, key=lambda c: c.waiting_since, default=None)


def places_taken(connections: Iterable[object]) -> int:
    """How many connections count against the cap (``GuardedH11.holds_place``; others always count)."""
    return sum(1 for c in connections if not isinstance(c, GuardedH11) or c.holds_place())


class GuardedH11(H11Protocol):
    """The h11 protocol with ``header_timeout_s`` and ``max_connections`` (set by ``guarded_protocol``;
    the defaults, for ``uvicorn --http meterkast.io.http_protocol:GuardedH11``, are ``DEFAULT_LIMITS``)."""

    header_timeout_s: float = DEFAULT_LIMITS.header_timeout_s
    max_connections: int = DEFAULT_LIMITS.max_connections
    waiting_since: float = 0.0  # loop time since which this connection has been waiting on its client
    _header_timer: asyncio.TimerHandle | None = None
    _shed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._wait_for_request()
        if places_taken(self.connections) > self.max_connections:
            chosen = victim(self.connections)  # this one (the newest waiter) only when no other is waiting
            if chosen is not None:
                chosen.shed()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._wait_for_request()  # the next request's headers on a kept-alive connection get the same bound

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def holds_place(self) -> bool:
        """False once the connection is on its way out: shed, or closed with nothing left to write (the
        event loop reports it lost on its next turn). A connection closed with an answer still buffered
        holds its place: asyncio keeps it until the client reads, which one that never reads never does."""
        transport = self.transport
        if transport is None or self._shed:
            return False
        return not transport.is_closing() or transport.get_write_buffer_size() > 0

    def waits_on_client(self) -> bool:
        """True when the connection is waiting on its client rather than on the server: no request yet,
        headers incomplete, kept alive between requests, a body still arriving with no answer begun (the
        middleware is still reading it), or an answer the client is not reading (writing paused, or
        closed with the answer still buffered)."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete or self.transport.is_closing():
            return True
        if self.flow is not None and self.flow.write_paused:
            return True
        return self.conn.their_state is h11.SEND_BODY and not cycle.response_started

    def shed(self) -> None:
        """Drop to make room, with whatever is still buffered for it: ``abort``, as ``close`` would wait
        for a client that does not read. A body reader sees ``http.disconnect`` and gives up."""
        self._shed = True
        self._disarm()
        self.transport.abort()

    def _wait_for_request(self) -> None:
        self.waiting_since = self.loop.time()
        self._disarm()
        if not self.transport.is_closing():
            waiting_after = self.cycle  # a new request replaces the cycle: then the headers came in time
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._expire, waiting_after)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self, waiting_after: Any) -> None:
        self._header_timer = None
        idle = self.cycle is None or self.cycle.response_complete  # not an answer still being made
        if self.cycle is waiting_after and idle and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[GuardedH11]:
    """``GuardedH11`` with these limits, for ``uvicorn.Config(http=...)``."""
    return type("GuardedH11", (GuardedH11,), {"header_timeout_s": header_timeout_s,
                                              "max_connections": max_connections})
