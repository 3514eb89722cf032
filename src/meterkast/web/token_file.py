"""The web app's token, kept with the run's state (issue 15; docs/run.md "From another machine").

``load_or_create_token(path)`` reads the token from ``path`` or, the first time, makes one
(``secrets.token_urlsafe``: 256 random bits) and writes it there readable by its owner only (mode 0600,
made with ``O_EXCL`` so a file another process made in between is never overwritten). The token is
shown once, when it is made; later starts point at the file and at ``meterkast run --show-token``.
A file others can read is tightened to 0600 with a warning; delete the file to make a new token (that
also ends every browser session: the cookies are HMACs of the token, ``web.auth``).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from meterkast.errors import InvalidInput

TOKEN_FILE = "web-token"
TOKEN_BYTES = 32
MIN_TOKEN_CHARS = 16

log = logging.getLogger(__name__)


def load_or_create_token(path: Path) -> tuple[str, bool]:
    """The token, and whether it was made just now."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path), False
    except OSError as exc:
        raise InvalidInput(f"cannot create the web token file {path}: {exc.strerror or exc}") from exc
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(token + "\n")
    return token, True


def _read(path: Path) -> str:
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("the web token file %s was readable by others; made it 0600", path)
            path.chmod(0o600)
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the web token file {path}: {exc}") from exc
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise InvalidInput(f"the web token file {path} holds no usable token (one line, at least "
                           f"{MIN_TOKEN_CHARS} characters); delete it to make a new one")
    return token
