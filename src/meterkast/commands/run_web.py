"""``meterkast run``'s web app: where it listens, and the token it asks for beyond loopback (issues 5, 15).

Part of ``run``'s composition root (``commands/run.py``): it binds the socket (``io.listen``), decides
whether the app needs a token (any address but the default loopback ones, ``io.listen.is_private_host``),
loads or makes that token in the run's state directory (``web.token_file``), and builds the app with its
``web.auth.WebAccess``. The startup lines say where to point a browser on another machine, and show the
token only when it was made (docs/run.md "From another machine").
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from pathlib import Path

from meterkast.io.listen import bind_tcp, bound_port, is_private_host, shown_urls
from meterkast.io.uvicorn_server import UvicornServer
from meterkast.live.session import LiveSession
from meterkast.web.token_file import TOKEN_FILE, load_or_create_token

log = logging.getLogger(__name__)


WebServer = UvicornServer  # the dashboard's server (``io/uvicorn_server.py``)


@dataclass(frozen=True, slots=True)
class OpenedWeb:
    server: WebServer
    port: int
    lines: list[str]  # what to print: the URLs, and the token's whereabouts


def token_path(data: Path) -> Path:
    return data / TOKEN_FILE


def show_token(data: Path) -> str:
    """``meterkast run --show-token``: the token (made now if the run never had one)."""
    data.mkdir(parents=True, exist_ok=True)
    token, made = load_or_create_token(token_path(data))
    return f"{token}\n" + (f"(made just now and kept in {token_path(data)})\n" if made else "")


def open_web(session: LiveSession, host: str, port: int, data: Path, *, public_read: bool) -> OpenedWeb | None:
    """Bind and build the web app; None when starlette or uvicorn is missing (said in the log)."""
    try:
        web = importlib.import_module("meterkast.web")
        if not hasattr(web, "create_app"):
            web = importlib.import_module("meterkast.web.app")
        auth = importlib.import_module("meterkast.web.auth")
        importlib.import_module("uvicorn")
    except ModuleNotFoundError as exc:
        log.warning("no web app: %s (reinstall meterkast: starlette and uvicorn are dependencies)", exc)
        return None
    sock = bind_tcp(host, port, what="the web app", hint="use --http-port, --http-host or --no-http")
    bound = bound_port(sock)
    urls = shown_urls("http", host, bound, "/")
    if is_private_host(host):
        return OpenedWeb(WebServer(web.create_app(session), sock), bound, [f"web: {'  '.join(urls)}"])
    try:
        data.mkdir(parents=True, exist_ok=True)
        token, made = load_or_create_token(token_path(data))
    except BaseException:
        sock.close()
        raise
    access = auth.WebAccess(token, public_read=public_read)
    reading = "reading open to all, control needs the token" if public_read else "log in with the token"
    lines = [f"web: {'  '.join(urls)} ({reading})"]
    if made:
        lines.append(f"web token (shown this once; meterkast run --show-token shows it again; "
                     f"kept in {token_path(data)}): {token}")
    else:
        lines.append(f"web token: in {token_path(data)} (meterkast run --show-token)")
    return OpenedWeb(WebServer(web.create_app(session, access=access), sock), bound, lines)
