"""Association establishment on the E-meter: AARQ in, decision, AARE out (DSMR P3 §2.1, §3.2; IEC 62056-5-3
ACSE and HLS).

Rules (each refusal names its clause and carries a ``MeterkastError`` for the shell's log):
- the client SAP is the wrapper's source wPort: 16 public, 1 management (P3 §2.1); the pre-established
  client 102 has "No objects that can be accessed" (§2.1.2) and any other SAP is unknown: refused;
- public client: application context LN (1), lowest-level security ("No security ... allowed for Public
  Client only", §3.2.2), plain InitiateRequest; services GET, block transfer with GET, selective access
  (§2.1.1);
- management client: context LN with ciphering (3, §3.2.3.1 item 1), mechanism HLS5-GMAC (§3.2.3 "HLS";
  HLS3/4 are allowed by §3.2.2 but not implemented), its system title as calling-AP-title, a challenge CtoS
  of 8..64 octets, and a glo-initiate-request, "encrypted and authenticated" (item 3) under the global keys
  (item 5): its invocation counter starts the guard ("shall not validate the first Frame Counter", §3.2.3.1);
- InitiateRequest: no dedicated key (item 5), DLMS version 6, a client max receive PDU of at least
  ``MIN_CLIENT_PDU`` (0 = no limit); the conformance is the intersection of what both offer;
- a refused AARQ gets ``rejected-permanent`` with the ACSE diagnostic (and a ConfirmedServiceError for an
  InitiateRequest the meter cannot take); an accepted HLS5 AARQ gets "accepted, authentication-required"
  with the meter's system title, its challenge StoC and a ciphered InitiateResponse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from meterkast.cosem.access import Client
from meterkast.dlms import (
    AARE,
    AARQ,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    CipheredApdu,
    ConfirmedServiceError,
    Conformance,
    CounterPolicy,
    GeneralGloCiphering,
    InitiateRequest,
    InitiateResponse,
    InvocationCounter,
    InvocationCounterGuard,
    MechanismName,
    SecurityKeys,
    cipher_apdu,
    decipher_apdu,
    decode_apdu,
)
from meterkast.dlms.ciphered import AUTHENTICATED_AND_ENCRYPTED
from meterkast.dlms.hls import MAX_CHALLENGE, MIN_CHALLENGE
from meterkast.dlms.initiate import (
    DLMS_VERSION,
    DSMR_MANAGEMENT_CONFORMANCE,
    DSMR_SERVER_MAX_PDU,
    InitiateError,
    ServiceErrorType,
)
from meterkast.dlms.security import describe_system_title
from meterkast.errors import AuthenticationError, CodecError, CommandRefused, MeterkastError

D = AcseServiceUserDiagnostic
MIN_CLIENT_PDU = 64  # room for a datablock header, the ciphering and some data
PUBLIC_CONFORMANCE = (Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
                      | Conformance.SELECTIVE_ACCESS)  # P3 §2.1.1
OFFERED = {Client.PUBLIC: PUBLIC_CONFORMANCE, Client.MANAGEMENT: DSMR_MANAGEMENT_CONFORMANCE}


def require_authenticated_and_encrypted(apdu: CipheredApdu | GeneralGloCiphering, title: bytes, what: str) -> None:
    """P3 §3.2.3.1 item 2, for both directions once associated: only 0x30. 0x20 has no tag and 0x00 no
    protection at all, so such a frame proves nothing (``what``: "reply", "APDU")."""
    if apdu.security_control != AUTHENTICATED_AND_ENCRYPTED:
        raise AuthenticationError(f"{describe_system_title(title)}: {what} with security control "
                                  f"0x{apdu.security_control.byte:02X}; only 0x30 (authenticated and encrypted) "
                                  "is taken (P3 §3.2.3.1 item 2)")


@dataclass(frozen=True, slots=True)
class Accepted:
    client: Client
    context: ApplicationContext
    mechanism: MechanismName
    conformance: Conformance
    client_max_pdu: int
    client_system_title: bytes | None = None
    challenge: bytes | None = None  # CtoS, for HLS pass 4
    guard: InvocationCounterGuard | None = None  # counters of the client's ciphered APDUs

    @property
    def ciphered(self) -> bool:
        return self.context is ApplicationContext.LN_CIPHERING


@dataclass(frozen=True, slots=True)
class Refused:
    diagnostic: AcseServiceUserDiagnostic
    error: MeterkastError
    context: ApplicationContext = ApplicationContext.LN
    initiate_error: InitiateError | None = None


def _refuse(diagnostic: AcseServiceUserDiagnostic, error: MeterkastError, aarq: AARQ,
            initiate_error: InitiateError | None = None) -> Refused:
    return Refused(diagnostic, error, aarq.application_context, initiate_error)


def _initiate(client: Client, request: InitiateRequest, aarq: AARQ, *, title: bytes | None = None,
              challenge: bytes | None = None, guard: InvocationCounterGuard | None = None) -> Accepted | Refused:
    if request.dedicated_key is not None:
        return _refuse(D.NO_REASON_GIVEN, CommandRefused(
            "AARQ with a dedicated key refused: \"Only Global Encryption Keys shall be used\" (P3 §3.2.3.1 item 5)"),
            aarq, InitiateError.OTHER)
    if request.dlms_version < DLMS_VERSION:
        return _refuse(D.NO_REASON_GIVEN, CommandRefused(
            f"AARQ proposes DLMS version {request.dlms_version}; the meter speaks version {DLMS_VERSION}"),
            aarq, InitiateError.DLMS_VERSION_TOO_LOW)
    max_pdu = request.client_max_receive_pdu_size or 0xFFFF
    if max_pdu < MIN_CLIENT_PDU:
        error = CommandRefused(f"client max receive PDU {max_pdu} is below {MIN_CLIENT_PDU} octets")
        return _refuse(D.NO_REASON_GIVEN, error, aarq, InitiateError.PDU_SIZE_TOO_SHORT)
    conformance = request.conformance & OFFERED[client]
    return Accepted(client, aarq.application_context, aarq.mechanism or MechanismName.LOWEST, conformance, max_pdu,
                    title, challenge, guard)


Check = Callable[[AARQ, SecurityKeys | None], MeterkastError | None]


def _who(aarq: AARQ) -> str:
    return describe_system_title(aarq.calling_ap_title or bytes(8))


def _when(failed: Callable[[AARQ, SecurityKeys | None], bool], error: Callable[[AARQ], MeterkastError]) -> Check:
    return lambda aarq, keys: error(aarq) if failed(aarq, keys) else None


# (diagnostic, check) in the order the meter applies them; the first that fails refuses the AARQ.
_PUBLIC_CHECKS: tuple[tuple[AcseServiceUserDiagnostic, Check], ...] = (
    (D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, _when(
        lambda a, _k: a.application_context is not ApplicationContext.LN,
        lambda a: CommandRefused(f"public client asked for context {a.application_context.name}; it has LN "
                                 "without ciphering (P3 §3.2.3.1)"))),
    (D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED, _when(
        lambda a, _k: a.mechanism not in (None, MechanismName.LOWEST),
        lambda a: CommandRefused(f"public client asked for {a.mechanism!r}; it uses lowest-level security "
                                 "(P3 §3.2.2)"))),
    (D.NO_REASON_GIVEN, _when(
        lambda a, _k: not isinstance(a.user_information, InitiateRequest),
        lambda _a: CommandRefused("public AARQ without a plain InitiateRequest"))),
)
_MANAGEMENT_CHECKS: tuple[tuple[AcseServiceUserDiagnostic, Check], ...] = (
    (D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, _when(
        lambda a, _k: a.application_context is not ApplicationContext.LN_CIPHERING,
        lambda _a: CommandRefused("management client must use context 3, LN with ciphering (P3 §3.2.3.1 item 1)"))),
    (D.AUTHENTICATION_MECHANISM_NAME_REQUIRED, _when(
        lambda a, _k: a.mechanism is None,
        lambda _a: AuthenticationError("management client without an authentication mechanism; HLS5-GMAC is "
                                       "required (P3 §3.2.3)"))),
    (D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED, _when(
        lambda a, _k: a.mechanism is not MechanismName.HIGH_GMAC,
        lambda a: AuthenticationError(f"mechanism {a.mechanism!r} is not offered; this meter authenticates with "
                                      "HLS5-GMAC"))),
    (D.CALLING_AP_TITLE_NOT_RECOGNIZED, _when(
        lambda a, _k: a.calling_ap_title is None or len(a.calling_ap_title) != 8,
        lambda _a: AuthenticationError("HLS5 needs the client's 8-octet system title as calling-AP-title"))),
    (D.AUTHENTICATION_FAILURE, _when(
        lambda a, _k: not MIN_CHALLENGE <= len(a.calling_authentication_value or b"") <= MAX_CHALLENGE,
        lambda a: AuthenticationError(f"{_who(a)}: HLS challenge CtoS must be {MIN_CHALLENGE}..{MAX_CHALLENGE} "
                                      "octets"))),
    (D.AUTHENTICATION_FAILURE, _when(
        lambda _a, k: k is None,
        lambda a: AuthenticationError(f"{_who(a)}: this meter has no global keys, so it cannot authenticate a "
                                      "management client"))),
    (D.NO_REASON_GIVEN, _when(
        lambda a, _k: not isinstance(a.user_information, CipheredApdu) or a.user_information.plain_tag != 0x01
        or a.user_information.security_control != AUTHENTICATED_AND_ENCRYPTED,
        lambda a: CommandRefused(f"{_who(a)}: the InitiateRequest must be a glo-initiate-request, authenticated "
                                 "and encrypted (security control 0x30; P3 §3.2.3.1 items 2, 3)"))),
)


def _first_failure(checks: tuple[tuple[AcseServiceUserDiagnostic, Check], ...], aarq: AARQ,
                   keys: SecurityKeys | None) -> Refused | None:
    for diagnostic, check in checks:
        error = check(aarq, keys)
        if error is not None:
            return _refuse(diagnostic, error, aarq)
    return None


def _public(aarq: AARQ) -> Accepted | Refused:
    refused = _first_failure(_PUBLIC_CHECKS, aarq, None)
    if refused is not None or not isinstance(aarq.user_information, InitiateRequest):
        return refused or _refuse(D.NO_REASON_GIVEN, CommandRefused("no InitiateRequest"), aarq)
    return _initiate(Client.PUBLIC, aarq.user_information, aarq)


def _management(aarq: AARQ, keys: SecurityKeys | None) -> Accepted | Refused:
    refused = _first_failure(_MANAGEMENT_CHECKS, aarq, keys)
    title, ciphered = aarq.calling_ap_title, aarq.user_information
    if refused is not None or title is None or keys is None or not isinstance(ciphered, CipheredApdu):
        return refused or _refuse(D.NO_REASON_GIVEN, CommandRefused("incomplete AARQ"), aarq)
    guard = InvocationCounterGuard(title, policy=CounterPolicy.EXACTLY_NEXT)
    try:
        request = decode_apdu(decipher_apdu(ciphered, system_title=title, keys=keys, guard=guard))
    except AuthenticationError as exc:  # wrong keys: the tag does not verify; names the client's title
        return _refuse(D.AUTHENTICATION_FAILURE, exc, aarq)
    except CodecError as exc:
        return _refuse(D.NO_REASON_GIVEN, exc, aarq)
    if not isinstance(request, InitiateRequest):
        return _refuse(D.NO_REASON_GIVEN, CommandRefused(f"{_who(aarq)}: user-information is not an "
                                                         "InitiateRequest"), aarq)
    return _initiate(Client.MANAGEMENT, request, aarq, title=title, challenge=aarq.calling_authentication_value,
                     guard=guard)


def evaluate_aarq(client_address: int, aarq: AARQ, keys: SecurityKeys | None) -> Accepted | Refused:
    """The meter's decision on an AARQ from wrapper wPort ``client_address`` (module docstring)."""
    if client_address == Client.PUBLIC:
        return _public(aarq)
    if client_address == Client.MANAGEMENT:
        return _management(aarq, keys)
    return _refuse(D.NO_REASON_GIVEN, CommandRefused(
        f"client SAP {client_address} has no association with this meter: 1 management, 16 public; the "
        "pre-established client 102 has no objects (P3 §2.1.2)"), aarq)


def _initiate_response(accepted: Accepted) -> InitiateResponse:
    return InitiateResponse(accepted.conformance, DSMR_SERVER_MAX_PDU)


def accepted_aare(accepted: Accepted, *, system_title: bytes, keys: SecurityKeys | None,
                  counter: InvocationCounter, challenge: bytes | None) -> AARE:
    """AARE for an accepted AARQ; with HLS5, "accepted" + authentication-required + StoC (pass 2)."""
    if not accepted.ciphered or keys is None:
        return AARE(AssociationResult.ACCEPTED, D.NULL, accepted.context,
                    user_information=_initiate_response(accepted))
    ciphered = cipher_apdu(_initiate_response(accepted).encode(), system_title=system_title,
                           invocation_counter=counter.take(), keys=keys)
    return AARE(AssociationResult.ACCEPTED, D.AUTHENTICATION_REQUIRED, accepted.context, system_title,
                MechanismName.HIGH_GMAC, challenge, ciphered)


def refused_aare(refused: Refused, *, system_title: bytes) -> AARE:
    error = (None if refused.initiate_error is None
             else ConfirmedServiceError(ServiceErrorType.INITIATE, refused.initiate_error))
    title = system_title if refused.context is ApplicationContext.LN_CIPHERING else None
    return AARE(AssociationResult.REJECTED_PERMANENT, refused.diagnostic, refused.context, title,
                user_information=error)
