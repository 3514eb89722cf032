"""P3 security (DSMR P3 §3.2): who may associate, wrong keys, replayed counters, forged and malformed APDUs."""

from __future__ import annotations

import random

import pytest

from meterkast.cosem.access import Client
from meterkast.cosem.client import ClientState, P3Client
from meterkast.cosem.events import ApduRefused, AssociationAborted, AssociationRefused
from meterkast.cosem.loopback import Loopback
from meterkast.cosem.server import ServerState
from meterkast.dlms import (
    AARE,
    AARQ,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    AttributeDescriptor,
    ConfirmedServiceError,
    Conformance,
    DataAccessResult,
    ExceptionResponse,
    GetRequestNormal,
    InitiateRequest,
    InvocationCounter,
    MechanismName,
    ObisCode,
    ServiceError,
    StateError,
    cipher_apdu,
    decode_apdu,
    hls_gmac_response,
)
from meterkast.dlms.hls import reply_to_hls_request
from meterkast.dlms.initiate import InitiateError, ServiceErrorType
from meterkast.errors import AuthenticationError, CommandRefused, NoReply, ReplayError
from tests.cosem.conftest import (
    CS_TITLE,
    KEYS,
    WRONG_KEYS,
    Session,
    make_server,
    management_client,
    management_session,
    public_session,
)

CLOCK_TIME = AttributeDescriptor(8, ObisCode.parse("0-0:1.0.0.255"), 2)
IMPORT_T1 = AttributeDescriptor(3, ObisCode.parse("1-0:1.8.1.255"), 2)


def test_wrong_key_is_refused_with_an_error_naming_the_system_titles(server) -> None:  # type: ignore[no-untyped-def]
    session = Session(server, Loopback(server.association(), Client.MANAGEMENT), management_client(keys=WRONG_KEYS))
    with pytest.raises(AuthenticationError, match=r"E-meter \(system title 4B464D0000BC614E \(KFM\)\).*keys"):
        session.run(session.client.associate())
    assert session.client.state is ClientState.IDLE
    refused = session.link.events[-1]
    assert isinstance(refused, AssociationRefused) and isinstance(refused.error, AuthenticationError)
    assert "4D4B530000000001 (MKS)" in str(refused.error)  # the server names the client that failed
    assert session.link.association.state is ServerState.IDLE


def test_wrong_hls_reply_is_denied(server) -> None:  # type: ignore[no-untyped-def]
    association = server.association()
    client = management_client()
    procedure = client.associate()
    aare = association.receive(1, next(procedure))
    assert association.state is ServerState.AWAITING_HLS
    assert isinstance(decode_apdu(aare.reply), AARE)  # the client would now send f(StoC); forge one instead
    forged = hls_gmac_response(b"not the challenge", system_title=CS_TITLE, invocation_counter=2, keys=KEYS)
    apdu = cipher_apdu(reply_to_hls_request(forged).encode(), system_title=CS_TITLE, invocation_counter=2, keys=KEYS)
    output = association.receive(1, apdu.encode())
    assert association.state is ServerState.IDLE
    assert isinstance(output.events[0], AssociationRefused) and "HLS5" in str(output.events[0].error)


def test_replayed_counter_releases_the_association_without_an_answer(server) -> None:  # type: ignore[no-untyped-def]
    session = management_session(server, counter=40)
    session.run(session.client.get(CLOCK_TIME))  # counters 40 (AARQ), 41 (HLS), 42
    replay = cipher_apdu(GetRequestNormal(CLOCK_TIME).encode(), system_title=CS_TITLE, invocation_counter=42,
                         keys=KEYS)
    output = session.link.association.receive(1, replay.encode())
    assert output.reply is None  # "shall not send an error" (P3 §3.2.3.1)
    assert isinstance(output.events[0], AssociationAborted) and isinstance(output.events[0].error, ReplayError)
    assert session.link.association.state is ServerState.IDLE
    with pytest.raises(CommandRefused, match="SERVICE_NOT_ALLOWED"):  # no association any more
        session.run(session.client.get(CLOCK_TIME))


def test_a_counter_that_skips_ahead_is_out_of_sequence_too(server) -> None:  # type: ignore[no-untyped-def]
    session = management_session(server, counter=40)
    session.client.counter = InvocationCounter(50)
    with pytest.raises(NoReply):
        session.run(session.client.get(CLOCK_TIME))


def test_forged_or_plain_apdus_in_the_management_association_are_refused(server) -> None:  # type: ignore[no-untyped-def]
    session = management_session(server, counter=10)
    association = session.link.association
    forged = cipher_apdu(GetRequestNormal(IMPORT_T1).encode(), system_title=CS_TITLE, invocation_counter=13,
                         keys=WRONG_KEYS)
    for attempt in (forged.encode(), GetRequestNormal(IMPORT_T1).encode()):
        output = association.receive(1, attempt)
        assert decode_apdu(output.reply) == ExceptionResponse(StateError.SERVICE_NOT_ALLOWED,
                                                              ServiceError.DECIPHERING_ERROR)
        assert isinstance(output.events[0], ApduRefused) and isinstance(output.events[0].error, AuthenticationError)
    assert association.state is ServerState.ASSOCIATED  # guard unmoved: AARQ 10, f(StoC) 11, HLS 12; 13 works
    assert not isinstance(session.run(session.client.get(IMPORT_T1)), DataAccessResult)


def test_public_client_cannot_reach_management_objects(server) -> None:  # type: ignore[no-untyped-def]
    session = public_session(server)
    for descriptor in (IMPORT_T1, AttributeDescriptor(7, ObisCode.parse("0-1:24.3.0.255"), 2),
                       AttributeDescriptor(64, ObisCode.parse("0-0:43.0.0.255"), 2)):
        assert session.run(session.client.get(descriptor)) is DataAccessResult.READ_WRITE_DENIED


def _aarq_reply(server, client_address: int, aarq: AARQ) -> AARE:  # type: ignore[no-untyped-def]
    association = server.association()
    output = association.receive(client_address, aarq.encode())
    assert association.state is ServerState.IDLE and isinstance(output.events[0], AssociationRefused)
    reply = decode_apdu(output.reply)
    assert isinstance(reply, AARE) and reply.result is AssociationResult.REJECTED_PERMANENT
    return reply


PLAIN = InitiateRequest(Conformance.GET)


@pytest.mark.parametrize(("client_address", "aarq", "diagnostic"), [
    (16, AARQ(ApplicationContext.LN_CIPHERING, user_information=PLAIN),
     AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED),
    (16, AARQ(ApplicationContext.LN, mechanism=MechanismName.LOW, calling_authentication_value=b"12345678",
              user_information=PLAIN), AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNISED),
    (1, AARQ(ApplicationContext.LN, user_information=PLAIN),
     AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED),  # P3 §3.2.3.1 item 1
    (1, AARQ(ApplicationContext.LN_CIPHERING, CS_TITLE, user_information=PLAIN),
     AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED),
    (1, AARQ(ApplicationContext.LN_CIPHERING, b"short", MechanismName.HIGH_GMAC, bytes(16), PLAIN),
     AcseServiceUserDiagnostic.CALLING_AP_TITLE_NOT_RECOGNIZED),
    (1, AARQ(ApplicationContext.LN_CIPHERING, CS_TITLE, MechanismName.HIGH_GMAC, bytes(16), PLAIN),
     AcseServiceUserDiagnostic.NO_REASON_GIVEN),  # InitiateRequest not ciphered (item 3)
    (102, AARQ(ApplicationContext.LN, user_information=PLAIN), AcseServiceUserDiagnostic.NO_REASON_GIVEN),
])
def test_aarqs_outside_the_dsmr_rules_are_refused(server, client_address: int, aarq: AARQ,  # type: ignore[no-untyped-def]
                                                  diagnostic: AcseServiceUserDiagnostic) -> None:
    assert _aarq_reply(server, client_address, aarq).result_source_diagnostic is diagnostic


def test_dedicated_keys_and_old_dlms_versions_are_refused(server) -> None:  # type: ignore[no-untyped-def]
    dedicated = InitiateRequest(Conformance.GET, dedicated_key=bytes(16))
    ciphered = cipher_apdu(dedicated.encode(), system_title=CS_TITLE, invocation_counter=1, keys=KEYS)
    reply = _aarq_reply(server, 1, AARQ(ApplicationContext.LN_CIPHERING, CS_TITLE, MechanismName.HIGH_GMAC,
                                        bytes(16), ciphered))  # "Only Global Encryption Keys" (item 5)
    assert reply.user_information == ConfirmedServiceError(ServiceErrorType.INITIATE, InitiateError.OTHER)
    old = _aarq_reply(server, 16, AARQ(ApplicationContext.LN, user_information=InitiateRequest(Conformance.GET,
                                                                                             dlms_version=5)))
    assert old.user_information.value == InitiateError.DLMS_VERSION_TOO_LOW  # type: ignore[union-attr]


def test_a_second_aarq_in_an_open_association_is_refused(server) -> None:  # type: ignore[no-untyped-def]
    session = public_session(server)
    again = P3Client(Client.PUBLIC)
    with pytest.raises(CommandRefused, match="NO_REASON_GIVEN"):
        session.run(again.associate())
    assert session.link.association.state is ServerState.ASSOCIATED


def test_a_meter_without_keys_has_no_management_association(meter) -> None:  # type: ignore[no-untyped-def]
    server = make_server(meter, keys=None)
    session = Session(server, Loopback(server.association(), 1), management_client())
    with pytest.raises(AuthenticationError, match="authentication-failure"):
        session.run(session.client.associate())


@pytest.mark.parametrize("garbage", [b"", b"\x00", b"\xc0\x01", b"\x60\x80", b"\xc8\x05\x30\x00\x00\x00\x01",
                                     bytes(range(40)), b"\xd8\x01\x02", b"\x61\x03\xa1\x01\x00"])
def test_malformed_apdus_get_an_exception_response(server, garbage: bytes) -> None:  # type: ignore[no-untyped-def]
    for association in (server.association(), public_session(server).link.association):
        state = association.state
        output = association.receive(16, garbage)
        assert isinstance(decode_apdu(output.reply), ExceptionResponse)
        assert association.state is state


def test_the_client_refuses_a_meter_with_another_system_title(server) -> None:  # type: ignore[no-untyped-def]
    client = P3Client(Client.MANAGEMENT, system_title=CS_TITLE, keys=KEYS, rng=random.Random(1),
                      server_system_title=bytes(8))
    session = Session(server, Loopback(server.association(), 1), client)
    with pytest.raises(AuthenticationError, match="expected system title 0000000000000000"):
        session.run(client.associate())


def test_the_client_checks_the_meters_counters(server) -> None:  # type: ignore[no-untyped-def]
    session = management_session(server)
    server.counters.server = InvocationCounter(5)  # a meter that went back in time
    with pytest.raises(ReplayError, match="KFM"):
        session.run(session.client.get(CLOCK_TIME))
    assert session.client.state is ClientState.IDLE
