"""A real uvicorn on an ephemeral loopback port, and a raw-socket client for what a browser would not send.

Waits poll on conditions with generous deadlines; how long the server takes to refuse is measured, not
guessed (the limits under test are small, the deadlines large).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
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
