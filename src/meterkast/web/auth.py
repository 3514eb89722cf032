"""Only the owner controls the installation: the web app's token beyond loopback (issue 15; docs/web.md "Access").

On the default loopback address (127.0.0.1, ::1, localhost; ``io.listen.is_private_host``) the app has
no ``WebAccess`` and nothing here runs. Bound anywhere else, every request is one of three kinds:

- **open**: the login page, the static assets and the OpenAPI document (they hold no installation data);
- **read** (GET/HEAD/OPTIONS of the page and the API: state, charts, the P1 stream): needs the token,
  unless the user asked for ``--public-read``;
- **control** (any other method: press the button, break the seal, drain the battery, jump the clock,
  inject a fault, change consent): always needs the token.

The token is shown either as ``Authorization: Bearer <token>`` (scripts, Home Assistant's REST sensor),
or by the login form, which sets two cookies. Neither holds the token: each is an HMAC-SHA256 of it
(``session``, ``csrf``), so a cookie that leaks does not give the token away, and a new token ends every
session. Cookies are per host, not per port (RFC 6265 §8.5), so their names carry a tag derived from the
token (``meterkast_session_<tag>``): two runs on one machine, each with its own token, each keep their own
session in one browser. A cookie-authenticated control call must also carry the ``csrf`` value in
``X-CSRF-Token`` (the page sends every CSRF value it holds, comma-separated; one must be this app's)
(double submit: a page on another site can make the browser send the cookie but can neither read it nor
set a custom header without a CORS preflight, which this app never grants), and an ``Origin`` header, if
sent, must be this app's own. Every comparison is ``hmac.compare_digest``. A ``token`` or
``access_token`` query parameter is refused (400): URLs end up in logs, history and Referer headers.

Cookies: ``HttpOnly`` (the session one), ``SameSite=Strict``, ``Path=/``; ``Secure`` only when the request
came over https (a TLS proxy in front): on plain http a browser drops a Secure cookie, so the login
would silently fail. On a LAN without TLS the token crosses the network in the clear once, at login, and
the session cookie with every request: that is what http is, and docs/run.md says so.
"""

from __future__ import annotations

import hashlib
import hmac
import html
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

SESSION_COOKIE = "meterkast_session"
CSRF_COOKIE = "meterkast_csrf"
CSRF_HEADER = "x-csrf-token"
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
COOKIE_MAX_AGE_S = 30 * 24 * 3600  # a month: the owner logs in once per browser, not once per visit
TOKEN_QUERY_NAMES = frozenset({"token", "access_token"})
OPEN_PATHS = frozenset({LOGIN_PATH, LOGOUT_PATH, "/api/openapi.json"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Kind(Enum):
    OPEN = "open"
    READ = "read"
    CONTROL = "control"


class Verdict(Enum):
    ALLOWED = "allowed"
    NO_CREDENTIALS = "no credentials"  # 401 (the page: to the login form)
    BAD_TOKEN = "bad token"  # 401
    CSRF = "cross-site request"  # 403
    TOKEN_IN_URL = "token in URL"  # 400


def _mac(token: str, purpose: str) -> str:
    return hmac.new(token.encode(), f"meterkast web {purpose}".encode(), hashlib.sha256).hexdigest()


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class WebAccess:
    """The token the web app asks for, and whether reading is open to anyone (``--public-read``)."""

    token: str = field(repr=False)
    public_read: bool = False

    @property
    def session_value(self) -> str:
        return _mac(self.token, "session")

    @property
    def csrf_value(self) -> str:
        return _mac(self.token, "csrf")

    @property
    def session_cookie(self) -> str:
        return f"{SESSION_COOKIE}_{self._tag}"

    @property
    def csrf_cookie(self) -> str:
        return f"{CSRF_COOKIE}_{self._tag}"

    @property
    def _tag(self) -> str:  # 32 bits of an HMAC: tells tokens apart, gives nothing of them away
        return _mac(self.token, "cookie name")[:8]

    def matches(self, given: str) -> bool:
        return _same(given, self.token)


def kind_of(method: str, path: str) -> Kind:
    if path in OPEN_PATHS or path.startswith("/static/"):
        return Kind.OPEN
    return Kind.READ if method.upper() in READ_METHODS else Kind.CONTROL


@dataclass(frozen=True, slots=True)
class Asked:
    """What ``judge`` looks at in a request: ``headers`` by lower-case name, cookies still in theirs."""

    method: str
    path: str
    headers: dict[str, str]
    query: frozenset[str]  # the query's parameter names
    own_origin: str  # scheme://host:port of this app, as the request addressed it


def judge(access: WebAccess, asked: Asked) -> Verdict:
    """May this request go through? (module docstring)."""
    if TOKEN_QUERY_NAMES & asked.query:
        return Verdict.TOKEN_IN_URL
    kind = kind_of(asked.method, asked.path)
    if kind is Kind.OPEN or (kind is Kind.READ and access.public_read):
        return Verdict.ALLOWED
    scheme, _, bearer = asked.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return Verdict.ALLOWED if access.matches(bearer.strip()) else Verdict.BAD_TOKEN
    return _by_cookie(access, asked, kind)


def _by_cookie(access: WebAccess, asked: Asked, kind: Kind) -> Verdict:
    session = cookies(asked.headers.get("cookie", "")).get(access.session_cookie)
    if session is None:
        return Verdict.NO_CREDENTIALS
    if not _same(session, access.session_value):
        return Verdict.BAD_TOKEN
    if kind is Kind.READ:
        return Verdict.ALLOWED
    origin = asked.headers.get("origin")
    foreign = origin is not None and not _same(origin, asked.own_origin)
    given = asked.headers.get(CSRF_HEADER, "").split(",")  # the page sends every CSRF cookie it holds
    mine = [_same(value.strip(), access.csrf_value) for value in given]  # all compared: no early exit
    return Verdict.CSRF if foreign or not any(mine) else Verdict.ALLOWED


def cookies(header: str) -> dict[str, str]:
    """``name=value; name=value`` (RFC 6265 §4.2.1) as a dict; the first of a repeated name wins, as
    browsers send the most specific first. Parsed by hand: ``http.cookies`` gives up on a whole header
    at the first cookie it dislikes."""
    found: dict[str, str] = {}
    for part in header.split(";"):
        name, equals, value = part.strip().partition("=")
        if equals and name:
            found.setdefault(name, value.strip().strip('"'))
    return found


def own_origin(scope: Scope) -> str:
    host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
    return f"{scope.get('scheme', 'http')}://{host}"


class RequireToken:
    """ASGI middleware: every request through ``judge`` before the app sees it."""

    def __init__(self, app: ASGIApp, access: WebAccess) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        asked = Asked(scope["method"], scope["path"], headers, frozenset(query), own_origin(scope))
        verdict = judge(self.access, asked)
        if verdict is Verdict.ALLOWED:
            await self.app(scope, receive, send)
            return
        await refusal(verdict, scope["method"], scope["path"])(scope, receive, send)


def refusal(verdict: Verdict, method: str, path: str) -> Response:
    if verdict is Verdict.TOKEN_IN_URL:
        return _error(400, "TokenInUrl", "never put the token in a URL (it ends up in logs and history): "
                      "send it as 'Authorization: Bearer …' or log in at /login")
    if verdict is Verdict.CSRF:
        return _error(403, "CsrfRejected", "a control call with the session cookie needs the X-CSRF-Token header "
                      "and no foreign Origin (docs/web.md, Access)")
    if method.upper() in READ_METHODS and not path.startswith("/api/"):
        return RedirectResponse(LOGIN_PATH, status_code=303)
    answer = _error(401, "Unauthorized", "this meterkast listens beyond loopback: log in at /login, or send "
                    "'Authorization: Bearer <token>' (meterkast run --show-token)")
    answer.headers["WWW-Authenticate"] = 'Bearer realm="meterkast"'
    return answer


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers={"Cache-Control": "no-store"})


# -- the login form ------------------------------------------------------------------------------------------

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>meterkast: log in</title>
<style>body{{font-family:"DejaVu Sans",sans-serif;max-width:28rem;margin:4rem auto;padding:0 1rem}}
input{{font:inherit;width:100%;box-sizing:border-box;margin:.5rem 0;padding:.4rem}}
.error{{color:#b00020}}</style></head>
<body><h1>meterkast</h1>
<p>This meterkast listens beyond this machine. Paste the token that <code>meterkast run</code> printed on its
first start (<code>meterkast run --show-token</code> shows it again).</p>
{error}<form method="post" action="/login">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button id="login" type="submit">Log in</button></form></body></html>
"""


def login_page(error: str = "", status: int = 200) -> HTMLResponse:
    shown = f'<p class="error" id="login-error">{html.escape(error)}</p>\n' if error else ""
    return HTMLResponse(LOGIN_PAGE.format(error=shown), status_code=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})


def _set_cookies(response: Response, access: WebAccess, secure: bool, *, clear: bool = False) -> None:
    for name, value, http_only in ((access.session_cookie, access.session_value, True),
                                   (access.csrf_cookie, access.csrf_value, False)):
        response.set_cookie(name, "" if clear else value, max_age=0 if clear else COOKIE_MAX_AGE_S, path="/",
                            secure=secure, httponly=http_only, samesite="strict")


def login_routes(access: WebAccess) -> list[BaseRoute]:
    """GET/POST ``/login`` (the form; a good token sets the cookies and goes to the dashboard) and POST
    ``/logout`` (clears them)."""

    async def show(_: Request) -> Response:
        return login_page()

    async def log_in(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and not _same(origin, own_origin(request.scope)):
            return _error(403, "CsrfRejected", "the login form was posted from another site")
        try:
            form = parse_qs((await request.body()).decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            form = {}
        given = (form.get("token") or [""])[0].strip()
        if not given or not access.matches(given):
            return login_page("That is not this meterkast's token.", status=401)
        response = RedirectResponse("/", status_code=303)
        _set_cookies(response, access, request.url.scheme == "https")
        return response

    async def log_out(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and not _same(origin, own_origin(request.scope)):
            return _error(403, "CsrfRejected", "the logout was posted from another site")
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        _set_cookies(response, access, request.url.scheme == "https", clear=True)
        return response

    return [Route(LOGIN_PATH, show, methods=["GET"]), Route(LOGIN_PATH, log_in, methods=["POST"]),
            Route(LOGOUT_PATH, log_out, methods=["POST"])]
