"""The web app's token, kept with the run's state (issue 15; docs/run.md "From another machine").

``load_or_create_token(path)`` reads the token from ``path`` or, the first time, makes one
(``secrets.token_urlsafe``: 256 random bits) and writes it there readable by its owner only (mode 0600
whatever the umask). The file is written aside (``O_EXCL``) and then hard-linked into place, which fails
if the name exists: a file another process made in between is never overwritten, and a second start
racing the first, or a crash halfway, never finds the file there without its token. The token is
shown once, when it is made; later starts point at the file and at ``meterkast run --show-token``.
A file others can read is tightened to 0600 with a warning; delete the file to make a new token (that
also ends every browser session: the cookies are HMACs of the token, ``web.auth``).
"""

from __future__ import annotations

import contextlib
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
    if path.exists():
        return _read(path), False
    token = secrets.token_urlsafe(TOKEN_BYTES)
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(descriptor, 0o600)  # the umask may have taken the owner's bits too
            os.write(descriptor, (token + "\n").encode("ascii"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.link(aside, path)
    except FileExistsError:
        return _read(path), False
    except OSError as exc:
        raise InvalidInput(f"cannot create the web token file {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            aside.unlink()
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
