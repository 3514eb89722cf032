"""Interop with dlms-cosem (pwitab/u9n, MIT), both ways: their encode → our decode, our encode → their decode.

dlms-cosem is a test-only peer, never imported by the package. The version the ``test`` extra installs is
the one dsmr-parser pins (21.3.2). The strategies (``peer_dlms_cosem``) cover what both codecs support;
each gap of the peer is named by a test in ``test_interop_dlms_cosem_gaps.py``. Figures: ``docs/dlms.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import attr
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("dlms_cosem")

from dlms_cosem import cosem as their_cosem
from dlms_cosem import dlms_data as their_data
from dlms_cosem import enumerations as their_enums
from dlms_cosem import security as their_security
from dlms_cosem import time as their_time
from dlms_cosem.connection import XDlmsApduFactory
from dlms_cosem.cosem import selective_access as their_access
from dlms_cosem.cosem.capture_object import CaptureObject as TheirCaptureObject
from dlms_cosem.protocol import acse as their_acse
from dlms_cosem.protocol import xdlms as their_xdlms
from dlms_cosem.protocol.wrappers import WrapperHeader, WrapperProtocolDataUnit

from meterkast.dlms import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    ApplicationContext,
    AttributeDescriptor,
    AttributeWithSelection,
    CipheredApdu,
    Conformance,
    CosemDateTime,
    DataAccessResult,
    DlmsData,
    DoubleLongUnsigned,
    ExceptionResponse,
    GeneralGloCiphering,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    MechanismName,
    MethodDescriptor,
    ObisCode,
    OctetString,
    RangeDescriptor,
    SecurityControl,
    SecurityKeys,
    ServiceError,
    SetRequestNormal,
    SetResponseNormal,
    StateError,
    WrapperFrame,
    decode_apdu,
    decode_data,
    encode_apdu,
    encode_data,
    encode_wrapper,
    hls_gmac_response,
)
from meterkast.dlms.security import protect, unprotect
from tests.dlms.peer_dlms_cosem import (
    attributes,
    conformances,
    decodable_by_them,
    encodable_by_them,
    invokes,
    python_value,
    their_attribute,
    their_conformance,
    their_data_value,
    their_invoke,
)
from tests.dlms.vectors import CLOCK_COLUMN, GB_KEYS, GB_SYSTEM_TITLE

# ---- A-XDR Data ------------------------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(decodable_by_them)
def test_data_ours_to_theirs(value: DlmsData) -> None:
    parsed = their_data.DlmsDataParser().parse(encode_data(value))
    assert len(parsed) == 1
    assert parsed[0].to_python() == python_value(value)


@settings(max_examples=300, deadline=None)
@given(encodable_by_them)
def test_data_theirs_to_ours(value: DlmsData) -> None:
    assert decode_data(their_data_value(value).to_bytes()) == value


@settings(max_examples=200, deadline=None)
@given(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31),
                    timezones=st.integers(-12 * 60, 12 * 60).filter(bool).map(  # offset 0: a gap of theirs
                        lambda m: dt.timezone(dt.timedelta(minutes=m)))))
def test_date_time_both_ways(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=moment.microsecond // 10_000 * 10_000)
    ours = CosemDateTime.from_datetime(moment)
    theirs_read, _ = their_time.datetime_from_bytes(ours.encode())
    assert theirs_read == moment
    # theirs leaves day-of-week unspecified (FF); everything else is the same octets
    their_bytes = their_time.datetime_to_bytes(moment)
    assert CosemDateTime.decode(their_bytes).to_datetime() == moment
    assert their_bytes[:4] + their_bytes[5:] == ours.encode()[:4] + ours.encode()[5:]


# ---- xDLMS APDUs: their encode → our decode --------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(attributes, invokes, st.integers(0, 0xFFFF_FFFF))
def test_get_requests_theirs_to_ours(attribute: AttributeDescriptor, invoke: InvokeIdAndPriority, block: int) -> None:
    normal = their_xdlms.GetRequestNormal(their_attribute(attribute), their_invoke(invoke))
    assert decode_apdu(normal.to_bytes()) == GetRequestNormal(attribute, None, invoke)
    following = their_xdlms.GetRequestNext(block, their_invoke(invoke))
    assert decode_apdu(following.to_bytes()) == GetRequestNext(block, invoke)
    listed = their_xdlms.GetRequestWithList(
        [their_cosem.CosemAttributeWithSelection(their_attribute(attribute), None)] * 2, their_invoke(invoke))
    assert decode_apdu(listed.to_bytes()) == GetRequestWithList((AttributeWithSelection(attribute),) * 2, invoke)


@settings(max_examples=200, deadline=None)
@given(attributes, invokes, st.integers(0, 0xFFFF_FFFF), st.binary(max_size=300),
       st.sampled_from(list(their_enums.DataAccessResult)))
def test_get_responses_theirs_to_ours(attribute: AttributeDescriptor, invoke: InvokeIdAndPriority, block: int,
                                      raw: bytes, error: Any) -> None:
    mine = DataAccessResult(error)
    theirs_invoke = their_invoke(invoke)
    cases = [
        (their_xdlms.GetResponseNormalWithError(error, theirs_invoke), GetResponseNormal(mine, invoke)),
        (their_xdlms.GetResponseWithBlock(raw, block, theirs_invoke),
         GetResponseWithDatablock(False, block, raw, invoke)),
        (their_xdlms.GetResponseLastBlock(raw, block, theirs_invoke),
         GetResponseWithDatablock(True, block, raw, invoke)),
        (their_xdlms.GetResponseLastBlockWithError(error, block, theirs_invoke),
         GetResponseWithDatablock(True, block, mine, invoke)),
        (their_xdlms.GetResponseWithList([their_data.DoubleLongUnsignedData(block), error], theirs_invoke),
         GetResponseWithList((DoubleLongUnsigned(block), mine), invoke)),
    ]
    for theirs, ours in cases:
        assert decode_apdu(theirs.to_bytes()) == ours


@settings(max_examples=200, deadline=None)
@given(attributes, invokes, encodable_by_them, st.sampled_from(list(their_enums.DataAccessResult)),
       st.sampled_from(list(their_enums.ActionResultStatus)))
def test_set_and_action_theirs_to_ours(attribute: AttributeDescriptor, invoke: InvokeIdAndPriority, value: DlmsData,
                                       error: Any, status: Any) -> None:
    theirs_invoke = their_invoke(invoke)
    method = their_cosem.CosemMethod(their_attribute(attribute).interface, their_attribute(attribute).instance,
                                     attribute.attribute_id)
    ours_method = MethodDescriptor(attribute.class_id, attribute.instance, attribute.attribute_id)
    raw = encode_data(value)
    cases = [
        (their_xdlms.SetRequestNormal(their_attribute(attribute), raw, None, theirs_invoke),
         SetRequestNormal(attribute, value, None, invoke)),
        (their_xdlms.SetResponseNormal(error, theirs_invoke), SetResponseNormal(DataAccessResult(error), invoke)),
        (their_xdlms.ActionRequestNormal(method, raw, theirs_invoke), ActionRequestNormal(ours_method, value, invoke)),
        (their_xdlms.ActionResponseNormal(status, theirs_invoke),
         ActionResponseNormal(ActionResult(status), None, invoke)),
        (their_xdlms.ActionResponseNormalWithData(status, raw, theirs_invoke),
         ActionResponseNormal(ActionResult(status), value, invoke)),
        (their_xdlms.ActionResponseNormalWithError(status, error, theirs_invoke),
         ActionResponseNormal(ActionResult(status), DataAccessResult(error), invoke)),
    ]
    for theirs, ours in cases:
        assert decode_apdu(theirs.to_bytes()) == ours


# ---- xDLMS APDUs: our encode → their decode --------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(attributes, invokes, st.integers(0, 0xFFFF_FFFF), decodable_by_them, st.sampled_from(DataAccessResult))
def test_services_ours_to_theirs(attribute: AttributeDescriptor, invoke: InvokeIdAndPriority, block: int,
                                 value: DlmsData, error: DataAccessResult) -> None:
    theirs = XDlmsApduFactory.apdu_from_bytes
    request = theirs(encode_apdu(GetRequestNormal(attribute, None, invoke)))
    assert request.cosem_attribute == their_attribute(attribute)
    assert request.invoke_id_and_priority == their_invoke(invoke)
    assert theirs(encode_apdu(GetRequestNext(block, invoke))).block_number == block
    response = theirs(encode_apdu(GetResponseNormal(value, invoke)))
    assert their_data.DlmsDataParser().parse(response.data)[0].to_python() == python_value(value)
    assert theirs(encode_apdu(GetResponseNormal(error, invoke))).error == error
    last = theirs(encode_apdu(GetResponseWithDatablock(True, block, b"\x01\x02", invoke)))
    assert (type(last).__name__, last.block_number, last.data) == ("GetResponseLastBlock", block, b"\x01\x02")
    listed = theirs(encode_apdu(GetResponseWithList((value, error), invoke)))
    assert listed.result == [python_value(value), error]
    setting = theirs(encode_apdu(SetRequestNormal(attribute, value, None, invoke)))
    assert (setting.cosem_attribute, setting.data) == (their_attribute(attribute), encode_data(value))
    action = theirs(encode_apdu(ActionRequestNormal(MethodDescriptor(attribute.class_id, attribute.instance, 1),
                                                    value, invoke)))
    assert action.data == encode_data(value)
    answered = theirs(encode_apdu(ActionResponseNormal(ActionResult.SUCCESS, value, invoke)))
    assert answered.data == encode_data(value)


def test_range_descriptor_both_ways() -> None:
    start = dt.datetime(2026, 11, 28, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    end = start + dt.timedelta(days=1)
    clock = their_cosem.CosemAttribute(their_enums.CosemInterface.CLOCK, their_cosem.Obis(0, 0, 1, 0, 0), 2)
    profile = AttributeDescriptor(7, ObisCode.parse("0-1:24.3.0.255"), 2)
    theirs = their_xdlms.GetRequestNormal(their_attribute(profile), access_selection=their_access.RangeDescriptor(
        TheirCaptureObject(clock, 0), start, end))
    ours = decode_apdu(theirs.to_bytes())
    assert isinstance(ours, GetRequestNormal)
    assert isinstance(ours.access, RangeDescriptor)
    assert ours.access.restricting_object == CLOCK_COLUMN
    assert isinstance(ours.access.from_value, OctetString)
    assert CosemDateTime.decode(ours.access.from_value.value).to_datetime() == start
    back = XDlmsApduFactory.apdu_from_bytes(encode_apdu(GetRequestNormal(
        profile, RangeDescriptor.between(start, end, CLOCK_COLUMN))))
    assert (back.access_selection.from_value, back.access_selection.to_value) == (start, end)


# ---- ACSE and Initiate -----------------------------------------------------------------------------------

def their_initiate_request(conformance: Conformance, size: int) -> Any:
    # their decoder reads the absent quality-of-service as 0, so that is what compares equal
    return their_xdlms.InitiateRequest(proposed_conformance=their_conformance(conformance),
                                       client_max_receive_pdu_size=size, proposed_quality_of_service=0)


MECHANISMS = [(None, None), (their_enums.AuthenticationMechanism.LLS, MechanismName.LOW),
              (their_enums.AuthenticationMechanism.HLS_GMAC, MechanismName.HIGH_GMAC)]


@dataclass(frozen=True)
class Proposal:
    conformance: Conformance
    size: int
    mechanism: tuple[Any, MechanismName | None]
    ciphered: bool
    title: bytes
    challenge: bytes


proposals = st.builds(Proposal, conformances, st.integers(0, 0xFFFF), st.sampled_from(MECHANISMS), st.booleans(),
                      st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=32))


@settings(max_examples=150, deadline=None)
@given(proposals)
def test_association_both_ways(proposal: Proposal) -> None:
    conformance, size, ciphered, title = proposal.conformance, proposal.size, proposal.ciphered, proposal.title
    challenge = proposal.challenge
    their_mechanism, our_mechanism = proposal.mechanism
    secret = challenge if our_mechanism else None
    context = ApplicationContext.LN_CIPHERING if ciphered else ApplicationContext.LN
    aarq_theirs = their_acse.ApplicationAssociationRequest(
        user_information=their_acse.UserInformation(their_initiate_request(conformance, size)),
        system_title=title if ciphered else None, authentication=their_mechanism, ciphered=ciphered,
        authentication_value=secret)
    aarq_ours = AARQ(context, title if ciphered else None, our_mechanism, secret, InitiateRequest(conformance, size))
    assert decode_apdu(aarq_theirs.to_bytes()) == aarq_ours
    # their InitiateRequest decoder drops the first conformance octet (a gap of theirs): compare the rest
    low_octets = their_acse.UserInformation(their_initiate_request(Conformance(conformance & 0xFFFF), size))
    assert their_acse.ApplicationAssociationRequest.from_bytes(encode_apdu(aarq_ours)) == attr.evolve(
        aarq_theirs, user_information=low_octets)
    response = their_xdlms.InitiateResponse(negotiated_conformance=their_conformance(conformance),
                                            server_max_receive_pdu_size=size)
    aare_theirs = their_acse.ApplicationAssociationResponse(
        result=their_enums.AssociationResult.ACCEPTED,
        result_source_diagnostics=their_enums.AcseServiceUserDiagnostics.NULL, ciphered=ciphered,
        authentication=their_mechanism, system_title=title if ciphered else None, authentication_value=secret,
        user_information=their_acse.UserInformation(response))
    aare_ours = decode_apdu(aare_theirs.to_bytes())
    assert isinstance(aare_ours, AARE)
    assert (aare_ours.responding_ap_title, aare_ours.mechanism, aare_ours.responding_authentication_value) == (
        title if ciphered else None, our_mechanism, secret)
    assert aare_ours.user_information == InitiateResponse(conformance, size)  # their QoS 0 is the "absent" flag
    assert their_acse.ApplicationAssociationResponse.from_bytes(encode_apdu(aare_ours)) == aare_theirs


def test_release_both_ways() -> None:
    assert decode_apdu(their_acse.ReleaseRequest(reason=their_enums.ReleaseRequestReason.NORMAL).to_bytes()) == RLRQ()
    assert their_acse.ReleaseResponse.from_bytes(encode_apdu(RLRE())).reason == their_enums.ReleaseResponseReason.NORMAL
    glo = CipheredApdu(0x21, SecurityControl(), 7, bytes(20))
    theirs = their_acse.ReleaseRequest.from_bytes(encode_apdu(RLRQ(user_information=glo)))
    assert theirs.user_information.content.invocation_counter == 7


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=8, max_size=8), st.integers(0, 0xFFFF_FFFF), st.binary(min_size=12, max_size=200),
       st.sampled_from([0x21, 0x28]))
def test_ciphered_apdus_both_ways(title: bytes, counter: int, payload: bytes, tag: int) -> None:
    control = their_security.SecurityControlField(0, True, True)
    general = their_xdlms.GeneralGlobalCipher(title, control, counter, payload)
    if len(payload) + 5 < 128:  # their encoder writes one length octet (see test_interop_dlms_cosem_gaps)
        assert decode_apdu(general.to_bytes()) == GeneralGloCiphering(title, SecurityControl(), counter, payload)
    theirs = XDlmsApduFactory.apdu_from_bytes(encode_apdu(GeneralGloCiphering(title, SecurityControl(), counter,
                                                                              payload[:100])))
    assert (theirs.system_title, theirs.invocation_counter, theirs.ciphered_text) == (title, counter, payload[:100])
    kind = their_xdlms.GlobalCipherInitiateRequest if tag == 0x21 else their_xdlms.GlobalCipherInitiateResponse
    ours = CipheredApdu(tag, SecurityControl(), counter, payload[:100])
    assert decode_apdu(kind(control, counter, payload[:100]).to_bytes()) == ours
    assert kind.from_bytes(encode_apdu(ours)) == kind(control, counter, payload[:100])


def test_exception_response_both_ways() -> None:
    theirs = their_xdlms.ExceptionResponse(their_enums.StateException.SERVICE_UNKNOWN,
                                           their_enums.ServiceException.PDU_TOO_LONG)
    ours = ExceptionResponse(StateError.SERVICE_UNKNOWN, ServiceError.PDU_TOO_LONG)
    assert decode_apdu(theirs.to_bytes()) == ours
    assert XDlmsApduFactory.apdu_from_bytes(encode_apdu(ours)) == theirs
    counted = XDlmsApduFactory.apdu_from_bytes(encode_apdu(ExceptionResponse(
        StateError.SERVICE_NOT_ALLOWED, ServiceError.INVOCATION_COUNTER_ERROR, 70000)))
    assert counted.invocation_counter_data == 70000


# ---- security suite 0 ------------------------------------------------------------------------------------

keys16 = st.binary(min_size=16, max_size=16)


@settings(max_examples=300, deadline=None)
@given(keys16, keys16, st.binary(min_size=8, max_size=8), st.integers(0, 0xFFFF_FFFF), st.binary(max_size=400))
def test_gcm_both_ways(ek: bytes, ak: bytes, title: bytes, counter: int, plain: bytes) -> None:
    keys = SecurityKeys(ek, ak)
    control = their_security.SecurityControlField(0, True, True)
    ours = protect(plain, control=SecurityControl(), system_title=title, invocation_counter=counter, keys=keys)
    theirs = their_security.encrypt(control, title, counter, ek, plain, ak)
    assert ours == theirs
    assert their_security.decrypt(control, title, counter, ek, ours, ak) == plain
    assert unprotect(theirs, control=SecurityControl(), system_title=title, invocation_counter=counter,
                     keys=keys) == plain


@settings(max_examples=300, deadline=None)
@given(keys16, keys16, st.binary(min_size=8, max_size=8), st.integers(0, 0xFFFF_FFFF),
       st.binary(min_size=8, max_size=64))
def test_hls5_gmac_both_ways(ek: bytes, ak: bytes, title: bytes, counter: int, challenge: bytes) -> None:
    control = their_security.SecurityControlField(0, authenticated=True, encrypted=False)
    theirs = their_security.gmac(control, title, counter, ek, ak, challenge)
    ours = hls_gmac_response(challenge, system_title=title, invocation_counter=counter, keys=SecurityKeys(ek, ak))
    assert ours == bytes((0x10,)) + counter.to_bytes(4, "big") + theirs


def test_their_green_book_glo_get_request_deciphers_with_ours() -> None:
    payload = bytes.fromhex("411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B")
    apdu = their_xdlms.GeneralGlobalCipher(GB_SYSTEM_TITLE, their_security.SecurityControlField(0, True, True),
                                           0x01234567, payload)
    ours = decode_apdu(apdu.to_bytes())
    assert isinstance(ours, GeneralGloCiphering)
    assert unprotect(ours.payload, control=ours.security_control, system_title=ours.system_title,
                     invocation_counter=ours.invocation_counter, keys=GB_KEYS) == bytes.fromhex(
        "C0010000080000010000FF0200")


# ---- TCP wrapper -----------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=300))
def test_wrapper_both_ways(source: int, destination: int, apdu: bytes) -> None:
    theirs = WrapperProtocolDataUnit(apdu, WrapperHeader(source, destination, len(apdu)))
    ours = WrapperFrame(source, destination, apdu)
    assert theirs.to_bytes() == encode_wrapper(ours)
    back = WrapperProtocolDataUnit.from_bytes(encode_wrapper(ours))
    assert (back.wrapper_header.source_wport, back.wrapper_header.destination_wport, back.data) == (
        source, destination, apdu)

