"""Limits on what an HTTP client may send the dashboard and P4 (issue 10 item 5; docs/web.md, docs/p4.md).

A client that announces ``Content-Length: 99999999`` and sends two bytes, or drips its headers one byte a
minute, must not hold a connection (and a worker's memory) for as long as it likes. Three layers:

- ``LimitRequests`` (ASGI middleware, in both apps): a request line plus headers larger than
  ``max_header_bytes`` is answered **431**; a body announced larger than ``max_body_bytes`` is
  answered **413** at once, unread; a chunked body is read up to the cap and answered 413 when it passes
  it; a body that has not fully arrived ``body_timeout_s`` after the headers is answered **408**. Both
  answers carry ``Connection: close``: the rest of that body is never read. The deadline is measured on
  the event loop's clock (injectable for tests). A request without a body is passed through untouched;
  one with a body is read whole before the app runs (the apps take small JSON bodies only), so the app
  never waits on a slow client;
- ``uvicorn_config``: the h11 parser's limit on a request line plus headers still arriving
  (``max_header_bytes``: more is answered 400 and the connection closed) and the keep-alive timeout;
- ``http_protocol.GuardedH11`` (given to uvicorn by ``uvicorn_config``): h11 under uvicorn waits for
  headers forever; it closes a connection whose request line and headers are not complete
  ``header_timeout_s`` after it opened (or after the previous answer on a kept-alive connection), and
  caps the open connections at ``max_connections`` by closing the one that has waited on its client the
  longest when a new one arrives, so idle or slow connections cannot lock a genuine request out.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # starlette and uvicorn are imported only where something is served
    from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_body_bytes: int = 64 * 1024  # the largest JSON body either app takes is well under 1 KiB
    body_timeout_s: float = 10.0  # from the end of the headers to the end of the body
    max_header_bytes: int = 16 * 1024  # request line + headers (h11's max incomplete event size)
    header_timeout_s: float = 10.0  # from the connection (or the previous answer) to the end of the headers
    keep_alive_s: int = 5  # an idle kept-alive connection is closed after this
    max_connections: int = 100  # open at once; a newcomer above it sheds the longest-waiting idle one


DEFAULT_LIMITS = HttpLimits()
CLOSE = (b"connection", b"close")


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None (absent; h11 has already refused a malformed one)."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def header_size(scope: Scope) -> int:
    """About the size of the request line and headers as sent (h11 only limits a block that arrives in
    pieces; one that arrives whole is parsed whatever its size, so the middleware checks again)."""
    line = len(scope.get("raw_path") or scope.get("path", "").encode()) + len(scope.get("query_string", b"")) + 16
    return line + sum(len(name) + len(value) + 4 for name, value in scope.get("headers", []))


def has_body(scope: Scope) -> bool:
    if any(name == b"transfer-encoding" for name, _ in scope.get("headers", [])):
        return True
    length = declared_length(scope)
    return length is not None and length > 0


async def refuse(send: Send, status: int, code: str, message: str) -> None:
    """A JSON error ``{"error", "message"}`` (the shape both apps use) that closes the connection."""
    body = json.dumps({"error": code, "message": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"), CLOSE,
    ]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class LimitRequests:
    """ASGI middleware: the body is capped in size and in time before the app sees it (module docstring).

    ``now`` is the clock the deadline is measured on (seconds, monotonic); by default the running event
    loop's, which is also the clock ``asyncio.wait_for`` waits on."""

    def __init__(self, app: ASGIApp, limits: HttpLimits = DEFAULT_LIMITS,
                 now: Callable[[], float] | None = None) -> None:
        self.app = app
        self.limits = limits
        self._now = now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = header_size(scope)
        if size > self.limits.max_header_bytes:
            await refuse(send, 431, "headers_too_large",
                         f"the request line and headers ({size} bytes) are larger than "
                         f"{self.limits.max_header_bytes} bytes")
            return
        if not has_body(scope):
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in scope.get("headers", [])}
        if b"transfer-encoding" in names and b"content-length" in names:
            # Two framings for one body: a proxy in front may read the other one (request smuggling).
            # RFC 9112 §6.3 lets a server refuse it; the apps' clients never send both.
            await refuse(send, 400, "ambiguous_body_length",
                         "the request has both Transfer-Encoding and Content-Length; send one (RFC 9112 §6.3)")
            return
        cap = self.limits.max_body_bytes
        length = declared_length(scope)
        if length is not None and length > cap:
            await refuse(send, 413, "body_too_large", f"the request body ({length} bytes) is larger than {cap} bytes")
            return
        body = await self._read(receive, send)
        if body is None:
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None when it was refused (413, 408) or the client left."""
        limits = self.limits
        now = self._now or asyncio.get_running_loop().time
        deadline = now() + limits.body_timeout_s
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - now()))
            except TimeoutError:
                await refuse(send, 408, "request_timeout",
                             f"the request body did not arrive within {limits.body_timeout_s:g} s")
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limits.max_body_bytes:
                await refuse(send, 413, "body_too_large",
                             f"the request body is larger than {limits.max_body_bytes} bytes")
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read, as one message; after it the server's own ``receive`` (for ``http.disconnect``)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def uvicorn_config(app: ASGIApp, limits: HttpLimits = DEFAULT_LIMITS, **options: Any) -> Any:
    """``uvicorn.Config`` for ``app`` with the limits that belong to the server (module docstring)."""
    import uvicorn  # noqa: PLC0415 - optional until something is served

    from meterkast.io.http_protocol import guarded_protocol  # noqa: PLC0415 - imports uvicorn

    # No uvicorn limit_concurrency: it counts idle connections too and then answers genuine requests
    # 503 (http_protocol's docstring); the protocol caps connections and sheds idle ones instead.
    # No WebSocket either (neither app has one): an upgraded connection leaves GuardedH11, so the cap
    # could not shed it; whether uvicorn would upgrade must not depend on what else is installed.
    options.setdefault("ws", "none")
    return uvicorn.Config(
        app, http=guarded_protocol(limits.header_timeout_s, limits.max_connections),
        h11_max_incomplete_event_size=limits.max_header_bytes, limit_concurrency=None,
        timeout_keep_alive=limits.keep_alive_s, **options,
    )
