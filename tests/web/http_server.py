"""A real uvicorn on an ephemeral loopback port, and a raw-socket client for what a browser would not send.

Waits poll on conditions with generous deadlines; how long the server takes to refuse is measured, not
guessed (the limits under test are small, the deadlines large).
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

from meterkast.io.http_limits import HttpLimits, uvicorn_config

GENEROUS_S = 30.0


@contextmanager
def serve(app: ASGIApp, limits: HttpLimits) -> Iterator[int]:
    """Run ``app`` under uvicorn (configured as ``meterkast run`` does, with ``limits``); yield its port."""
    server = uvicorn.Server(uvicorn_config(app, limits, host="127.0.0.1", port=0, log_level="critical",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + GENEROUS_S
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)  # poll interval
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=GENEROUS_S)


@dataclass(frozen=True)
class Reply:
    status: int | None  # None: closed without an answer
    head: str
    body: bytes
    elapsed_s: float


def exchange(port: int, data: bytes, *, then: bytes = b"") -> Reply:
    """Send ``data``, then read until the server answers and closes (or only closes); ``then`` is sent
    after the first bytes of the answer, as a client still sending its body would."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=GENEROUS_S) as sock:
        sock.sendall(data)
        received = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
            if then:
                with suppress(OSError):
                    sock.sendall(then)
                then = b""
    elapsed = time.monotonic() - began
    head, _, body = received.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/1.1 ") else None
    return Reply(status, text, body, elapsed)


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail after ``GENEROUS_S``."""
    deadline = time.monotonic() + GENEROUS_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)  # poll interval


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed ``sock`` without answering (EOF or reset waiting, no bytes)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Crowd:
    """Client sockets that hold connections open without completing a request: what an attacker who
    wants to lock genuine clients out opens (issue 10 item 5 follow-up; docs/web.md "HTTP limits")."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sockets: list[socket.socket] = []
        self._trickling: list[socket.socket] = []

    def _open(self, data: bytes) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=GENEROUS_S)
        if data:
            sock.sendall(data)
        self.sockets.append(sock)
        return sock

    def idle(self, count: int) -> None:
        """Connections that never send a byte."""
        for _ in range(count):
            self._open(b"")

    def slowloris(self, count: int) -> None:
        """Connections whose headers never end; ``trickle`` sends each another byte."""
        for _ in range(count):
            self._trickling.append(self._open(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "))

    def slow_body(self, count: int, head: bytes) -> None:
        """Connections that send ``head`` (a request announcing a body) and two bytes of the body."""
        for _ in range(count):
            self._open(head + b"{ ")

    def trickle(self) -> None:
        for sock in self._trickling:
            with suppress(OSError):
                sock.send(b"a")

    def closed(self) -> int:
        """How many of the crowd's connections the server has closed."""
        self.trickle()  # the slowloris keep dripping while anyone waits
        return sum(closed_by_server(sock) for sock in self.sockets)

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()
        self.sockets.clear()
        self._trickling.clear()


@contextmanager
def crowd(port: int) -> Iterator[Crowd]:
    opened = Crowd(port)
    try:
        yield opened
    finally:
        opened.close()


def served_under_pressure(port: int, cap: int, request: bytes, slow_body_head: bytes, rounds: int = 2) -> list[Reply]:
    """Open ``cap`` + 40 idle, slowloris and slow-body connections, wait until the server has taken them
    all in (it has closed exactly the 40 over ``cap``), then send ``request``; repeat with a fresh crowd
    (an attacker reconnecting). Return the genuine replies."""
    replies = []
    with crowd(port) as attackers:
        for _ in range(rounds):
            attackers.idle(cap)
            attackers.slowloris(30)
            attackers.slow_body(10, slow_body_head)
            shed = len(attackers.sockets) - cap  # all but the cap newest, once the server has them all
            wait_until(lambda shed=shed: attackers.closed() >= shed, "the server to take the crowd in")
            replies.append(exchange(port, request))
    return replies
