"""Meter keys encrypted at rest with AES-GCM under a store master key (SYSTEM C4).

The CS holds per-meter keys: the DLMS encryption and authentication keys of every E-meter (DSMR P3
security suite 0, DSMR-FACTS §3.5) and the gas meters' P2 keys (DSMR-FACTS §2.5). None of them is ever
written in plaintext. Rules this module keeps:
- the master key (AES-256, 32 bytes) comes from the caller (a secret manager, never the database);
- every sealed key is bound to its place, (equipment id, kind, version), by GCM associated data: a row
  copied onto another meter or kind does not unseal;
- the 96-bit nonce comes from the caller's nonce source (``os.urandom`` at the composition root). It is
  not a counter kept in the database, because that counter repeats when a backup is restored, and a
  repeated GCM nonce under one key leaks both plaintexts and the authentication key. STYLE 3 asks for
  counters where a standard defines the nonce; no standard defines this one;
- a wrong master key or a tampered row raises AuthenticationError; no key material is in any message.
Sans-I/O: no clock, no randomness of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meterkast.central.model import KeyKind
from meterkast.errors import AuthenticationError, InvalidInput

MASTER_KEY_BYTES = 32
NONCE_BYTES = 12
KEY_SIZES = (16, 32)  # DSMR keys are AES-128; 32 leaves room for AES-256 keys
_CONTEXT_LABEL = b"meterkast key at rest v1"

NonceSource = Callable[[int], bytes]


@dataclass(frozen=True, slots=True)
class SealedKey:
    nonce: bytes
    ciphertext: bytes  # ciphertext followed by the 16-byte GCM tag


def key_context(equipment_id: str, kind: KeyKind, version: int) -> bytes:
    """The associated data that binds a sealed key to its row."""
    return b"\x00".join((_CONTEXT_LABEL, equipment_id.encode("ascii"), kind.value.encode("ascii"), b"%d" % version))


class KeySealer:
    """Seals and unseals meter keys under one master key."""

    def __init__(self, master_key: bytes, nonce_source: NonceSource) -> None:
        if not isinstance(master_key, bytes) or len(master_key) != MASTER_KEY_BYTES:
            size = len(master_key) if isinstance(master_key, bytes) else type(master_key).__name__
            raise InvalidInput(
                f"store master key has {size} bytes; it must be {MASTER_KEY_BYTES} bytes (AES-256)"
            )
        self._aead = AESGCM(master_key)
        self._nonce_source = nonce_source

    def seal(self, key: bytes, context: bytes) -> SealedKey:
        if not isinstance(key, bytes) or len(key) not in KEY_SIZES:
            size = len(key) if isinstance(key, bytes) else type(key).__name__
            raise InvalidInput(f"meter key has {size} bytes; it must be one of {KEY_SIZES} bytes")
        nonce = self._nonce_source(NONCE_BYTES)
        if not isinstance(nonce, bytes) or len(nonce) != NONCE_BYTES:
            raise InvalidInput(f"nonce source gave {nonce!r}; it must give {NONCE_BYTES} random bytes")
        return SealedKey(nonce, self._aead.encrypt(nonce, key, context))

    def unseal(self, sealed: SealedKey, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, context)
        except InvalidTag as exc:
            where = context.removeprefix(_CONTEXT_LABEL + b"\x00").replace(b"\x00", b"/").decode("ascii", "replace")
            raise AuthenticationError(
                f"sealed key {where} failed authentication: wrong store "
                "master key, or the row was altered or moved"
            ) from exc
