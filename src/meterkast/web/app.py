"""``create_app(control)``: the dashboard as an ASGI app (Starlette) over the ``Control`` protocol.

Rules this module keeps:
- the app talks only to ``Control`` (``meterkast.live.control``); it holds no state of its own;
- every endpoint is ``async`` and calls the Control directly, so each call runs on the event loop thread
  that also advances the installation (the protocol's rule; a sync endpoint would run in a thread pool);
- errors are translated at this boundary by ``ERROR_STATUS``: ``InvalidInput`` → 400 (the request was
  wrong), ``CommandRefused`` → 409 (the installation says no), as ``{"error", "message"}``; anything
  else, a ``ClockError`` included (the API never asks time to go back), is a bug and propagates (500),
  never swallowed;
- the page is static (``static/``: no build step, no CDN); it polls ``/api/state`` about once a second.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from meterkast.errors import CommandRefused, InvalidInput, MeterkastError
from meterkast.io.http_limits import DEFAULT_LIMITS, HttpLimits, LimitRequests
from meterkast.live.control import Control
from meterkast.web.api import ROUTES, Operation
from meterkast.web.auth import RequireToken, WebAccess, login_routes
from meterkast.web.openapi import OPENAPI_PATH, openapi_document

STATIC = Path(__file__).resolve().parent / "static"
ERROR_STATUS: tuple[tuple[type[MeterkastError], int], ...] = (
    (CommandRefused, 409),
    (InvalidInput, 400),
)
Endpoint = Callable[[Request], Awaitable[Response]]


def error_response(exc: MeterkastError) -> JSONResponse | None:
    """The JSON answer for an error the API maps, or None if it is not one of them."""
    for kind, status in ERROR_STATUS:
        if isinstance(exc, kind):
            return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status)
    return None


async def _body(request: Request) -> object:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"request body is not JSON ({exc}); send an object such as {{\"hold_s\": 0.2}}") from exc
    except RecursionError as exc:  # the json module recurses per nesting level; no request needs more than two
        raise InvalidInput("request body is JSON nested too deeply; send a flat object such as "
                           "{\"hold_s\": 0.2}") from exc


def _endpoint(control: Control, op: Operation) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request) if op.body else {}
            args = op.arguments(dict(request.path_params), dict(request.query_params), body)
            result = op.call(control, args)
        except MeterkastError as exc:
            answer = error_response(exc)
            if answer is None:
                raise
            return answer
        return JSONResponse(result, status_code=op.status)

    endpoint.__name__ = op.operation_id
    return endpoint


def create_app(control: Control, *, limits: HttpLimits = DEFAULT_LIMITS,
               access: WebAccess | None = None) -> Starlette:
    """The dashboard and its API for one running installation; request bodies capped by ``limits``.

    ``access``: the token every control call (and, unless ``public_read``, every read) needs, for an app
    that listens beyond loopback (``web.auth``); None on loopback, where nothing is asked."""
    document = openapi_document()

    async def openapi(_: Request) -> Response:
        return JSONResponse(document)

    async def index(_: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    routes: list[BaseRoute] = [Route(op.path, _endpoint(control, op), methods=[op.method]) for op in ROUTES]
    routes += [
        Route(OPENAPI_PATH, openapi, methods=["GET"]),
        Route("/", index, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(LimitRequests, limits=limits)]
    if access is not None:
        routes += login_routes(access)
        middleware.append(Middleware(RequireToken, access=access))
    return Starlette(routes=routes, middleware=middleware)
