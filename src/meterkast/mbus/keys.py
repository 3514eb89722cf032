"""DSMR P2 key management, sans I/O (DSMR 4.0.7 P2 companion standard §6.5, §6.5.1, App. B1.3).

Two keys per M-Bus device (§6.5):

* the **default key**, unique per device, set by the manufacturer and "never renewed"; it is used
  "exclusively to decrypt every new User key that is received over the M-Bus";
* the **user key**, which encrypts every message (mode 15, ``meterkast.mbus.security``). An all-zero
  user key means "no User Key is defined, i.e. all subsequent communication is unencrypted" (§6.5.1):
  messages then use mode 0 and carry no frame counter (§5.1, §5.2).

Key transfer (§6.5.1, P3 4.0.7 §3.2.3.1 "Transfer Key handling"): the central system wraps the user key
as AES-128(default key, user key), one block, i.e. AES-128-ECB (equivalently CBC with a zero IV). P3 carries
the wrapped key MSB first; the E-meter reverses it and sends it over P2 unencrypted (CI 51h) as two 64-bit
integers, least significant byte first::

    07 FD 19 <wrapped[15] … wrapped[8]>    DIF 07: storage 0, the low 64 bits
    47 FD 19 <wrapped[7]  … wrapped[0]>    DIF 47: storage bit set, the high 64 bits

That is the layout App. B1.3 shows (its §6.5.1 table uses unrelated example bytes). Appendix B1.3 has two
misprints: the remark "Storage 0" next to DIF 47h, and the checksum 4Eh (8Eh is right; see docs/p2-security.md).

Rules this module keeps: keys are 16 bytes or ``InvalidInput`` names the key; no message and no ``repr``
shows key bytes; new keys come from an injected ``RandomSource``, never from hidden global state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meterkast.errors import InvalidInput, RecordError
from meterkast.randomness import RandomSource

KEY_SIZE = 16
NO_USER_KEY = bytes(KEY_SIZE)
"""The all-zero user key: no encryption (§5.1, §6.5.1)."""

SET_KEY_LOW = bytes((0x07, 0xFD, 0x19))
"""DIF 07h (64-bit integer, storage 0), VIF FDh, VIFE 19h "AES 128 KEY exchange": the low 64 bits."""
SET_KEY_HIGH = bytes((0x47, 0xFD, 0x19))
"""DIF 47h (64-bit integer, storage bit set), VIF FDh, VIFE 19h: the high 64 bits."""
SET_KEY_RECORDS_SIZE = 2 * (3 + 8)


def check_key(name: str, key: bytes) -> bytes:
    """Return ``key`` as ``bytes`` if it is an AES-128 key, else raise ``InvalidInput`` naming it."""
    if not isinstance(key, bytes | bytearray | memoryview):
        raise InvalidInput(f"{name} must be {KEY_SIZE} bytes (AES-128), got {type(key).__name__}")
    if len(key) != KEY_SIZE:
        raise InvalidInput(f"{name} must be {KEY_SIZE} bytes (AES-128), got {len(key)} bytes")
    return bytes(key)


def _ecb(key: bytes, block: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.ECB())
    context = cipher.encryptor() if encrypt else cipher.decryptor()
    return context.update(block) + context.finalize()


def wrap_user_key(default_key: bytes, user_key: bytes) -> bytes:
    """AES-128(default key, user key): the wrapped key, MSB first as P3 ``transfer_key`` carries it (§6.5.1)."""
    return _ecb(check_key("default key", default_key), check_key("user key", user_key), encrypt=True)


def unwrap_user_key(default_key: bytes, wrapped: bytes) -> bytes:
    """The inverse of ``wrap_user_key``; what the M-Bus device does with a *Set new key* (§6.5.1).

    A wrong default key cannot be detected here (one AES block has no check value): it yields a wrong user
    key, and the first encrypted frame then fails its 2F 2F check.
    """
    return _ecb(check_key("default key", default_key), check_key("wrapped user key", wrapped), encrypt=False)


def encode_set_key_records(wrapped: bytes) -> bytes:
    """The P2 *Set new key* records (CI 51h data) for a wrapped key given MSB first (App. B1.3).

    The E-meter turns the MSB-first P3 octet string LSB first (P3 §3.2.3.1): the 128-bit integer is sent
    little-endian, split into DIF 07h (bytes 8..15 reversed) and DIF 47h (bytes 0..7 reversed).
    """
    lsb_first = check_key("wrapped user key", wrapped)[::-1]
    return SET_KEY_LOW + lsb_first[:8] + SET_KEY_HIGH + lsb_first[8:]


def decode_set_key_records(data: bytes) -> bytes:
    """The wrapped key, MSB first, from the two *Set new key* records (either order is accepted)."""
    if len(data) != SET_KEY_RECORDS_SIZE:
        raise RecordError(f"set-new-key records must be {SET_KEY_RECORDS_SIZE} bytes (07 FD 19 + 8, 47 FD 19 + 8), "
                          f"got {len(data)} (DSMR P2 §6.5.1)")
    halves: dict[bytes, bytes] = {}
    for start in (0, 11):
        dib_vib, value = bytes(data[start:start + 3]), bytes(data[start + 3:start + 11])
        if dib_vib not in (SET_KEY_LOW, SET_KEY_HIGH):
            raise RecordError(f"expected 07 FD 19 or 47 FD 19 (AES key exchange), got {dib_vib.hex(' ').upper()}",
                              offset=start)
        if dib_vib in halves:
            raise RecordError(f"key half {dib_vib.hex(' ').upper()} sent twice; the other half is missing",
                              offset=start)
        halves[dib_vib] = value
    return (halves[SET_KEY_LOW] + halves[SET_KEY_HIGH])[::-1]


def generate_user_key(random: RandomSource) -> bytes:
    """A new user key from the injected source; never the all-zero "no key" value (§6.5.1)."""
    while True:
        key = random.getrandbits(8 * KEY_SIZE).to_bytes(KEY_SIZE, "big")
        if key != NO_USER_KEY:
            return key


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The keys of one M-Bus device as the device, the E-meter or the central system holds them (§6.5).

    ``repr`` hides the key bytes: a key ring may end up in a log line or a test failure.
    """

    default_key: bytes = field(repr=False)
    user_key: bytes = field(default=NO_USER_KEY, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_key", check_key("default key", self.default_key))
        object.__setattr__(self, "user_key", check_key("user key", self.user_key))

    def __repr__(self) -> str:
        return f"KeyRing(is_encrypted={self.is_encrypted})"

    @property
    def is_encrypted(self) -> bool:
        """True once a user key is set: data must then be sent in mode 15 (§5.1)."""
        return self.user_key != NO_USER_KEY

    def with_user_key(self, user_key: bytes) -> KeyRing:
        """The same device with a new user key; the default key never changes (§6.5)."""
        return KeyRing(self.default_key, user_key)

    @property
    def wrapped_user_key(self) -> bytes:
        """The user key wrapped with the default key, MSB first (the P3 ``transfer_key`` payload)."""
        return wrap_user_key(self.default_key, self.user_key)

    @property
    def set_key_records(self) -> bytes:
        """The P2 *Set new key* records that install this ring's user key in the device."""
        return encode_set_key_records(self.wrapped_user_key)

    def accept_set_key_records(self, data: bytes) -> KeyRing:
        """Device side of *Set new key*: unwrap with the default key and use the result (§6.5.1)."""
        return self.with_user_key(unwrap_user_key(self.default_key, decode_set_key_records(data)))
