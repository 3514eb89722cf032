"""HLS authentication mechanism 5, GMAC (DSMR P3 §3.2.3 "mechanism_id(5)"; IEC 62056-5-3 HLS pass 1–4).

1. The client sends an AARQ with mechanism-name HIGH_GMAC, its system title (calling-AP-title) and a
   challenge CtoS (calling-authentication-value).
2. The server answers an AARE "accepted, authentication-required" with its system title
   (responding-AP-title) and a challenge StoC (responding-authentication-value).
3. The client invokes ``reply_to_HLS_authentication`` (Association LN, class 15, 0-0:40.0.0.255, method 1)
   with f(StoC) = SC ‖ IC ‖ GMAC(SC ‖ AK ‖ StoC): SC = 0x10 (suite 0, authentication only), IC the client's
   invocation counter, GMAC under the encryption key with IV = client system title ‖ IC, tag 12 bytes.
4. The server checks it and returns f(CtoS), computed the same way with its own system title and counter;
   the client checks that.

Rules this module keeps: a challenge comes from the injected ``RandomSource`` (the shell passes
``random.SystemRandom()`` for a real association, a seeded ``random.Random`` in simulation); a response
that does not verify raises ``AuthenticationError`` naming the system title it claimed to come from.
"""

from __future__ import annotations

from meterkast.dlms.ciphered import AUTHENTICATED_ONLY, SecurityControl
from meterkast.dlms.cosem import ClassId, MethodDescriptor
from meterkast.dlms.data import OctetString
from meterkast.dlms.obis import ASSOCIATION_LN_CURRENT
from meterkast.dlms.security import SecurityKeys, describe_system_title, protect, unprotect
from meterkast.dlms.service_common import DEFAULT_INVOKE, ActionResult, InvokeIdAndPriority
from meterkast.dlms.service_set_action import ActionRequestNormal, ActionResponseNormal
from meterkast.errors import AuthenticationError, InvalidInput
from meterkast.randomness import RandomSource

REPLY_TO_HLS_AUTHENTICATION = MethodDescriptor(ClassId.ASSOCIATION_LN, ASSOCIATION_LN_CURRENT, 1)
MIN_CHALLENGE = 8
MAX_CHALLENGE = 64
RESPONSE_SIZE = 1 + 4 + 12


def make_challenge(rng: RandomSource, length: int = 16) -> bytes:
    """A fresh challenge of 8..64 octets (IEC 62056-5-3 HLS pass 1/2)."""
    if not MIN_CHALLENGE <= length <= MAX_CHALLENGE:
        raise InvalidInput(f"an HLS challenge is {MIN_CHALLENGE}..{MAX_CHALLENGE} octets, not {length}")
    return rng.getrandbits(8 * length).to_bytes(length, "big")


def hls_gmac_response(challenge: bytes, *, system_title: bytes, invocation_counter: int,
                      keys: SecurityKeys) -> bytes:
    """f(challenge) = SC ‖ IC ‖ GMAC(SC ‖ AK ‖ challenge), by the party with ``system_title``."""
    signed = protect(challenge, control=AUTHENTICATED_ONLY, system_title=system_title,
                     invocation_counter=invocation_counter, keys=keys)
    return bytes((AUTHENTICATED_ONLY.byte,)) + invocation_counter.to_bytes(4, "big") + signed[len(challenge):]


def verify_hls_gmac_response(response: bytes, challenge: bytes, *, system_title: bytes, keys: SecurityKeys) -> int:
    """Check f(challenge) from the party with ``system_title``; returns the invocation counter it used."""
    who = describe_system_title(system_title)
    if len(response) != RESPONSE_SIZE:
        raise AuthenticationError(f"{who}: HLS5 response is {len(response)} bytes, expected {RESPONSE_SIZE} "
                                  f"(SC ‖ IC ‖ 12-byte GMAC)")
    control = SecurityControl.from_byte(response[0])
    if control != AUTHENTICATED_ONLY:
        raise AuthenticationError(f"{who}: HLS5 response has security control 0x{response[0]:02X}, expected 0x10")
    counter = int.from_bytes(response[1:5], "big")
    try:
        unprotect(challenge + response[5:], control=control, system_title=system_title, invocation_counter=counter,
                  keys=keys)
    except AuthenticationError as exc:
        raise AuthenticationError(f"{who}: HLS5 authentication failed: the GMAC over the challenge does not match; "
                                  f"check this meter's authentication and encryption keys") from exc
    return counter


def reply_to_hls_request(response: bytes, invoke: InvokeIdAndPriority = DEFAULT_INVOKE) -> ActionRequestNormal:
    """Pass 3: the client's ACTION carrying f(StoC)."""
    return ActionRequestNormal(REPLY_TO_HLS_AUTHENTICATION, OctetString(response), invoke)


def reply_to_hls_answer(response: bytes, invoke: InvokeIdAndPriority = DEFAULT_INVOKE) -> ActionResponseNormal:
    """Pass 4: the server's ACTION response carrying f(CtoS)."""
    return ActionResponseNormal(ActionResult.SUCCESS, OctetString(response), invoke)
