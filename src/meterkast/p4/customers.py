"""How the P4 API knows the customer of a connection: one bearer token per connection (SYSTEM C3, C4).

In the real chain the customer logs in at the grid operator's portal (DigiD, the operator's account).
Here that is modelled by a per-connection token that the grid operator issues through an admin call.
``CustomerTokens`` is the small protocol; ``InMemoryCustomerTokens`` its in-process implementation
(STYLE 10). Rules it keeps:
- only the SHA-256 of a token is held, never the token (a leaked memory dump or table hands out nothing);
- one token per connection: issuing a new one replaces the old, which stops working at once
  (the way out when a customer lost or leaked it);
- it draws no randomness and reads no clock: the caller gives the token and the instant.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from typing import Protocol

from meterkast.central.model import Connection


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class CustomerTokens(Protocol):
    def issue(self, connection: Connection, token: str, at: datetime) -> None:
        """Make ``token`` the customer's token for ``connection``; an earlier one stops working."""
        ...

    def connection_for(self, token: str) -> Connection | None:
        """The connection whose customer holds ``token``, or None."""
        ...


class InMemoryCustomerTokens:
    """Customer tokens in process memory, hashed; lost on restart (see docs/p4.md, open points)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_digest: dict[str, tuple[Connection, datetime]] = {}
        self._digest_of: dict[Connection, str] = {}

    def issue(self, connection: Connection, token: str, at: datetime) -> None:
        digest = token_digest(token)
        with self._lock:
            old = self._digest_of.pop(connection, None)
            if old is not None:
                del self._by_digest[old]
            self._by_digest[digest] = (connection, at)
            self._digest_of[connection] = digest

    def connection_for(self, token: str) -> Connection | None:
        with self._lock:
            found = self._by_digest.get(token_digest(token))
        return None if found is None else found[0]
