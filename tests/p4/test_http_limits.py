"""Issue 10 item 5: P4's HTTP limits over real loopback sockets against a real uvicorn (docs/p4.md).

The same middleware and server settings as the dashboard (tests/web/test_http_limits.py has the full
set); here: that P4 has them, that a credential in the URL is still refused before any body is read, and
that idle and slow connections cannot lock a genuine client out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from meterkast.central.store_sql import SqlStore
from meterkast.clock import SimClock
from meterkast.io.http_limits import HttpLimits
from meterkast.p4.app import create_p4_app
from tests.p4.helpers import ADMIN_TOKEN, NOW, FakeTokens
from tests.web.http_server import exchange, serve, served_under_pressure

LIMITS = HttpLimits(max_body_bytes=1024, body_timeout_s=0.5, max_header_bytes=2048, header_timeout_s=0.5)
BOUND_S = 10.0
PROMPT_S = 5.0  # a genuine request on loopback while a crowd holds the server


@pytest.fixture
def port(store: SqlStore) -> Iterator[int]:
    app = create_p4_app(store, clock=SimClock(NOW), token_source=FakeTokens(), admin_token=ADMIN_TOKEN,
                        limits=LIMITS)
    with serve(app, LIMITS) as bound:
        yield bound


def post(length: int, body: bytes, target: str = "/p4/admin/customers") -> bytes:
    return (f"POST {target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode() + body


def test_p4_refuses_a_huge_announced_body_at_once_and_times_out_a_missing_one(port: int) -> None:
    huge = exchange(port, post(99_999_999, b"{}"))
    assert huge.status == 413 and json.loads(huge.body)["error"] == "body_too_large"
    slow = exchange(port, post(100, b"{}"))
    assert slow.status == 408 and json.loads(slow.body)["error"] == "request_timeout"
    assert "connection: close" in slow.head.lower()
    assert huge.elapsed_s < BOUND_S and slow.elapsed_s < BOUND_S


def test_p4_refuses_huge_headers_and_headers_that_never_end(port: int) -> None:
    filler = b"".join(b"X-Filler-%d: %s\r\n" % (i, b"y" * 100) for i in range(40))
    assert exchange(port, b"GET /p4/openapi.json HTTP/1.1\r\nHost: x\r\n" + filler + b"\r\n").status == 431
    hung = exchange(port, b"GET /p4/openapi.json HTTP/1.1\r\nHost: x\r\n")
    assert hung.status is None and hung.elapsed_s < BOUND_S


def test_a_credential_in_the_url_is_refused_before_the_body_is_waited_for(port: int) -> None:
    reply = exchange(port, post(100, b"{}", "/p4/admin/customers?access_token=x"))
    assert reply.status == 401 and json.loads(reply.body)["error"] == "token_in_url"


def test_a_genuine_p4_request_is_served_while_idle_and_slow_connections_crowd_the_server(store: SqlStore) -> None:
    """The acceptance review's defect, on P4: the default cap (100) plus 40 idle, slowloris and slow-body
    connections, twice over; timeouts far longer than the test, so only shedding makes room."""
    limits = HttpLimits(header_timeout_s=60.0, body_timeout_s=60.0, keep_alive_s=60)
    app = create_p4_app(store, clock=SimClock(NOW), token_source=FakeTokens(), admin_token=ADMIN_TOKEN,
                        limits=limits)
    genuine = b"GET /p4/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with serve(app, limits) as bound:
        replies = served_under_pressure(bound, limits.max_connections, genuine, post(100, b""))
    assert [reply.status for reply in replies] == [200, 200], replies
    assert all(reply.elapsed_s < PROMPT_S for reply in replies), replies
