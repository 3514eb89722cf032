"""uvicorn on a socket we bound, for the dashboard (``run``) and P4 (``cs serve``): a thin adapter.

We bind the socket ourselves (``io/listen.py``: dual-stack ``::``, the host check, port 0) and hand it to
uvicorn; uvicorn must not take SIGINT/SIGTERM, because the command that started it owns them and shuts
every server down together.
"""

from __future__ import annotations

import contextlib
import importlib
import socket
from typing import Any

from meterkast.io.http_limits import uvicorn_config


class UvicornServer:
    """An ASGI app served by uvicorn on an already bound socket, without uvicorn's signal handling."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        uvicorn = importlib.import_module("uvicorn")  # optional: imported only when a web server runs
        # No access log: it would name every path the dashboard polls, and a log is no place for requests.
        self.server = uvicorn.Server(uvicorn_config(app, log_level="warning", lifespan="off", access_log=False))
        # uvicorn would take SIGINT/SIGTERM for itself and raise them again when done; the command owns them.
        self.server.capture_signals = contextlib.nullcontext
        self.sock = sock

    async def serve(self) -> None:
        await self.server.serve(sockets=[self.sock])

    def stop(self) -> None:
        self.server.should_exit = True
