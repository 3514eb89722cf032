"""The store master key in a file, for a central system without a secret manager (SYSTEM C4).

The store seals every meter key under one AES-256 master key (``central.keys_at_rest``); the master key
must not live in the database. ``load_or_create_master_key(path)`` reads 64 hex digits from ``path``, or
makes a new random key there, readable by the owner only (mode 0600). In production the key comes from
a secret manager instead; ``METERKAST_CS_MASTER_KEY`` (64 hex digits) overrides the file (the old spelling
``MEETERKAST_CS_MASTER_KEY`` still works, with a warning: ``meterkast.environment``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from meterkast import environment
from meterkast.central.keys_at_rest import MASTER_KEY_BYTES
from meterkast.errors import InvalidInput

ENVIRONMENT = "METERKAST_CS_MASTER_KEY"


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != MASTER_KEY_BYTES:
        raise InvalidInput(f"{where} must hold {MASTER_KEY_BYTES} bytes as {2 * MASTER_KEY_BYTES} hex digits")
    return key


def load_or_create_master_key(path: Path) -> bytes:
    given = environment.get(ENVIRONMENT)
    if given:
        return _parse(given, f"${ENVIRONMENT}")
    if path.exists():
        try:
            return _parse(path.read_text(encoding="ascii"), f"master key file {path}")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read the master key file {path}: {exc}") from exc
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(key.hex() + "\n")
    except OSError as exc:
        raise InvalidInput(f"cannot create the master key file {path}: {exc}") from exc
    return key
