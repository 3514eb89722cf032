"""The E-meter's P3 invocation counters that outlive associations and restarts, sans I/O (DSMR 4.2.2 P3
§3.2.3.1; IEC 62056-5-3 security: IV = system title ‖ invocation counter; NIST SP 800-38D §8).

AES-GCM is broken if one key ever encrypts under the same IV twice, and a receiver that accepts a counter
it has seen before with that key accepts a replay. So the meter keeps, in its persisted state:

* ``server_next``: its own counter for the next APDU it protects. A fresh meter starts at 1 (0 is what a
  client such as dlms-cosem holds as "nothing received yet", and it refuses a first counter not above it);
  it is never reset, also not by a new association, a restart or a key change (P3 §3.2.3.1 "may be reset",
  not "shall": keeping it is the safe choice, see ``cosem.keys``);
* ``client_last``: per key identity, the highest client counter it accepted. A new association's AARQ
  must carry a counter above it, and so must every later ciphered APDU (also on another connection under
  the same key). The identity is the client's system title and a fingerprint of the global unicast
  encryption key (the GCM key; the IV space belongs to it): SHA-256 over a label and the key, first 8
  bytes. The raw key is never stored here. A key change (global_key_transfer) gives a new identity, so
  what was remembered for the old key does not bind the new one (Green Book: the counter is per key).

``version`` goes up on every change; the shell persists ``to_json()`` whenever it moved, *before* the
reply that used a new server counter leaves (``io.p3_server``), so a restarted meter never repeats one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from meterkast.dlms.security import MAX_INVOCATION_COUNTER, InvocationCounter, SecurityKeys, describe_system_title
from meterkast.errors import InvalidInput, ReplayError

FIRST_SERVER_COUNTER = 1
_FINGERPRINT_LABEL = b"meterkast P3 invocation counter key id v1"


def key_identity(client_system_title: bytes, keys: SecurityKeys) -> str:
    """``<client system title hex>/<16 hex digits>``: who sends, under which encryption key (not the key)."""
    digest = hashlib.sha256(_FINGERPRINT_LABEL + keys.encryption_key).hexdigest()[:16]
    return f"{client_system_title.hex().upper()}/{digest}"


def _counter(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INVOCATION_COUNTER:
        raise InvalidInput(f"stored P3 counter state: {what} {value!r} is not an Unsigned32")
    return value


@dataclass(slots=True)
class P3Counters:
    """The meter's own counter and the last client counter per key identity (module docstring)."""

    server: InvocationCounter = field(default_factory=lambda: InvocationCounter(FIRST_SERVER_COUNTER))
    client_last: dict[str, int] = field(default_factory=dict)
    _changes: int = 0

    @property
    def version(self) -> tuple[int, int]:
        """Differs whenever anything that must be persisted moved (the server counter included)."""
        return self._changes, self.server.next_value

    def check_client(self, client_system_title: bytes, keys: SecurityKeys, counter: int) -> None:
        """Raise ``ReplayError`` unless ``counter`` is above every counter accepted under these keys."""
        last = self.client_last.get(key_identity(client_system_title, keys))
        if last is not None and counter <= last:
            raise ReplayError(
                f"{describe_system_title(client_system_title)}: invocation counter {counter} is not above "
                f"{last}, the last one this meter accepted under the same key (also in an earlier association); "
                f"a counter is used once per key (DSMR P3 §3.2.3.1)")

    def accept_client(self, client_system_title: bytes, keys: SecurityKeys, counter: int) -> None:
        """Remember ``counter`` (checked first): call only once the APDU that carried it verified."""
        self.check_client(client_system_title, keys, counter)
        self.client_last[key_identity(client_system_title, keys)] = counter
        self._changes += 1

    def to_json(self) -> dict[str, Any]:
        return {"server_next": self.server.next_value, "client_last": dict(sorted(self.client_last.items()))}

    @classmethod
    def from_json(cls, data: object) -> P3Counters:
        if not isinstance(data, dict) or not isinstance(data.get("client_last", {}), dict):
            raise InvalidInput("stored P3 counter state is not {server_next, client_last}")
        last = {str(k): _counter(v, f"client counter of {k}") for k, v in data.get("client_last", {}).items()}
        return cls(InvocationCounter(_counter(data.get("server_next", FIRST_SERVER_COUNTER), "server_next")), last)
