"""The E-meter's P3 association state machine, sans I/O: APDU bytes in, APDU bytes and events out
(DSMR 4.2.2 P3 §2, §3.2; IEC 62056-5-3 ACSE, xDLMS, HLS and security suite 0).

One ``ServerAssociation`` per transport connection; ``P3Server`` is the meter's side that outlives them
(object table, keys, and ``P3Counters``: the meter→CS invocation counter, which "should be incremented by
exactly one for each frame send", starts at 1 and is never reset by a new association, P3 §3.2.3.1; and
the last client counter accepted per key, which the shell persists with the meter, ``session_counters``).

``receive(client_address, apdu)`` first classifies the bytes (``ServerInput``: decoding, deciphering,
checking the counter and, while HLS is pending, the f(StoC) of reply_to_HLS_authentication), then looks up
``TRANSITIONS[state, input]`` → (next state, ``ServerAction``). The table is total (a test checks it).

Rules this module keeps:
- management association: every xDLMS APDU is glo-ciphered with security control 0x30 both ways; the
  client's counters must go up by exactly one within the association; a counter out of sequence releases
  the association at once, without an answer (P3 §3.2.3.1: "release the Application Association
  immediately" and "shall not send an error"); an APDU whose tag does not verify, a plain APDU in the
  ciphered context, or a ciphered one with another security control than 0x30 (authentication only, encryption
  only, none: P3 §3.2.3.1 item 2) gets an exception-response (deciphering-error) and changes nothing;
- across associations (and connections, and restarts: ``P3Counters`` is persisted): a client counter is
  taken once per key. An AARQ whose counter is not above the last one accepted under its key is refused
  with an AARE rejected-permanent, authentication-failure (``ReplayError``); a later APDU with such a
  counter (another association used it meanwhile) is treated as out of sequence (released, no answer);
- HLS5 (P3 §3.2.3): until f(StoC) verifies only reply_to_HLS_authentication is served; a wrong f(StoC) is
  answered read-write-denied and the association is not established;
- no IV twice: every GCM use of a key takes a fresh counter value (Green Book: the invocation counter is
  incremented after each use of the authenticated encryption function). The meter's f(CtoS) takes one value
  and the ACTION response that carries it the next. The client's f(StoC) must carry the counter after its
  AARQ's; its frame may come one above that (our client) or share it (dlms-cosem 21.3.2, tolerated);
- key change (``cosem.keys``): a successful global_key_transfer is answered under the old keys, and the
  keys are swapped right after the reply is sealed (P3 §5.1 footnote 4); the counters go on;
- malformed or unexpected APDUs get an exception-response; ``receive`` never raises: a ``MeterkastError``
  from the object table is answered as an exception-response too and reported in ``ApduRefused``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum

from meterkast.cosem.access import Client, Ctx, MeterInfo, ObjectModel
from meterkast.cosem.association import e_meter_model
from meterkast.cosem.events import (
    ApduRefused,
    AssociationAborted,
    AssociationEstablished,
    AssociationRefused,
    AssociationReleased,
    GlobalKeysReplaced,
    P3Event,
)
from meterkast.cosem.negotiation import (
    Accepted,
    Refused,
    accepted_aare,
    evaluate_aarq,
    refused_aare,
    require_authenticated_and_encrypted,
)
from meterkast.cosem.services import Request, Services, is_request
from meterkast.cosem.session_counters import P3Counters
from meterkast.dlms import (
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    Apdu,
    CipheredApdu,
    Conformance,
    ExceptionResponse,
    GeneralGloCiphering,
    InitiateResponse,
    InvocationCounter,
    InvocationCounterGuard,
    InvokeIdAndPriority,
    OctetString,
    SecurityKeys,
    ServiceError,
    StateError,
    cipher_apdu,
    decipher_apdu,
    decode_apdu,
    encode_apdu,
    hls_gmac_response,
    make_challenge,
    verify_hls_gmac_response,
)
from meterkast.dlms.hls import REPLY_TO_HLS_AUTHENTICATION
from meterkast.dlms.initiate import DSMR_SERVER_MAX_PDU
from meterkast.dlms.security import describe_system_title, general_glo_cipher, general_glo_decipher
from meterkast.dlms.service_common import DEFAULT_INVOKE
from meterkast.emeter import EMeter
from meterkast.errors import AuthenticationError, CodecError, CommandRefused, MeterkastError, ReplayError
from meterkast.randomness import RandomSource

CIPHERING_OVERHEAD = 1 + 3 + 1 + 4 + 12  # glo tag, length, security control, invocation counter, GCM tag


class ServerState(Enum):
    IDLE = "idle"  # no association
    AWAITING_HLS = "awaiting-hls"  # AARE sent with StoC, waiting for f(StoC) (HLS pass 3)
    ASSOCIATED = "associated"


class ServerInput(Enum):
    AARQ_ACCEPTABLE = "aarq-acceptable"  # public client, lowest-level security
    AARQ_NEEDS_HLS = "aarq-needs-hls"  # management client, HLS5
    AARQ_REFUSED = "aarq-refused"
    HLS_REPLY_VALID = "hls-reply-valid"
    HLS_REPLY_INVALID = "hls-reply-invalid"
    REQUEST = "request"  # GET, SET or ACTION, deciphered where needed
    RLRQ = "rlrq"
    NOT_DECIPHERED = "not-deciphered"  # tag does not verify, or the wrong protection for the context
    REPLAYED = "replayed"  # invocation counter out of sequence
    MALFORMED = "malformed"
    UNEXPECTED = "unexpected"  # a valid APDU that a server never takes (a response, an AARE, ...)


class ServerAction(Enum):
    ACCEPT = "accept"
    CHALLENGE = "challenge"
    REFUSE = "refuse"
    CONFIRM_HLS = "confirm-hls"
    DENY_HLS = "deny-hls"
    SERVE = "serve"
    RELEASE = "release"
    ABORT = "abort"  # drop the association, answer nothing
    REJECT_APDU = "reject-apdu"  # exception-response


S, In, A = ServerState, ServerInput, ServerAction
_EVERYWHERE: dict[ServerInput, tuple[ServerState | None, ServerAction]] = {
    In.AARQ_ACCEPTABLE: (None, A.REFUSE), In.AARQ_NEEDS_HLS: (None, A.REFUSE), In.AARQ_REFUSED: (None, A.REFUSE),
    In.HLS_REPLY_VALID: (None, A.REJECT_APDU), In.HLS_REPLY_INVALID: (None, A.REJECT_APDU),
    In.REQUEST: (None, A.REJECT_APDU), In.RLRQ: (S.IDLE, A.RELEASE), In.NOT_DECIPHERED: (None, A.REJECT_APDU),
    In.REPLAYED: (S.IDLE, A.ABORT), In.MALFORMED: (None, A.REJECT_APDU), In.UNEXPECTED: (None, A.REJECT_APDU),
}
_SPECIFIC: dict[tuple[ServerState, ServerInput], tuple[ServerState, ServerAction]] = {
    (S.IDLE, In.AARQ_ACCEPTABLE): (S.ASSOCIATED, A.ACCEPT),
    (S.IDLE, In.AARQ_NEEDS_HLS): (S.AWAITING_HLS, A.CHALLENGE),
    (S.AWAITING_HLS, In.HLS_REPLY_VALID): (S.ASSOCIATED, A.CONFIRM_HLS),
    (S.AWAITING_HLS, In.HLS_REPLY_INVALID): (S.IDLE, A.DENY_HLS),
    (S.ASSOCIATED, In.REQUEST): (S.ASSOCIATED, A.SERVE),
}
# Every (state, input): the specific row, else the row that holds in every state (None = stay).
TRANSITIONS: dict[tuple[ServerState, ServerInput], tuple[ServerState, ServerAction]] = {
    (state, given): _SPECIFIC.get((state, given)) or (_EVERYWHERE[given][0] or state, _EVERYWHERE[given][1])
    for state in ServerState for given in ServerInput
}


@dataclass(frozen=True, slots=True)
class ServerOutput:
    reply: bytes | None
    events: tuple[P3Event, ...] = ()


@dataclass(slots=True)
class _Classified:
    input: ServerInput
    error: MeterkastError | None = None
    decision: Accepted | Refused | None = None
    request: Request | None = None
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    initiate: bool = False  # an RLRQ that carried an InitiateRequest


@dataclass(slots=True)
class P3Server:
    """The E-meter's P3 side: object table, keys, and the meter's own invocation counter."""

    meter: Callable[[], EMeter]
    info: MeterInfo
    keys: SecurityKeys | None
    rng: RandomSource
    counters: P3Counters = field(default_factory=P3Counters)  # persisted by the shell (session_counters)
    model: ObjectModel = field(default_factory=e_meter_model)
    master_key: bytes | None = field(default=None, repr=False)  # KEK for global_key_transfer (cosem.keys)

    @property
    def counter(self) -> InvocationCounter:
        """The meter's own invocation counter (starts at 1, never reset)."""
        return self.counters.server

    def association(self) -> ServerAssociation:
        """A fresh association state machine for one transport connection."""
        return ServerAssociation(self)


class ServerAssociation:
    def __init__(self, server: P3Server) -> None:
        self.server = server
        self.state = ServerState.IDLE
        self._accepted: Accepted | None = None
        self._challenge = b""  # StoC while HLS is pending
        self._aarq_counter: int | None = None  # the invocation counter of the client's AARQ (HLS pass 1)
        self._services: Services | None = None
        self._general = False  # the last ciphered request came as general-glo-ciphering
        self._actions: dict[ServerAction, Callable[[int, _Classified], tuple[bytes | None, list[P3Event]]]] = {
            A.ACCEPT: self._accept, A.CHALLENGE: self._send_challenge, A.REFUSE: self._refuse,
            A.CONFIRM_HLS: self._confirm_hls, A.DENY_HLS: self._deny_hls, A.SERVE: self._serve,
            A.RELEASE: self._release, A.ABORT: self._abort, A.REJECT_APDU: self._reject,
        }

    @property
    def client(self) -> Client | None:
        return None if self._accepted is None else self._accepted.client

    def receive(self, client_address: int, apdu: bytes) -> ServerOutput:
        classified = self._classify(client_address, apdu)
        next_state, action = TRANSITIONS[self.state, classified.input]
        reply, events = self._actions[action](client_address, classified)
        self.state = next_state
        if next_state is ServerState.IDLE:
            self._accepted, self._services, self._challenge, self._aarq_counter = None, None, b"", None
        return ServerOutput(reply, tuple(events))

    # -- classification ----------------------------------------------------------------------------------

    def _classify(self, client_address: int, data: bytes) -> _Classified:
        try:
            apdu = decode_apdu(data)
        except CodecError as exc:
            return _Classified(In.MALFORMED, exc)
        if isinstance(apdu, AARQ):
            return self._classify_aarq(client_address, apdu)
        accepted = self._accepted
        if accepted is not None and client_address != accepted.client:
            return _Classified(In.UNEXPECTED, CommandRefused(
                f"APDU from client SAP {client_address} in the association of client {int(accepted.client)}"))
        if isinstance(apdu, RLRQ):
            return self._classify_release(apdu)
        if isinstance(apdu, CipheredApdu | GeneralGloCiphering):
            return self._classify_ciphered(apdu)
        return self._classify_plain(apdu)

    def _classify_aarq(self, client_address: int, apdu: AARQ) -> _Classified:
        keys = self.server.keys
        decision = evaluate_aarq(client_address, apdu, keys)
        if isinstance(decision, Refused):
            return _Classified(In.AARQ_REFUSED, decision.error, decision)
        title, guard = decision.client_system_title, decision.guard
        if decision.ciphered and keys is not None and title is not None and guard is not None \
                and guard.last_accepted is not None:
            # The AARQ verified; its counter must be new for this key, across associations (session_counters).
            try:
                self.server.counters.accept_client(title, keys, guard.last_accepted)
            except ReplayError as exc:
                refused = Refused(AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE, exc, decision.context)
                return _Classified(In.AARQ_REFUSED, exc, refused)
        return _Classified(In.AARQ_NEEDS_HLS if decision.ciphered else In.AARQ_ACCEPTABLE, decision=decision)

    def _classify_plain(self, apdu: Apdu) -> _Classified:
        if not is_request(apdu):
            return _Classified(In.UNEXPECTED, CodecError(f"{type(apdu).__name__} is not an APDU a meter takes"))
        if self._accepted is not None and self._accepted.ciphered:
            return _Classified(In.NOT_DECIPHERED, AuthenticationError(
                "unciphered APDU in the management association; P3 §3.2.3.1 item 2 allows only authenticated "
                "and encrypted APDUs"))
        return _Classified(In.REQUEST, request=apdu)

    def _decipher(self, apdu: CipheredApdu | GeneralGloCiphering) -> bytes | _Classified:
        accepted, keys = self._accepted, self.server.keys
        title = None if accepted is None else accepted.client_system_title
        if accepted is None or not accepted.ciphered or keys is None or title is None:
            return _Classified(In.NOT_DECIPHERED, AuthenticationError(
                "ciphered APDU without a ciphered association (P3 §3.2.3.1)"))
        try:  # before the counter and the keys: such a frame must neither be served nor move the association
            require_authenticated_and_encrypted(apdu, title, "APDU")
        except AuthenticationError as exc:
            return _Classified(In.NOT_DECIPHERED, exc)
        guard = self._hls_frame_guard(apdu.invocation_counter)
        try:
            self.server.counters.check_client(title, keys, apdu.invocation_counter)
            if isinstance(apdu, GeneralGloCiphering):  # carries its sender's title: it must be the client's
                plain = general_glo_decipher(apdu, keys=keys, guard=guard)
            else:
                plain = decipher_apdu(apdu, system_title=title, keys=keys, guard=guard)
        except ReplayError as exc:
            return _Classified(In.REPLAYED, exc)
        except AuthenticationError as exc:
            return _Classified(In.NOT_DECIPHERED, exc)
        except CodecError as exc:
            return _Classified(In.MALFORMED, exc)
        self.server.counters.accept_client(title, keys, apdu.invocation_counter)
        if guard is not accepted.guard:
            self._accepted = replace(accepted, guard=guard)
        return plain

    def _hls_frame_guard(self, counter: int) -> InvocationCounterGuard | None:
        """The guard for the next ciphered frame. While HLS is pending, the frame that carries f(StoC) may be
        two above the AARQ's counter: a client that gives f(StoC) a counter of its own (IV never reused, as
        ours does) sends AARQ n, f(StoC) n+1, frame n+2, so every counter it uses is one above the last
        (P3 §3.2.3.1). Moved only after the tag verified, like any guard."""
        accepted = self._accepted
        guard = None if accepted is None else accepted.guard
        if self.state is not ServerState.AWAITING_HLS or guard is None or guard.last_accepted is None \
                or counter != guard.last_accepted + 2:
            return guard
        return InvocationCounterGuard(guard.system_title, policy=guard.policy, last_accepted=counter - 1)

    def _classify_ciphered(self, apdu: CipheredApdu | GeneralGloCiphering) -> _Classified:
        plain = self._decipher(apdu)
        if isinstance(plain, _Classified):
            return plain
        self._general = isinstance(apdu, GeneralGloCiphering)  # answer in the form the client used
        try:
            request = decode_apdu(plain)
        except CodecError as exc:
            return _Classified(In.MALFORMED, exc)
        if not is_request(request):
            return _Classified(In.UNEXPECTED, CodecError(f"{type(request).__name__} is not a request"))
        if self.state is ServerState.AWAITING_HLS and isinstance(request, ActionRequestNormal) \
                and request.method == REPLY_TO_HLS_AUTHENTICATION:
            return self._classify_hls(request)
        return _Classified(In.REQUEST, request=request)

    def _classify_hls(self, request: ActionRequestNormal) -> _Classified:
        accepted, keys = self._accepted, self.server.keys
        assert accepted is not None and accepted.client_system_title is not None and keys is not None
        if not isinstance(request.parameters, OctetString):
            return _Classified(In.HLS_REPLY_INVALID, AuthenticationError("reply_to_HLS_authentication without an "
                                                                        "octet-string f(StoC)"), invoke=request.invoke)
        try:
            counter = verify_hls_gmac_response(request.parameters.value, self._challenge,
                                               system_title=accepted.client_system_title, keys=keys)
        except AuthenticationError as exc:
            return _Classified(In.HLS_REPLY_INVALID, exc, invoke=request.invoke)
        # f(StoC) must take the counter after the AARQ's: as its own (the frame then came at +2) or, as
        # dlms-cosem 21.3.2 does, shared with the frame that carries it (+1); never the AARQ's own IV.
        if self._aarq_counter is not None and counter != self._aarq_counter + 1:
            return _Classified(In.HLS_REPLY_INVALID, AuthenticationError(
                f"f(StoC) of {describe_system_title(accepted.client_system_title)} carries invocation counter "
                f"{counter}; the one after the AARQ's ({self._aarq_counter + 1}) was expected"), invoke=request.invoke)
        return _Classified(In.HLS_REPLY_VALID, invoke=request.invoke)

    def _classify_release(self, apdu: RLRQ) -> _Classified:
        info = apdu.user_information
        if isinstance(info, CipheredApdu):  # P3 Annex C: a ciphered InitiateRequest in the RLRQ
            plain = self._decipher(info)
            if isinstance(plain, _Classified):
                return plain
        return _Classified(In.RLRQ, initiate=info is not None)

    # -- actions -------------------------------------------------------------------------------------------

    def _seal(self, apdu: bytes) -> bytes:
        """glo-cipher ``apdu`` in the management association (P3 §3.2.3.1 item 2); general-glo-ciphering
        when the request came that way (dlms-cosem's clients send it)."""
        accepted, keys = self._accepted, self.server.keys
        if accepted is None or not accepted.ciphered or keys is None:
            return apdu
        title, counter = self.server.info.system_title, self.server.counter.take()
        if self._general:
            return general_glo_cipher(apdu, system_title=title, invocation_counter=counter, keys=keys).encode()
        return cipher_apdu(apdu, system_title=title, invocation_counter=counter, keys=keys).encode()

    def _open(self, accepted: Accepted) -> None:
        self._accepted = accepted
        ctx = Ctx(self.server.meter(), self.server.info, accepted.client, accepted.client_system_title,
                  accepted.context, accepted.mechanism, accepted.conformance, accepted.client_max_pdu,
                  self.server.model.objects(), master_key=self.server.master_key)
        overhead = CIPHERING_OVERHEAD if accepted.ciphered else 0
        self._services = Services(self.server.model, ctx, accepted.client_max_pdu - overhead)

    def _accept(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        accepted = classified.decision
        assert isinstance(accepted, Accepted)
        self._open(accepted)
        aare = accepted_aare(accepted, system_title=self.server.info.system_title, keys=None,
                             counter=self.server.counter, challenge=None)
        return aare.encode(), [AssociationEstablished(client, accepted.client_system_title)]

    def _send_challenge(self, _client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        accepted = classified.decision
        assert isinstance(accepted, Accepted)
        self._open(accepted)
        self._challenge = make_challenge(self.server.rng)
        self._aarq_counter = None if accepted.guard is None else accepted.guard.last_accepted
        aare = accepted_aare(accepted, system_title=self.server.info.system_title, keys=self.server.keys,
                             counter=self.server.counter, challenge=self._challenge)
        return aare.encode(), []

    def _refuse(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        refused = classified.decision
        if not isinstance(refused, Refused):  # an acceptable AARQ while an association is open
            refused = Refused(AcseServiceUserDiagnostic.NO_REASON_GIVEN, CommandRefused(
                "AARQ while an association is open on this connection; release it first (RLRQ)"))
        aare = refused_aare(refused, system_title=self.server.info.system_title)
        return aare.encode(), [AssociationRefused(client, refused.error)]

    def _confirm_hls(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        accepted, keys = self._accepted, self.server.keys
        assert accepted is not None and accepted.challenge is not None and keys is not None
        answer = hls_gmac_response(accepted.challenge, system_title=self.server.info.system_title,
                                   invocation_counter=self.server.counter.take(), keys=keys)
        response = ActionResponseNormal(ActionResult.SUCCESS, OctetString(answer), classified.invoke)
        return self._seal(response.encode()), [AssociationEstablished(client, accepted.client_system_title)]

    def _deny_hls(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        response = ActionResponseNormal(ActionResult.READ_WRITE_DENIED, None, classified.invoke)
        error = classified.error or AuthenticationError("HLS5 pass 3 failed")
        return self._seal(response.encode()), [AssociationRefused(client, error)]

    def _serve(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        services, request = self._services, classified.request
        assert services is not None and request is not None
        services.ctx.meter = self.server.meter()  # the live meter, as the shell has advanced it
        try:
            response = services.serve(request)
        except MeterkastError as exc:
            services.ctx.events.clear()
            services.ctx.key_transfer = None
            return self._reject(client, _Classified(In.REQUEST, exc))
        events, services.ctx.events = list(services.ctx.events), []
        reply = encode_apdu(response)
        sealed = reply if isinstance(response, ExceptionResponse) else self._seal(reply)
        transfer, services.ctx.key_transfer = services.ctx.key_transfer, None
        if transfer is not None and self.server.keys is not None:
            # "the ACK will be encrypted with the old key. The next message shall use the new key" (P3 §5.1
            # footnote 4): the reply is sealed above, so the swap comes after it. Counters go on (cosem.keys).
            self.server.keys = transfer.applied_to(self.server.keys)
            events.append(GlobalKeysReplaced(client, tuple(int(k) for k in transfer.key_ids)))
        return sealed, events

    def _release(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        """RLRE; when the RLRQ carried an InitiateRequest, an InitiateResponse, ciphered in the management
        association (P3 Annex C)."""
        accepted, keys = self._accepted, self.server.keys
        info: InitiateResponse | CipheredApdu | None = None
        if classified.initiate:
            info = InitiateResponse(accepted.conformance if accepted else Conformance(0), DSMR_SERVER_MAX_PDU)
            if accepted is not None and accepted.ciphered and keys is not None:
                info = cipher_apdu(info.encode(), system_title=self.server.info.system_title,
                                   invocation_counter=self.server.counter.take(), keys=keys)
        events: list[P3Event] = [] if accepted is None else [AssociationReleased(client)]
        return RLRE(user_information=info).encode(), events

    def _abort(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        error = classified.error or ReplayError("association aborted")
        return None, [AssociationAborted(client, error)]

    def _reject(self, client: int, classified: _Classified) -> tuple[bytes | None, list[P3Event]]:
        codes = _EXCEPTIONS.get(classified.input, (StateError.SERVICE_NOT_ALLOWED, ServiceError.OTHER_REASON))
        error = classified.error or CommandRefused(f"{classified.input.value} refused in state {self.state.value}")
        return ExceptionResponse(*codes).encode(), [ApduRefused(client, error)]


# The exception-response for each refused input (Green Book exception handling, P3 §3.5).
_EXCEPTIONS: dict[ServerInput, tuple[StateError, ServiceError]] = {
    In.REQUEST: (StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE),
    In.HLS_REPLY_VALID: (StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE),
    In.HLS_REPLY_INVALID: (StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE),
    In.NOT_DECIPHERED: (StateError.SERVICE_NOT_ALLOWED, ServiceError.DECIPHERING_ERROR),
    In.MALFORMED: (StateError.SERVICE_UNKNOWN, ServiceError.OTHER_REASON),
    In.UNEXPECTED: (StateError.SERVICE_UNKNOWN, ServiceError.SERVICE_NOT_SUPPORTED),
}

