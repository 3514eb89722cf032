"""A P3 client (the central system's side) as a sans-I/O state machine with generator procedures
(DSMR 4.2.2 P3 §2.1, §3.2; IEC 62056-5-3 ACSE, xDLMS, HLS5; SYSTEM C1).

Each operation is a ``Procedure[T]``: a generator that yields the APDU bytes to send and is sent the APDU
bytes that came back, and returns its result. A driver moves the bytes: ``run(procedure, exchange)`` here
(in ``loopback``) for any blocking ``exchange(bytes) -> bytes``, ``meterkast.io.p3_client``
over TCP. So one procedure serves every transport, and block transfer and HLS pass 3/4 happen inside it.

State machine: ``TRANSITIONS[state, input]`` → next state, or ``None`` where that input is a misuse (a
request before the association, a second AARQ) or a protocol violation by the meter; the table is total.

Rules this module keeps:
- management client: context LN with ciphering, HLS5-GMAC, its system title, a fresh challenge CtoS from
  the injected ``RandomSource``, a glo-initiate-request; every xDLMS APDU glo-ciphered (0x30) with a
  counter that goes up by exactly one per frame (P3 §3.2.3.1; the counter object belongs to the caller,
  so it survives sessions, "unique within the lifetime of a global encryption key"); every GCM use takes
  a fresh value, so f(StoC) takes one and the ACTION that carries it the next (no IV twice; docs/p3.md);
- key change (``replace_keys``, ``cosem.keys``): the ACK comes under the old keys, and only a
  ``success`` switches the client to the new keys, for the next APDU on (P3 §5.1 footnote 4);
- the meter's counters must rise ("higher than in a previous message", ``CounterPolicy.INCREASING``) and
  its f(CtoS) must verify, else ``AuthenticationError`` naming the meter's system title;
- a rejected AARQ raises ``AuthenticationError`` (authentication-failure) or ``CommandRefused`` with the
  ACSE diagnostic; an exception-response raises ``CommandRefused`` naming its state and service errors;
  a malformed or undecipherable reply raises ``CodecError``/``AuthenticationError`` and drops the
  association (the state goes back to IDLE).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from meterkast.cosem.access import Client
from meterkast.cosem.keys import GLOBAL_KEY_TRANSFER, key_data
from meterkast.cosem.negotiation import OFFERED, require_authenticated_and_encrypted
from meterkast.cosem.replies import check_listed_block, exception_error, listed_results, refusal_error
from meterkast.dlms import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    Apdu,
    ApplicationContext,
    AssociationResult,
    AttributeDescriptor,
    AttributeWithSelection,
    BlockAssembler,
    CipheredApdu,
    Conformance,
    CounterPolicy,
    DataAccessResult,
    DlmsData,
    ExceptionResponse,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    InvocationCounter,
    InvocationCounterGuard,
    InvokeIdAndPriority,
    MechanismName,
    MethodDescriptor,
    OctetString,
    SecurityKeys,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetResponseNormal,
    cipher_apdu,
    decipher_apdu,
    decode_apdu,
    encode_data,
    hls_gmac_response,
    make_challenge,
    verify_hls_gmac_response,
)
from meterkast.dlms.cosem import SelectiveAccess
from meterkast.dlms.hls import reply_to_hls_request
from meterkast.dlms.security import describe_system_title
from meterkast.dlms.service_common import GetDataResult, ServiceApdu
from meterkast.dlms.service_set_action import DataBlockSA, SetResponseDatablock, SetResponseLastDatablock
from meterkast.errors import AuthenticationError, CodecError, CommandRefused, InvalidInput
from meterkast.randomness import RandomSource

T = TypeVar("T")
Procedure = Generator[bytes, bytes, T]
SET_BLOCK_OVERHEAD = 1 + 3 + 1 + 4 + 12  # the ciphering around a SET
FIRST_BLOCK_HEADER = 3 + 9 + 1 + 1 + 4 + 3  # C1 02 invoke, descriptor, access flag, last, number, length
DEFAULT_MAX_PDU = 1024  # "Packet size needs to be optimized (Ideally 500 bytes)" (P3 §3.3); 1024 as the meter


class ClientState(Enum):
    IDLE = "idle"
    AWAITING_AARE = "awaiting-aare"
    AWAITING_HLS = "awaiting-hls"  # f(StoC) sent, waiting for f(CtoS)
    ASSOCIATED = "associated"
    AWAITING_RESPONSE = "awaiting-response"
    AWAITING_RLRE = "awaiting-rlre"


class ClientInput(Enum):
    SEND_AARQ = "send-aarq"
    AARE_ACCEPTED = "aare-accepted"
    AARE_CHALLENGED = "aare-challenged"  # accepted, authentication-required (HLS5 pass 2)
    AARE_REJECTED = "aare-rejected"
    HLS_CONFIRMED = "hls-confirmed"  # f(CtoS) verified (pass 4)
    SEND_REQUEST = "send-request"
    BLOCK = "block"  # a GET datablock that is not the last
    RESPONSE = "response"
    EXCEPTION = "exception"  # exception-response from the meter
    SEND_RLRQ = "send-rlrq"
    RLRE = "rlre"
    FAILED = "failed"  # malformed, undecipherable or unexpected reply, a failed HLS, a lost link


CS, CI = ClientState, ClientInput
_ALLOWED: dict[tuple[ClientState, ClientInput], ClientState] = {
    (CS.IDLE, CI.SEND_AARQ): CS.AWAITING_AARE,
    (CS.AWAITING_AARE, CI.AARE_ACCEPTED): CS.ASSOCIATED,
    (CS.AWAITING_AARE, CI.AARE_CHALLENGED): CS.AWAITING_HLS,
    (CS.AWAITING_AARE, CI.AARE_REJECTED): CS.IDLE,
    (CS.AWAITING_HLS, CI.HLS_CONFIRMED): CS.ASSOCIATED,
    (CS.AWAITING_HLS, CI.EXCEPTION): CS.IDLE,
    (CS.ASSOCIATED, CI.SEND_REQUEST): CS.AWAITING_RESPONSE,
    (CS.AWAITING_RESPONSE, CI.BLOCK): CS.AWAITING_RESPONSE,
    (CS.AWAITING_RESPONSE, CI.RESPONSE): CS.ASSOCIATED,
    (CS.AWAITING_RESPONSE, CI.EXCEPTION): CS.ASSOCIATED,
    (CS.ASSOCIATED, CI.SEND_RLRQ): CS.AWAITING_RLRE,
    (CS.AWAITING_RLRE, CI.RLRE): CS.IDLE,
}
# Total: allowed moves, FAILED from anywhere to IDLE, everything else None (a misuse, raises).
TRANSITIONS: dict[tuple[ClientState, ClientInput], ClientState | None] = {
    (state, given): CS.IDLE if given is CI.FAILED else _ALLOWED.get((state, given))
    for state in ClientState for given in ClientInput
}


@dataclass(frozen=True, slots=True)
class Association:
    """What the meter granted: conformance, its max receive PDU, and (management) its system title."""

    conformance: Conformance
    server_max_pdu: int
    server_system_title: bytes | None = None


class P3Client:
    def __init__(self, client: Client = Client.PUBLIC, *, system_title: bytes | None = None,
                 keys: SecurityKeys | None = None, rng: RandomSource | None = None,
                 counter: InvocationCounter | None = None, server_system_title: bytes | None = None,
                 max_pdu: int = DEFAULT_MAX_PDU) -> None:
        if client is Client.MANAGEMENT and (system_title is None or keys is None or rng is None):
            raise InvalidInput("the management client needs its system title, the meter's keys and a random "
                               "source for the HLS5 challenge (P3 §3.2.3)")
        self.client = client
        self.system_title = system_title
        self.keys = keys
        self.rng = rng
        self.counter = counter or InvocationCounter()
        self.expected_server_title = server_system_title
        self.max_pdu = max_pdu
        self.state = ClientState.IDLE
        self.association: Association | None = None
        self._guard: InvocationCounterGuard | None = None
        self._invoke = 0

    @property
    def ciphered(self) -> bool:
        return self.client is Client.MANAGEMENT

    def _step(self, given: ClientInput) -> None:
        target = TRANSITIONS[self.state, given]
        if target is None:
            raise CommandRefused(f"P3 client: '{given.value}' is not possible in state '{self.state.value}'")
        self.state = target

    def link_lost(self) -> None:
        """The transport failed or the meter fell silent: whatever was open is gone (input FAILED)."""
        self._step(CI.FAILED)
        self.association, self._guard = None, None

    def _fail(self, error: Exception) -> Exception:
        self.link_lost()
        return error

    # -- protection -----------------------------------------------------------------------------------

    def _seal(self, apdu: bytes) -> bytes:
        if not self.ciphered:
            return apdu
        assert self.system_title is not None and self.keys is not None
        return cipher_apdu(apdu, system_title=self.system_title, invocation_counter=self.counter.take(),
                           keys=self.keys).encode()

    def _open(self, data: bytes) -> Apdu:
        """Decode a reply; in the management association decipher it and check the meter's counter."""
        try:
            apdu = decode_apdu(data)
            if isinstance(apdu, CipheredApdu):
                title = self.association.server_system_title if self.association else None
                if title is None or self.keys is None or self._guard is None:
                    raise AuthenticationError("ciphered reply outside a ciphered association")
                require_authenticated_and_encrypted(apdu, title, "reply")
                apdu = decode_apdu(decipher_apdu(apdu, system_title=title, keys=self.keys, guard=self._guard))
            elif self.ciphered and isinstance(apdu, ServiceApdu):
                raise AuthenticationError("unciphered reply in the management association (P3 §3.2.3.1)")
        except CodecError as exc:  # AuthenticationError and ReplayError too
            raise self._fail(exc) from exc
        return apdu

    # -- association ----------------------------------------------------------------------------------

    def _aarq(self, challenge: bytes | None) -> AARQ:
        request = InitiateRequest(OFFERED[self.client], self.max_pdu)
        if not self.ciphered:
            return AARQ(ApplicationContext.LN, user_information=request)
        assert self.system_title is not None and self.keys is not None
        ciphered = cipher_apdu(request.encode(), system_title=self.system_title,
                               invocation_counter=self.counter.take(), keys=self.keys)
        return AARQ(ApplicationContext.LN_CIPHERING, self.system_title, MechanismName.HIGH_GMAC, challenge, ciphered)

    def associate(self) -> Procedure[Association]:
        """AARQ → AARE, and for the management client HLS5 passes 3 and 4."""
        self._step(CI.SEND_AARQ)
        challenge = make_challenge(self.rng) if self.ciphered and self.rng is not None else None
        reply = self._open((yield self._aarq(challenge).encode()))
        if not isinstance(reply, AARE):
            raise self._fail(CodecError(f"expected an AARE, got {type(reply).__name__}"))
        if reply.result is not AssociationResult.ACCEPTED:
            self._step(CI.AARE_REJECTED)
            raise refusal_error(reply, self.expected_server_title)
        if not self.ciphered:
            if not isinstance(reply.user_information, InitiateResponse):
                raise self._fail(CodecError("AARE without an InitiateResponse"))
            self.association = Association(reply.user_information.conformance,
                                           reply.user_information.server_max_receive_pdu_size)
            self._step(CI.AARE_ACCEPTED)
            return self.association
        self._challenged(reply)
        self._step(CI.AARE_CHALLENGED)
        return (yield from self._hls(reply, challenge or b""))

    def _challenged(self, aare: AARE) -> None:
        title = aare.responding_ap_title
        if title is None or len(title) != 8 or aare.responding_authentication_value is None or \
                aare.result_source_diagnostic is not AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED:
            raise self._fail(AuthenticationError("AARE for HLS5 without the meter's system title and challenge"))
        if self.expected_server_title is not None and title != self.expected_server_title:
            raise self._fail(AuthenticationError(
                f"answered by {describe_system_title(title)}, expected "
                f"{describe_system_title(self.expected_server_title)}"))
        assert self.keys is not None
        self._guard = InvocationCounterGuard(title, policy=CounterPolicy.INCREASING)
        info = aare.user_information
        if not isinstance(info, CipheredApdu):
            raise self._fail(AuthenticationError(f"{describe_system_title(title)}: InitiateResponse not ciphered"))
        try:
            require_authenticated_and_encrypted(info, title, "reply")
            response = decode_apdu(decipher_apdu(info, system_title=title, keys=self.keys, guard=self._guard))
        except CodecError as exc:
            raise self._fail(exc) from exc
        if not isinstance(response, InitiateResponse):
            raise self._fail(CodecError(f"{describe_system_title(title)}: AARE without an InitiateResponse"))
        self.association = Association(response.conformance, response.server_max_receive_pdu_size, title)

    def _hls(self, aare: AARE, challenge: bytes) -> Generator[bytes, bytes, Association]:
        assert self.system_title is not None and self.keys is not None and self.association is not None
        title = self.association.server_system_title
        assert title is not None and aare.responding_authentication_value is not None
        # f(StoC) is a GMAC under the encryption key: it takes a counter value of its own, and the frame that
        # carries it the next one, so no (key, IV) pair is used twice (docs/p3.md "Counters").
        answer = hls_gmac_response(aare.responding_authentication_value, system_title=self.system_title,
                                   invocation_counter=self.counter.take(), keys=self.keys)
        reply = self._open((yield self._seal(reply_to_hls_request(answer, self._next_invoke()).encode())))
        if isinstance(reply, ExceptionResponse):
            self._step(CI.EXCEPTION)
            raise exception_error(reply)
        if not isinstance(reply, ActionResponseNormal) or reply.result is not ActionResult.SUCCESS \
                or not isinstance(reply.return_parameters, OctetString):
            raise self._fail(AuthenticationError(f"{describe_system_title(title)} did not accept f(StoC): HLS5 "
                                                 f"pass 3 failed; check the keys of this meter"))
        try:
            verify_hls_gmac_response(reply.return_parameters.value, challenge, system_title=title, keys=self.keys)
        except AuthenticationError as exc:
            raise self._fail(exc) from exc
        self._step(CI.HLS_CONFIRMED)
        return self.association

    def release(self) -> Procedure[None]:
        self._step(CI.SEND_RLRQ)
        info: InitiateRequest | CipheredApdu = InitiateRequest(OFFERED[self.client], self.max_pdu)
        if self.ciphered:  # P3 Annex C: the RLRQ carries a ciphered InitiateRequest
            assert self.system_title is not None and self.keys is not None
            info = cipher_apdu(info.encode(), system_title=self.system_title, invocation_counter=self.counter.take(),
                               keys=self.keys)
        reply = decode_apdu((yield RLRQ(user_information=info).encode()))
        if not isinstance(reply, RLRE):
            raise self._fail(CodecError(f"expected an RLRE, got {type(reply).__name__}"))
        self._step(CI.RLRE)
        self.association, self._guard = None, None

    # -- services -------------------------------------------------------------------------------------

    def _next_invoke(self) -> InvokeIdAndPriority:
        self._invoke = (self._invoke + 1) % 16
        return InvokeIdAndPriority(self._invoke)

    def _exchange(self, request: ServiceApdu) -> Generator[bytes, bytes, Apdu]:
        """Send one request, receive its reply; a GET in blocks is reassembled here (P3 §2.1)."""
        self._step(CI.SEND_REQUEST)
        reply = self._open((yield self._seal(request.encode())))
        if isinstance(reply, ExceptionResponse):
            self._step(CI.EXCEPTION)
            raise exception_error(reply)
        if isinstance(reply, GetResponseWithDatablock):
            return (yield from self._blocks(reply, isinstance(request, GetRequestWithList)))
        self._step(CI.RESPONSE)
        return reply

    def _blocks(self, first: GetResponseWithDatablock, listed: bool) -> Generator[bytes, bytes, Apdu]:
        """Get-Request-Next until the last block; ``BlockAssembler`` checks the numbering and decodes the Data,
        a with-list answer (a SEQUENCE OF Get-Data-Result) is decoded here."""
        assembler, parts, block = BlockAssembler(), [first.raw_data], first
        while True:
            value = None
            try:
                if listed:
                    check_listed_block(block, len(parts))
                else:
                    value = assembler.add(block)
            except CodecError as exc:
                raise self._fail(exc) from exc
            if block.last_block:
                self._step(CI.RESPONSE)
                if listed:
                    return GetResponseWithList(listed_results(b"".join(p for p in parts if isinstance(p, bytes))),
                                               block.invoke)
                assert value is not None
                return GetResponseNormal(value, block.invoke)
            self._step(CI.BLOCK)
            nxt = self._open((yield self._seal(GetRequestNext(block.block_number, block.invoke).encode())))
            if not isinstance(nxt, GetResponseWithDatablock):
                raise self._fail(CodecError(f"expected the next datablock, got {type(nxt).__name__}"))
            block = nxt
            parts.append(block.raw_data)

    def get(self, attribute: AttributeDescriptor, access: SelectiveAccess | None = None) -> Procedure[GetDataResult]:
        reply = yield from self._exchange(GetRequestNormal(attribute, access, self._next_invoke()))
        if not isinstance(reply, GetResponseNormal):
            raise self._fail(CodecError(f"expected a get-response, got {type(reply).__name__}"))
        return reply.result

    def get_with_list(self, items: list[AttributeWithSelection]) -> Procedure[tuple[GetDataResult, ...]]:
        reply = yield from self._exchange(GetRequestWithList(tuple(items), self._next_invoke()))
        if not isinstance(reply, GetResponseWithList) or len(reply.results) != len(items):
            raise self._fail(CodecError("get-response-with-list does not match the request"))
        return reply.results

    def set(self, attribute: AttributeDescriptor, value: DlmsData) -> Procedure[DataAccessResult]:
        """SET; a value that does not fit the meter's max receive PDU goes in datablocks (P3 §2.1.3)."""
        invoke = self._next_invoke()
        request = SetRequestNormal(attribute, value, None, invoke)
        room = (self.association.server_max_pdu if self.association else DEFAULT_MAX_PDU) - SET_BLOCK_OVERHEAD
        raw = request.encode()
        if len(raw) <= room:
            reply = yield from self._exchange(request)
            if not isinstance(reply, SetResponseNormal):
                raise self._fail(CodecError(f"expected a set-response, got {type(reply).__name__}"))
            return reply.result
        data = encode_data(value)
        size = room - FIRST_BLOCK_HEADER
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        for number, chunk in enumerate(chunks, start=1):
            block = DataBlockSA(number == len(chunks), number, chunk)
            step = SetRequestWithFirstDatablock(attribute, block, None, invoke) if number == 1 \
                else SetRequestWithDatablock(block, invoke)
            reply = yield from self._exchange(step)
            if isinstance(reply, SetResponseLastDatablock):
                return reply.result
            if not isinstance(reply, SetResponseDatablock) or reply.block_number != number:
                raise self._fail(CodecError(f"expected the acknowledgement of block {number}, got {reply!r}"))
        raise self._fail(CodecError("the meter did not answer the last datablock with a result"))

    def replace_keys(self, new_keys: SecurityKeys, kek: bytes) -> Procedure[None]:
        """Security setup ``global_key_transfer`` of both global keys, wrapped under the master key ``kek``
        (RFC 3394). The meter answers under the old keys; on ``success`` this client uses ``new_keys`` from
        the next APDU on, in this association and after. Any other result raises ``CommandRefused`` and
        changes nothing. If the answer is lost, the meter may already use the new keys: the caller keeps
        them until it knows (the central system tries them when the old ones fail)."""
        if not self.ciphered:
            raise CommandRefused("only the management client may change keys (P3 §5.1: Security setup, M: X)")
        result, _ = yield from self.action(GLOBAL_KEY_TRANSFER, key_data(new_keys, kek))
        if result is not ActionResult.SUCCESS:
            who = "the E-meter" if self.association is None or self.association.server_system_title is None \
                else describe_system_title(self.association.server_system_title)
            raise CommandRefused(f"{who} refused global_key_transfer: {result.name.lower().replace('_', '-')}; "
                                 f"its keys are unchanged (check the master key)")
        self.keys = new_keys

    def action(self, method: MethodDescriptor, parameters: DlmsData | None = None) -> Procedure[
            tuple[ActionResult, GetDataResult | None]]:
        reply = yield from self._exchange(ActionRequestNormal(method, parameters, self._next_invoke()))
        if not isinstance(reply, ActionResponseNormal):
            raise self._fail(CodecError(f"expected an action-response, got {type(reply).__name__}"))
        return reply.result, reply.return_parameters

