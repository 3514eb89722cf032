"""``create_p4_app(store, ...)``: the P4 API for third parties as an ASGI app (Starlette; SYSTEM C3, C4).

Rules this module keeps:
- time and randomness are injected: ``clock.now()`` is read once per request, and every token comes from
  ``token_source`` (production: ``lambda: secrets.token_urlsafe(32)``); the app holds no other state than
  the customer tokens (``customers.py``);
- credentials travel only in ``Authorization: Bearer``; a request with a credential-like query parameter
  (``access_token``, ``token``, ``api_key``, ``password``…) is refused with 401 before routing, unread,
  and neither it nor any query string is logged (``RedactQueryString`` does the same for uvicorn's
  access log);
- on admin and customer routes the caller is authenticated before the request is checked; a party's
  read goes to the store even without a usable token, so the store audits that attempt too (SYSTEM C3);
- errors are translated at this boundary by ``errors.answer_for``; anything it does not map is a bug and
  propagates (500), never swallowed. Every answer is JSON and ``Cache-Control: no-store``;
- every request is logged on ``meterkast.p4`` as operation, status, code and connection: never a token,
  a header, a body or a query string.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from meterkast.central.model import Connection
from meterkast.central.store import Store
from meterkast.clock import Clock
from meterkast.errors import InvalidInput, MeterkastError
from meterkast.io.http_limits import DEFAULT_LIMITS, HttpLimits, LimitRequests
from meterkast.p4.customers import CustomerTokens, InMemoryCustomerTokens
from meterkast.p4.errors import Answer, ApiRefusal, answer_for
from meterkast.p4.fields import decode_body, parse_request
from meterkast.p4.openapi import OPENAPI_PATH, openapi_document
from meterkast.p4.routes import ROUTES, Call, Operation, Role

LOG = logging.getLogger("meterkast.p4")
MIN_TOKEN_CHARS = 32
NO_STORE = {"Cache-Control": "no-store"}
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{MIN_TOKEN_CHARS},}}")  # what token_source must give (URL-safe)
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")  # RFC 6750 §2.1
_CREDENTIAL_WORDS = ("token", "password", "passwd", "pwd", "secret", "auth", "key", "bearer", "session")
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class _Env:
    store: Store
    clock: Clock
    new_token: Callable[[], str]
    customers: CustomerTokens
    admin_digest: bytes
    max_body_bytes: int  # checked while reading too: the middleware's cap, should the app be mounted without it


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def _checked(token_source: Callable[[], str]) -> Callable[[], str]:
    def draw() -> str:
        token = token_source()
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise MeterkastError(
                f"the token source gave an unusable token (need {MIN_TOKEN_CHARS}+ URL-safe characters); "
                "pass token_source=lambda: secrets.token_urlsafe(32)"
            )
        return token

    return draw


def _answer(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status, headers={**NO_STORE, **answer.headers})


def _credential_in_query(query_string: bytes) -> str | None:
    """The first query parameter whose name looks like a credential, or None."""
    for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if any(word in name.lower() for word in _CREDENTIAL_WORDS):
            return name
    return None


class RefuseCredentialsInUrl:
    """ASGI middleware: a credential in a URL ends up in logs, proxies and browser history (RFC 6750 §5.3).
    Such a request is refused before routing; the parameter's value is never read or logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _credential_in_query(scope.get("query_string", b"")) is not None:
            LOG.warning("P4 request refused: a credential-like parameter in the query string (token_in_url)")
            refusal = ApiRefusal(
                401, "token_in_url",
                "a credential was sent in the URL and was refused unread: send it only as "
                "'Authorization: Bearer <token>'; treat that token as leaked and have a new one issued",
            )
            answer = answer_for(refusal)
            assert answer is not None  # ApiRefusal is always mapped
            await _answer(answer)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RedactQueryString(logging.Filter):
    """For uvicorn's access log (``logging.getLogger("uvicorn.access").addFilter(RedactQueryString())``):
    logs the path without its query string, so a token someone put in a URL is not written down."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def _bearer(request: Request) -> tuple[str | None, ApiRefusal | None]:
    """The bearer token, or None and why there is none."""
    header = request.headers.get("authorization")
    if header is None:
        return None, ApiRefusal(401, "missing_token", "no Authorization header: send 'Authorization: Bearer "
                                                      "<token>' (a token never goes in the URL)")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
        return None, ApiRefusal(401, "invalid_authorization", "the Authorization header is not 'Bearer <token>'; "
                                                              "passwords and other schemes are not accepted")
    return token, None


def _authenticate(op: Operation, env: _Env, request: Request, token: str | None, problem: ApiRefusal | None) -> None:
    """Admin and customer routes: refuse unless the token fits the role (and, for a customer, the path's
    connection). Party routes are decided by the store, which audits the attempt."""
    if op.role in (Role.PUBLIC, Role.PARTY):
        return
    if token is None:
        assert problem is not None
        raise problem
    if op.role is Role.ADMIN:
        if not hmac.compare_digest(_digest(token), env.admin_digest):
            raise ApiRefusal(401, "invalid_token", "the token is not the admin token", challenge=True)
        return
    connection = env.customers.connection_for(token)
    if connection is None:
        raise ApiRefusal(401, "invalid_token", "the token is not a customer token (the grid operator issues it)",
                         challenge=True)
    if request.path_params.get("ean") != connection.ean:
        raise ApiRefusal(403, "wrong_connection", "this customer token is for another connection: a customer "
                                                  "manages only their own connection")


async def _read_body(request: Request, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise ApiRefusal(413, "body_too_large", f"the request body is larger than {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _log(op: Operation, status: int, code: str | None, args: dict[str, Any]) -> None:
    connection = args.get("ean")
    where = f" connection {connection.ean}" if isinstance(connection, Connection) else ""
    level = logging.WARNING if status in (401, 403) else logging.INFO
    LOG.log(level, "P4 %s%s -> %d %s", op.operation_id, where, status, code or "ok")


def _endpoint(op: Operation, env: _Env) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        now = env.clock.now()
        args: dict[str, Any] = {}
        try:
            token, problem = _bearer(request)
            _authenticate(op, env, request, token, problem)
            body = decode_body(await _read_body(request, env.max_body_bytes)) if op.method == "POST" else {}
            args = parse_request(op.fields, request.path_params, request.query_params.multi_items(),
                                 request.headers, body)
            call = Call(env.store, env.customers, env.new_token, now, args,
                        token if op.role is Role.PARTY else None, problem)
            result = await run_in_threadpool(op.handler, call)
        except MeterkastError as exc:
            answer = answer_for(exc)
            if answer is None:
                raise
            _log(op, answer.status, answer.body["error"], args)
            return _answer(answer)
        _log(op, op.status, None, args)
        return JSONResponse(result, status_code=op.status, headers=NO_STORE)

    endpoint.__name__ = op.operation_id
    return endpoint


async def _http_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code, message = {
        404: ("not_found", "no such P4 route; see /p4/openapi.json"),
        405: ("method_not_allowed", "this P4 route does not take this method; see /p4/openapi.json"),
    }.get(exc.status_code, ("invalid_input", str(exc.detail)))
    LOG.info("P4 unrouted request -> %d %s", exc.status_code, code)
    return _answer(Answer(exc.status_code, {"error": code, "message": message}, dict(exc.headers or {})))


def create_p4_app(
    store: Store,
    *,
    clock: Clock,
    token_source: Callable[[], str],
    admin_token: str,
    customers: CustomerTokens | None = None,
    limits: HttpLimits = DEFAULT_LIMITS,
) -> Starlette:
    """The P4 API over ``store``; ``admin_token`` is the grid operator's (32+ characters, from a secret store)."""
    if not isinstance(admin_token, str) or len(admin_token) < MIN_TOKEN_CHARS:
        raise InvalidInput(f"the admin token must be a random text of at least {MIN_TOKEN_CHARS} characters")
    env = _Env(store, clock, _checked(token_source), customers or InMemoryCustomerTokens(), _digest(admin_token),
               limits.max_body_bytes)
    document = openapi_document()

    async def openapi(_: Request) -> Response:
        return JSONResponse(document, headers=NO_STORE)

    routes: list[BaseRoute] = [Route(op.path, _endpoint(op, env), methods=[op.method]) for op in ROUTES]
    routes.append(Route(OPENAPI_PATH, openapi, methods=["GET"]))
    return Starlette(
        routes=routes,
        # A credential in the URL is refused before anything is read; then the body is capped (HttpLimits).
        middleware=[Middleware(RefuseCredentialsInUrl), Middleware(LimitRequests, limits=limits)],
        exception_handlers={404: _http_error, 405: _http_error},
    )
