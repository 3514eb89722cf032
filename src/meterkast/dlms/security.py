"""DSMR P3 security suite 0: AES-128-GCM ciphering of xDLMS APDUs (DSMR P3 §3.2.3; IEC 62056-5-3 security).

* Keys: the global unicast encryption key EK and the authentication key AK, 16 bytes each. "Only Global
  Encryption Keys shall be used" (§3.2.3.1 item 5): no dedicated keys.
* IV (12 bytes) = system title of the sender (8) ‖ invocation counter (4, big-endian). The counter is the
  "frame counter" of §3.2.3.1; with one key an IV must never repeat.
* Authenticated and encrypted (SC 0x30): AAD = SC ‖ AK, the payload is ciphertext ‖ 12-byte tag.
  Authenticated only (0x10): AAD = SC ‖ AK ‖ plaintext, nothing is encrypted, payload = plaintext ‖ tag.
  Encrypted only (0x20): no AAD and no tag (AES-GCM's counter mode alone).
* Counters (§3.2.3.1): the CS checks that a meter's counter is "higher than in a previous message"
  (``CounterPolicy.INCREASING``); the meter checks that each CS frame is "exactly 1 higher than the frame
  counter of the previous message", does not validate the first one of an association, and releases the
  association otherwise (``CounterPolicy.EXACTLY_NEXT``). A sender's counter wraps to zero at its maximum
  (the key must have been changed before then).

Rules this module keeps: no clock, no randomness (the counter is state the caller owns); a guard stores a
counter only after the tag verified, so a forged APDU with a high counter cannot move it; failures name the
sender's system title and never a key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meterkast.dlms.ciphered import (
    AUTHENTICATED_AND_ENCRYPTED,
    GLOBAL_CIPHER_TAGS,
    SYSTEM_TITLE_SIZE,
    CipheredApdu,
    GeneralGloCiphering,
    SecurityControl,
)
from meterkast.errors import AuthenticationError, CodecError, InvalidInput, ReplayError

KEY_SIZE = 16
TAG_SIZE = 12
MAX_INVOCATION_COUNTER = 0xFFFF_FFFF
SECURITY_SUITE_0 = 0


def describe_system_title(system_title: bytes) -> str:
    """``4D4D4D0000BC614E (MMM)``: the hex, and the FLAG manufacturer id when the first 3 bytes are letters."""
    flag = system_title[:3].decode("ascii", "replace")
    return f"system title {system_title.hex().upper()}" + (f" ({flag})" if flag.isalpha() else "")


@dataclass(frozen=True, slots=True)
class SecurityKeys:
    """Global keys of one meter; ``repr`` shows neither key."""

    encryption_key: bytes = field(repr=False)
    authentication_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("encryption_key", "authentication_key"):
            if len(getattr(self, name)) != KEY_SIZE:
                raise InvalidInput(f"{name} must be {KEY_SIZE} bytes for security suite 0 (AES-128)")


def _check_title(system_title: bytes) -> None:
    if len(system_title) != SYSTEM_TITLE_SIZE:
        raise InvalidInput(f"a system title is {SYSTEM_TITLE_SIZE} bytes, got {len(system_title)}")


def _check_suite(control: SecurityControl) -> None:
    if control.suite != SECURITY_SUITE_0 or control.compressed or control.broadcast_key:
        raise CodecError(f"security control 0x{control.byte:02X}: only suite 0, unicast key and no compression "
                         f"are supported (DSMR P3 §3.2.3.1 item 2)")


def build_iv(system_title: bytes, invocation_counter: int) -> bytes:
    _check_title(system_title)
    if not 0 <= invocation_counter <= MAX_INVOCATION_COUNTER:
        raise InvalidInput(f"invocation counter {invocation_counter} must be an Unsigned32")
    return system_title + invocation_counter.to_bytes(4, "big")


def _gcm(key: bytes, iv: bytes) -> Cipher[modes.GCM]:
    return Cipher(algorithms.AES(key), modes.GCM(iv, min_tag_length=TAG_SIZE))


def protect(plaintext: bytes, *, control: SecurityControl, system_title: bytes, invocation_counter: int,
            keys: SecurityKeys) -> bytes:
    """The payload of a ciphered APDU: ciphertext ‖ tag, plaintext ‖ tag, or ciphertext (see module doc)."""
    _check_suite(control)
    if not (control.authenticated or control.encrypted):
        return plaintext
    encryptor = _gcm(keys.encryption_key, build_iv(system_title, invocation_counter)).encryptor()
    if control.authenticated:
        header = bytes((control.byte,)) + keys.authentication_key
        encryptor.authenticate_additional_data(header if control.encrypted else header + plaintext)
    body = encryptor.update(plaintext if control.encrypted else b"") + encryptor.finalize()
    if not control.authenticated:
        return body
    tag = encryptor.tag[:TAG_SIZE]
    return (body if control.encrypted else plaintext) + tag


def unprotect(payload: bytes, *, control: SecurityControl, system_title: bytes, invocation_counter: int,
              keys: SecurityKeys) -> bytes:
    """The plaintext of a ciphered payload; a wrong key or altered bytes raise ``AuthenticationError``."""
    _check_suite(control)
    if not (control.authenticated or control.encrypted):
        return payload
    iv = build_iv(system_title, invocation_counter)
    if not control.authenticated:
        # Encryption only: GCM is AES-CTR from J0 + 1, so encrypting again gives the plaintext back.
        keystream = _gcm(keys.encryption_key, iv).encryptor()
        return keystream.update(payload) + keystream.finalize()
    if len(payload) < TAG_SIZE:
        raise AuthenticationError(f"{describe_system_title(system_title)}: ciphered payload of {len(payload)} "
                                  f"bytes is shorter than the {TAG_SIZE}-byte authentication tag")
    body, tag = payload[:-TAG_SIZE], payload[-TAG_SIZE:]
    decryptor = Cipher(algorithms.AES(keys.encryption_key), modes.GCM(iv, tag, min_tag_length=TAG_SIZE)).decryptor()
    header = bytes((control.byte,)) + keys.authentication_key
    decryptor.authenticate_additional_data(header if control.encrypted else header + body)
    try:
        plaintext = decryptor.update(body if control.encrypted else b"") + decryptor.finalize()
    except InvalidTag as exc:
        raise AuthenticationError(
            f"{describe_system_title(system_title)}, invocation counter {invocation_counter}: authentication tag "
            f"does not match; check the encryption and authentication keys of this meter, or the APDU was "
            f"altered") from exc
    return plaintext if control.encrypted else body


class CounterPolicy(Enum):
    INCREASING = "higher than the previous one"  # CS checking a meter (§3.2.3.1)
    EXACTLY_NEXT = "exactly one higher than the previous one"  # meter checking the CS within an association


class InvocationCounterGuard:
    """Receiver state for one sender (one system title): the last accepted invocation counter."""

    def __init__(self, system_title: bytes, *, policy: CounterPolicy = CounterPolicy.INCREASING,
                 last_accepted: int | None = None) -> None:
        _check_title(system_title)
        self.system_title = system_title
        self.policy = policy
        self._last = last_accepted

    @property
    def last_accepted(self) -> int | None:
        return self._last

    def check(self, counter: int) -> None:
        """Raise ``ReplayError`` if ``counter`` breaks the policy; stores nothing."""
        if self._last is None:
            return  # the first counter of an association is not validated (§3.2.3.1)
        good = counter > self._last if self.policy is CounterPolicy.INCREASING else counter == self._last + 1
        if not good:
            raise ReplayError(f"{describe_system_title(self.system_title)}: invocation counter {counter} is not "
                              f"{self.policy.value} ({self._last}); APDU rejected (DSMR P3 §3.2.3.1)")

    def accept(self, counter: int) -> None:
        self.check(counter)
        self._last = counter


Reserve = Callable[[int], tuple[int, int]]


class InvocationCounter:
    """Sender state: the counter for the next APDU; wraps to 0 after 0xFFFFFFFF as the meter does (§3.2.3.1).

    With ``reserve`` (a sender that persists its counter, e.g. the central system's store) no value is handed
    out before it was reserved: ``reserve(at_least)`` records durably that the block [first, end) may be
    used, ``first >= at_least``, and the counter goes on from ``first``; when the block is used up it asks
    again. A restarted sender then starts above everything it may have used, never reusing an IV. Such a
    counter does not wrap: past 0xFFFFFFFF ``reserve`` must refuse (the key must change first).
    """

    def __init__(self, value: int = 0, *, reserve: Reserve | None = None) -> None:
        if not 0 <= value <= MAX_INVOCATION_COUNTER:
            raise InvalidInput(f"invocation counter {value} must be an Unsigned32")
        self._next = value
        self._reserve = reserve
        self._end: int | None = None  # values below it are reserved; None: nothing reserved yet

    @property
    def next_value(self) -> int:
        return self._next

    def reserve_ahead(self, count: int) -> None:
        """Make sure the next ``count`` values are reserved now (a sender calls this where blocking on its
        store is fine, so ``take`` rarely has to); what is left of the current block is skipped."""
        if self._reserve is not None and (self._end is None or self._end - self._next < count):
            self._take_block()

    def _take_block(self) -> None:
        assert self._reserve is not None
        first, end = self._reserve(self._next)
        if first < self._next or not first < end <= MAX_INVOCATION_COUNTER + 1:
            raise InvalidInput(f"counter reservation [{first}, {end}) does not lie above {self._next}")
        self._next, self._end = first, end

    def take(self) -> int:
        if self._reserve is not None and (self._end is None or self._next >= self._end):
            self._take_block()
        value = self._next
        self._next = 0 if value == MAX_INVOCATION_COUNTER and self._reserve is None else value + 1
        return value


def cipher_apdu(plain_apdu: bytes, *, system_title: bytes, invocation_counter: int, keys: SecurityKeys,
                control: SecurityControl = AUTHENTICATED_AND_ENCRYPTED) -> CipheredApdu:
    """glo-ciphered form of an encoded xDLMS APDU (its tag picks the glo- tag)."""
    glo_tag = GLOBAL_CIPHER_TAGS.get(plain_apdu[0]) if plain_apdu else None
    if glo_tag is None:
        raise CodecError(f"APDU tag {plain_apdu[:1].hex().upper() or 'none'} has no glo- ciphered form")
    payload = protect(plain_apdu, control=control, system_title=system_title,
                      invocation_counter=invocation_counter, keys=keys)
    return CipheredApdu(glo_tag, control, invocation_counter, payload)


def _checked_plaintext(plaintext: bytes, expected_tag: int, system_title: bytes) -> bytes:
    if not plaintext or plaintext[0] != expected_tag:
        raise CodecError(f"{describe_system_title(system_title)}: deciphered APDU starts with "
                         f"{plaintext[:1].hex().upper() or 'nothing'}, expected 0x{expected_tag:02X}")
    return plaintext


def decipher_apdu(apdu: CipheredApdu, *, system_title: bytes, keys: SecurityKeys,
                  guard: InvocationCounterGuard | None = None) -> bytes:
    """The encoded plain APDU; ``guard`` (if given) is checked first and moved only after the tag verified."""
    if guard is not None:
        guard.check(apdu.invocation_counter)
    plaintext = unprotect(apdu.payload, control=apdu.security_control, system_title=system_title,
                          invocation_counter=apdu.invocation_counter, keys=keys)
    if guard is not None:
        guard.accept(apdu.invocation_counter)
    return _checked_plaintext(plaintext, apdu.plain_tag, system_title)


def general_glo_cipher(plain_apdu: bytes, *, system_title: bytes, invocation_counter: int, keys: SecurityKeys,
                       control: SecurityControl = AUTHENTICATED_AND_ENCRYPTED) -> GeneralGloCiphering:
    payload = protect(plain_apdu, control=control, system_title=system_title,
                      invocation_counter=invocation_counter, keys=keys)
    return GeneralGloCiphering(system_title, control, invocation_counter, payload)


def general_glo_decipher(apdu: GeneralGloCiphering, *, keys: SecurityKeys,
                         guard: InvocationCounterGuard | None = None) -> bytes:
    if guard is not None:
        if guard.system_title != apdu.system_title:
            raise AuthenticationError(f"general-glo-ciphering from {describe_system_title(apdu.system_title)}, "
                                      f"but this guard is for {describe_system_title(guard.system_title)}")
        guard.check(apdu.invocation_counter)
    plaintext = unprotect(apdu.payload, control=apdu.security_control, system_title=apdu.system_title,
                          invocation_counter=apdu.invocation_counter, keys=keys)
    if guard is not None:
        guard.accept(apdu.invocation_counter)
    if not plaintext:
        raise CodecError(f"{describe_system_title(apdu.system_title)}: general-glo-ciphering carried no APDU")
    return plaintext
