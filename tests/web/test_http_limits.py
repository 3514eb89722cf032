"""Issue 10 item 5: the dashboard's HTTP limits, over real loopback sockets against a real uvicorn.

The limits are small here (1 KiB body, 2 KiB headers, 0.5 s timeouts) so that every refusal comes fast;
each test asserts the answer and that it came well within a generous bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import h11
import pytest
import uvicorn
from starlette.types import Message

from meterkast.io.http_limits import DEFAULT_LIMITS, HttpLimits, LimitRequests, uvicorn_config
from meterkast.io.http_protocol import GuardedH11, places_taken, victim
from meterkast.web.app import create_app
from tests.web.fake_control import FakeControl
from tests.web.http_server import (
    GENEROUS_S,
    closed_by_server,
    crowd,
    exchange,
    serve,
    served_under_pressure,
    wait_until,
)

LIMITS = HttpLimits(max_body_bytes=1024, body_timeout_s=0.5, max_header_bytes=2048, header_timeout_s=0.5,
                    keep_alive_s=1, max_connections=20)
BOUND_S = 10.0  # far above the 0.5 s limits, far below "until the client gives up"


@pytest.fixture(scope="module")
def port() -> object:
    with serve(create_app(FakeControl(), limits=LIMITS), LIMITS) as bound:
        yield bound


def post(length: int | str, body: bytes = b"", extra: bytes = b"") -> bytes:
    return (f"POST /api/meter/button HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n").encode() + extra + b"\r\n" + body


def test_a_good_request_still_works(port: int) -> None:
    body = b'{"hold_s": 0.2}'
    reply = exchange(port, post(len(body), body, b"Connection: close\r\n"))
    assert reply.status == 200, reply


def test_a_body_with_two_framings_is_refused_400(port: int) -> None:
    """Transfer-Encoding and Content-Length together (request smuggling through a proxy, RFC 9112 §6.3)."""
    body = b'f\r\n{"hold_s": 0.2}\r\n0\r\n\r\n'
    reply = exchange(port, post(len(body), body, b"Transfer-Encoding: chunked\r\n"))
    assert reply.status == 400, reply
    assert b"ambiguous_body_length" in reply.body


def test_a_huge_announced_body_with_two_bytes_is_refused_413_at_once(port: int) -> None:
    reply = exchange(port, post(99_999_999, b"{}"))
    assert reply.status == 413 and json.loads(reply.body)["error"] == "body_too_large"
    assert "connection: close" in reply.head.lower()
    assert reply.elapsed_s < BOUND_S


def test_a_body_that_does_not_arrive_gets_408_and_a_closed_connection(port: int) -> None:
    reply = exchange(port, post(100, b"{}"))  # 100 announced, within the cap; 2 sent
    assert reply.status == 408 and json.loads(reply.body)["error"] == "request_timeout"
    assert "connection: close" in reply.head.lower()
    assert reply.elapsed_s < BOUND_S


def test_a_chunked_body_over_the_cap_is_refused_413(port: int) -> None:
    chunk = b"x" * 700
    data = (b"POST /api/meter/button HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2)
    reply = exchange(port, data)
    assert reply.status == 413
    assert reply.elapsed_s < BOUND_S


@pytest.mark.parametrize("end", [b"\r\n", b""], ids=["whole", "still-arriving"])
def test_a_huge_header_block_is_refused(port: int, end: bytes) -> None:
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 100) for i in range(100))  # about 11 KiB
    reply = exchange(port, b"GET /api/state HTTP/1.1\r\nHost: x\r\n" + headers + end)
    # Whole: the middleware's 431; still arriving: h11's buffer limit, 400; either way the connection closes.
    assert reply.status == (431 if end else 400), reply
    assert reply.elapsed_s < BOUND_S


def test_headers_that_never_end_get_a_closed_connection(port: int) -> None:
    reply = exchange(port, b"GET /api/state HTTP/1.1\r\nHost: x\r\n")  # no blank line: headers go on
    assert reply.status is None and reply.elapsed_s < BOUND_S


def test_a_kept_alive_connection_with_half_a_second_request_is_closed(port: int) -> None:
    first = b"GET /api/state HTTP/1.1\r\nHost: x\r\n\r\n"
    reply = exchange(port, first, then=b"GET /api/state HTTP/1.1\r\n")
    assert reply.status == 200 and reply.elapsed_s < BOUND_S  # answered, then closed while waiting


# -- idle and slow connections under pressure (the acceptance review's defect) ----------------------------


PROMPT_S = 5.0  # a genuine request on loopback; nothing would time the crowd out before 60 s
TRUTH = b"GET /api/truth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("cap", [20, 100], ids=["small-cap", "default-cap"])
def test_a_genuine_request_is_served_while_idle_and_slow_connections_crowd_the_server(cap: int) -> None:
    """The review: 100 idle sockets gave /api/truth 503 for about 10 s, renewable. Now cap + 40 idle,
    slowloris and slow-body connections, twice over, and the genuine request is answered at once."""
    limits = HttpLimits(header_timeout_s=60.0, body_timeout_s=60.0, keep_alive_s=60, max_connections=cap)
    with serve(create_app(FakeControl(), limits=limits), limits) as bound:
        replies = served_under_pressure(bound, cap, TRUTH, post(100))
    assert [reply.status for reply in replies] == [200, 200], replies
    assert all(reply.elapsed_s < PROMPT_S for reply in replies), replies


class GatedApp:
    """An ASGI app that answers 200 only once ``gate`` is set: a request the server is working on."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = 0

    async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
        assert callable(send)
        self.started += 1  # on the server's event loop only
        await asyncio.to_thread(self.gate.wait, GENEROUS_S)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


def busy_connection(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=GENEROUS_S)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    return sock


def test_a_request_being_served_is_never_shed_and_idle_ones_go_oldest_first() -> None:
    app = GatedApp()
    limits = HttpLimits(header_timeout_s=60.0, body_timeout_s=60.0, keep_alive_s=60, max_connections=5)
    with serve(app, limits) as bound, crowd(bound) as idle, busy_connection(bound) as busy:
        wait_until(lambda: app.started == 1, "the busy request to reach the app")
        idle.idle(4)  # with the busy one: the cap
        idle.idle(3)
        wait_until(lambda: idle.closed() == 3, "three idle connections to be shed")
        assert [closed_by_server(sock) for sock in idle.sockets] == [True] * 3 + [False] * 4
        assert not closed_by_server(busy)
        app.gate.set()
        assert busy.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_when_every_connection_is_busy_the_newcomer_is_closed_and_the_cap_holds() -> None:
    """File descriptors stay capped: nothing to shed, so the connection over the cap goes, unanswered."""
    app = GatedApp()
    limits = HttpLimits(header_timeout_s=60.0, body_timeout_s=60.0, keep_alive_s=60, max_connections=2)
    with serve(app, limits) as bound, busy_connection(bound) as first, busy_connection(bound) as second:
        wait_until(lambda: app.started == 2, "both busy requests to reach the app")
        refused = exchange(bound, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert refused.status is None and refused.elapsed_s < PROMPT_S
        assert app.started == 2
        app.gate.set()
        assert first.recv(65536).startswith(b"HTTP/1.1 200 ") and second.recv(65536).startswith(b"HTTP/1.1 200 ")
        assert exchange(bound, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 200


def test_a_client_that_never_reads_its_answer_still_counts_and_is_dropped_to_make_room() -> None:
    """uvicorn closes the connection after a ``Connection: close`` answer, but asyncio keeps it open until
    the buffered answer is read; one that is never read must not escape the cap (a file descriptor each)."""
    size = 16 * 1024 * 1024  # more than the kernel buffers on both ends (the client's is made small)
    answered = threading.Event()

    async def big_app(scope: dict[str, object], receive: object, send: object) -> None:
        assert callable(send)
        headers = [(b"content-length", str(size).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x" * size})
        answered.set()

    limits = HttpLimits(header_timeout_s=60.0, body_timeout_s=60.0, keep_alive_s=60, max_connections=3)
    with serve(big_app, limits) as bound, crowd(bound) as idle, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as reader:
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        reader.settimeout(GENEROUS_S)
        reader.connect(("127.0.0.1", bound))
        reader.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        wait_until(answered.is_set, "the answer to be handed to the transport")
        idle.idle(2)  # with the reader: the cap
        genuine = exchange(bound, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert genuine.status == 200
        received = 0
        with contextlib.suppress(ConnectionResetError):
            while chunk := reader.recv(1 << 20):
                received += len(chunk)
        assert received < size  # dropped with its answer unsent, not kept until it reads
        assert idle.closed() == 0


# -- which connection goes: the classification alone, on stand-ins for uvicorn's objects -----------------


@dataclass
class StubTransport:
    closing: bool = False
    buffered: int = 0
    aborted: bool = False

    def is_closing(self) -> bool:
        return self.closing or self.aborted

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = True


def connection(waiting_since: float, *, cycle: str = "none", their_state: object = h11.IDLE,
               write_paused: bool = False, closing: bool = False, buffered: int = 0) -> GuardedH11:
    """A ``GuardedH11`` without uvicorn's setup: ``cycle`` is none, complete, started or pending."""
    made = GuardedH11.__new__(GuardedH11)
    made.transport = StubTransport(closing, buffered)  # type: ignore[assignment]
    made.cycle = None if cycle == "none" else SimpleNamespace(  # type: ignore[assignment]
        response_complete=cycle == "complete", response_started=cycle in ("complete", "started"))
    made.conn = SimpleNamespace(their_state=their_state)  # type: ignore[assignment]
    made.flow = SimpleNamespace(write_paused=write_paused)  # type: ignore[assignment]
    made.waiting_since = waiting_since
    return made


@pytest.mark.parametrize(("state", "waits", "holds"), [
    ({}, True, True),  # nothing sent yet, or headers still arriving
    ({"cycle": "complete"}, True, True),  # kept alive between requests
    ({"cycle": "pending", "their_state": h11.SEND_BODY}, True, True),  # a body still arriving, no answer
    ({"cycle": "pending", "their_state": h11.DONE}, False, True),  # the server is working on it
    ({"cycle": "started", "their_state": h11.SEND_BODY}, False, True),  # answering (413/408) already
    ({"cycle": "started", "their_state": h11.DONE, "write_paused": True}, True, True),  # answer not read
    ({"cycle": "complete", "closing": True, "buffered": 1}, True, True),  # closed, answer stuck unread
    ({"cycle": "complete", "closing": True}, True, False),  # closed, gone on the loop's next turn
], ids=["silent", "kept-alive", "body-dripping", "being-served", "being-refused", "not-reading",
        "closed-unread", "closed"])
def test_what_waits_on_its_client_and_what_holds_a_place(state: dict[str, Any], waits: bool, holds: bool) -> None:
    made = connection(1.0, **state)
    assert (made.waits_on_client(), made.holds_place()) == (waits, holds)


def test_the_longest_waiter_goes_and_a_connection_being_served_never_does() -> None:
    served = connection(0.0, cycle="pending", their_state=h11.DONE)
    old, young = connection(1.0), connection(2.0, cycle="complete")
    gone = connection(0.5, cycle="complete", closing=True)
    assert victim([young, served, gone, old]) is old
    assert places_taken([young, served, gone, old, object()]) == 4  # another kind always counts
    old.shed()
    assert old.transport.is_closing() and not old.holds_place()
    assert victim([young, served, gone, old]) is young
    assert victim([served, gone]) is None


def test_uvicorn_can_load_the_protocol_by_name_with_the_default_limits() -> None:
    """docs/p4.md: ``uvicorn --http meterkast.io.http_protocol:GuardedH11`` for those who serve it themselves."""
    config = uvicorn.Config(create_app(FakeControl()), http="meterkast.io.http_protocol:GuardedH11")
    config.load()
    loaded = config.http_protocol_class
    assert getattr(loaded, "header_timeout_s", None) == DEFAULT_LIMITS.header_timeout_s
    assert getattr(loaded, "max_connections", None) == DEFAULT_LIMITS.max_connections
    assert config.limit_concurrency is None


def test_the_served_config_has_no_concurrency_503_and_no_websocket_upgrade() -> None:
    config = uvicorn_config(create_app(FakeControl()), LIMITS)
    config.load()
    assert config.limit_concurrency is None and config.ws_protocol_class is None
    assert getattr(config.http_protocol_class, "max_connections", None) == LIMITS.max_connections


# -- the middleware alone, on an injected clock ---------------------------------------------------------


def test_the_body_deadline_is_measured_on_the_injected_clock() -> None:
    """A clock that has passed the deadline: the next wait is zero, so 408 without waiting in real time."""
    called: list[str] = []

    async def app(scope: object, receive: object, send: object) -> None:
        called.append("app")

    readings = iter([100.0, 100.0 + LIMITS.body_timeout_s + 1])
    sent: list[Message] = []

    async def receive() -> Message:
        await asyncio.Event().wait()  # the body never comes
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    middleware = LimitRequests(app, LIMITS, now=lambda: next(readings))
    scope = {"type": "http", "headers": [(b"content-length", b"10")]}
    asyncio.run(asyncio.wait_for(middleware(scope, receive, send), GENEROUS_S))
    assert called == [] and sent[0]["status"] == 408


def test_a_request_without_a_body_is_passed_through_untouched() -> None:
    seen: list[object] = []

    async def app(scope: object, receive: object, send: object) -> None:
        seen.append(receive)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        raise AssertionError(message)

    asyncio.run(LimitRequests(app, LIMITS)({"type": "http", "headers": []}, receive, send))
    assert seen == [receive]
