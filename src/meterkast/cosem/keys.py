"""Key change over P3: Security setup (class 64) ``global_key_transfer`` with AES key wrap, sans I/O
(DSMR 4.2.2 P3 §3.2.1, §3.2.3.1, §5.1 and its footnote 4; DSMR-M 4.4.14, 4.4.24; Blue Book class 64;
RFC 3394).

* key_data ::= array of structure {key_id enum, key_wrapped octet-string}; key_id (0) global unicast
  encryption key, (1) global broadcast encryption key, (2) authentication key, (3) master key (KEK).
* Each key travels wrapped with the AES key wrap of RFC 3394 under the meter's master key, the KEK
  (security suite 0: "AES-128 for key wrapping", P3 §3.2.3.1 item 2; DSMR-M 4.4.24: "updated using the
  meter master key with a secure key wrapping function"). A 16-octet key wraps to 24 octets.
* DSMR changes the global unicast encryption key and the authentication key; "All keys (except the master
  key)" (DSMR-M 4.4.14), and DSMR uses no broadcast key: key ids 1 and 3 are refused.
* "The new key becomes effective with the next call from the CS within the same communication session.
  This means that the ACK will be encrypted with the old key. The next message shall use the new key"
  (P3 §5.1, footnote 4): the meter answers under the old keys and swaps right after (``server.py``); the
  client swaps when it reads the ACK (``P3Client.replace_keys``).
* Invocation counters: "The Frame Counters ... may be reset to zero after a successful change of the Global
  Encryption Key" (P3 §3.2.3.1). They *may*; here they are kept and keep rising: the CS checks that the
  meter's counter is "higher than in a previous message", also in the session that changed the key, and a
  new key makes every (key, IV) pair new whatever the counter.

Refusals (the texts name no action-result for them; these follow the meaning of the codes): a parameter
that is not key_data, or a key of the wrong size → ``type-unmatched``; a key id DSMR does not change →
``read-write-denied`` (as Gurux answers an unsupported key type); a key whose RFC 3394 integrity check fails
(wrapped under another KEK, or altered) → ``other-reason``. A refused transfer changes no key: the transfer
is all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from meterkast.dlms import ActionResult, Array, DlmsData, EnumValue, ObisCode, OctetString, SecurityKeys, Structure
from meterkast.dlms.cosem import ClassId, MethodDescriptor
from meterkast.dlms.security import KEY_SIZE
from meterkast.errors import AuthenticationError, CodecError, CommandRefused, InvalidInput, MeterkastError

SECURITY_SETUP = ObisCode.parse("0-0:43.0.0.255")
SECURITY_ACTIVATE = MethodDescriptor(ClassId.SECURITY_SETUP, SECURITY_SETUP, 1)
GLOBAL_KEY_TRANSFER = MethodDescriptor(ClassId.SECURITY_SETUP, SECURITY_SETUP, 2)
WRAPPED_SIZE = KEY_SIZE + 8  # RFC 3394: one 64-bit integrity block more


class KeyId(IntEnum):
    GLOBAL_UNICAST_ENCRYPTION = 0
    GLOBAL_BROADCAST_ENCRYPTION = 1
    AUTHENTICATION = 2
    MASTER = 3


CHANGEABLE = (KeyId.GLOBAL_UNICAST_ENCRYPTION, KeyId.AUTHENTICATION)


def _check_kek(kek: bytes) -> None:
    if len(kek) != KEY_SIZE:
        raise InvalidInput(f"the master key (KEK) must be {KEY_SIZE} bytes for security suite 0, got {len(kek)}")


def key_data(new_keys: SecurityKeys, kek: bytes) -> Array:
    """The ``global_key_transfer`` parameter that replaces both global keys (the client's side)."""
    _check_kek(kek)
    pairs = ((KeyId.GLOBAL_UNICAST_ENCRYPTION, new_keys.encryption_key),
             (KeyId.AUTHENTICATION, new_keys.authentication_key))
    return Array(tuple(Structure((EnumValue(key_id), OctetString(aes_key_wrap(kek, key)))) for key_id, key in pairs))


@dataclass(frozen=True, slots=True)
class KeyTransfer:
    """Keys a meter accepted and will use from the next APDU on; ``None`` keeps that key."""

    encryption_key: bytes | None = field(default=None, repr=False)
    authentication_key: bytes | None = field(default=None, repr=False)

    @property
    def key_ids(self) -> tuple[KeyId, ...]:
        return tuple(k for k, v in ((KeyId.GLOBAL_UNICAST_ENCRYPTION, self.encryption_key),
                                    (KeyId.AUTHENTICATION, self.authentication_key)) if v is not None)

    def applied_to(self, current: SecurityKeys) -> SecurityKeys:
        return SecurityKeys(self.encryption_key or current.encryption_key,
                            self.authentication_key or current.authentication_key)


@dataclass(frozen=True, slots=True)
class TransferRefused:
    result: ActionResult
    error: MeterkastError


def accept_key_data(parameters: DlmsData | None, kek: bytes) -> KeyTransfer | TransferRefused:
    """The meter's side: unwrap every key of ``key_data`` under ``kek``, or say why none is taken."""
    if not isinstance(parameters, Array) or not parameters.items:
        return TransferRefused(ActionResult.TYPE_UNMATCHED, CodecError("global_key_transfer needs key_data: a "
                                                                       "non-empty array of {key_id, key_wrapped}"))
    keys: dict[KeyId, bytes] = {}
    for item in parameters.items:
        if not (isinstance(item, Structure) and len(item.items) == 2 and isinstance(item.items[0], EnumValue)
                and isinstance(item.items[1], OctetString)):
            return TransferRefused(ActionResult.TYPE_UNMATCHED,
                                   CodecError("a key_data element is not a structure {enum, octet-string}"))
        key_id, wrapped = item.items[0].value, item.items[1].value
        if key_id not in CHANGEABLE or key_id in keys:
            return TransferRefused(ActionResult.READ_WRITE_DENIED, CommandRefused(
                f"key_id {key_id} cannot be transferred: DSMR changes the global unicast encryption key (0) and "
                f"the authentication key (2), each once per transfer (DSMR-M 4.4.14)"))
        if len(wrapped) != WRAPPED_SIZE:
            return TransferRefused(ActionResult.TYPE_UNMATCHED, CodecError(
                f"wrapped key {key_id} is {len(wrapped)} octets; an AES-128 key wraps to {WRAPPED_SIZE} (RFC 3394)"))
        try:
            keys[KeyId(key_id)] = aes_key_unwrap(kek, wrapped)
        except InvalidUnwrap:
            return TransferRefused(ActionResult.OTHER_REASON, AuthenticationError(
                f"wrapped key {key_id} fails the RFC 3394 integrity check: not wrapped under this meter's master "
                f"key, or altered; no key was changed"))
    return KeyTransfer(keys.get(KeyId.GLOBAL_UNICAST_ENCRYPTION), keys.get(KeyId.AUTHENTICATION))
