"""Gurux's DLMS client (gurux-dlms 1.0.x, GPL-2.0, test-only) as the central system against our E-meter.

A second DLMS client beside dlms-cosem (``test_p3_interop_dlms_cosem.py``), written independently (Gurux
Ltd's Python port of their C#/Java stack): Gurux generates and parses every byte, ``tests.io.gurux_link``
only moves them over a loopback TCP connection in the IEC 62056-47 wrapper to ``P3TcpServer``.

* public client 16, no security (P3 §2.1.1): clock, equipment identifier; a register is
  read-write-denied (no metering data for the public client);
* management client 1, HLS5-GMAC with every APDU authenticated and encrypted, security suite 0
  (P3 §3.2): the FIRST association to a fresh meter, whose own invocation counter starts at 1 (the AARE's
  glo-initiate-response carries 1); a register with scaler-unit, the gas master value 0-1:24.2.1 with
  scaler-unit and capture time, the clock, the hourly gas profile 0-1:24.3.0 through Gurux's range
  descriptor, the object list in blocks (block transfer with GET), release; SET of a message text in
  datablocks, ACTIONs (valve refused, M-Bus reset_alarm to the shell); the public object list in blocks;
* a new association that reuses a client counter the meter accepted before is refused
  (rejected-permanent, authentication-failure, issue 10 item 4), one above it is served;
* only security control 0x30 (P3 §3.2.3.1 items 2, 3): an AARQ at 0x10 or 0x20 is refused, a request at
  0x10, 0x20 or 0x00 gets deciphering-error (before the fix the meter took them all); AARQs outside the P3
  rules (no ciphering, wrong keys, a dedicated key, LLS, HLS-SHA256) are refused with their diagnostics;
* Gurux's protected release (``useProtectedRelease``, an RLRQ with a ciphered InitiateRequest) skips one
  counter value: ``releaseRequest`` adds one to a counter that already names the next unused value. DSMR P3
  §3.2.3.1 wants each frame "exactly 1 higher than the frame counter of the previous message" and the
  meter to "release the Application Association immediately" and "not send an error": the meter does so,
  and answers the RLRQ normally when the counter is in sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("gurux_dlms")

from gurux_dlms import GXDLMSClient, GXDLMSException, GXDLMSExceptionResponse
from gurux_dlms.enums import (
    AssociationResult,
    Authentication,
    DataType,
    ErrorCode,
    ExceptionServiceError,
    InterfaceType,
    Security,
    SourceDiagnostic,
    StateError,
)
from gurux_dlms.objects import (
    GXDLMSAssociationLogicalName,
    GXDLMSClock,
    GXDLMSData,
    GXDLMSDisconnectControl,
    GXDLMSExtendedRegister,
    GXDLMSMBusClient,
    GXDLMSProfileGeneric,
    GXDLMSRegister,
)
from gurux_dlms.secure import GXDLMSSecureClient

from meterkast.cosem.events import AssociationAborted, AssociationReleased, MbusCommandReceived
from meterkast.dlms import CipheredApdu, SecurityControl, WrapperFrame, encode_apdu, encode_wrapper
from meterkast.emeter import EMeter
from meterkast.errors import ReplayError
from tests.cosem.conftest import CS_TITLE, KEYS, METER_TITLE, two_day_meter
from tests.emeter.conftest import local
from tests.io.gurux_link import GuruxLink, GuruxReplyError, Served, management_client, public_client, serve

GLO_INITIATE_RESPONSE = bytes.fromhex("281F30")  # tag 0x28, 31 octets, security control 0x30 (suite 0, A+E)


@pytest.fixture(scope="module")
def meter() -> EMeter:
    return two_day_meter()


@pytest.fixture
def served(meter: EMeter) -> Iterator[Served]:
    """A fresh meter's P3 port for each test: its own counter at 1, no client counter seen yet."""
    with serve(meter, METER_TITLE, KEYS) as served:
        yield served


def _aare_counter(link: GuruxLink) -> int:
    """The meter's invocation counter in the first AARE's glo-initiate-response (Green Book 9.2.7.2.4.1:
    security header = security control, then the 4-octet invocation counter)."""
    aare = link.received[0]
    start = aare.index(GLO_INITIATE_RESPONSE) + len(GLO_INITIATE_RESPONSE)
    return int.from_bytes(aare[start:start + 4], "big")


def _last_client_counter(served: Served) -> int:
    return max(served.server.core.counters.client_last.values())


def test_gurux_public_client_reads_the_clock_and_identifier(meter: EMeter, served: Served) -> None:
    with GuruxLink(public_client(), served.port) as link:
        link.associate()
        clock = GXDLMSClock("0.0.1.0.0.255")
        link.read(clock, 2)
        # Gurux reads the deviation with the Green Book's sign (minutes from local time to UTC, -60 for CET)
        assert clock.time.value == meter.meter_time().replace(microsecond=0)
        assert clock.time.value.utcoffset() == meter.meter_time().utcoffset()
        identifier = GXDLMSData("0.0.96.1.1.255")
        link.read(identifier, 2)
        assert bytes(identifier.value) == meter.equipment_id.encode()
        with pytest.raises(GuruxReplyError) as refused:
            link.read(GXDLMSRegister("1.0.1.8.1.255"), 2)
        assert refused.value.code == ErrorCode.READ_WRITE_DENIED  # P3 §2.1.1: no metering data for client 16
        assert link.release().command  # an RLRE
    assert not served.server.core.counters.client_last  # no security: no counter kept


def test_gurux_first_management_association_to_a_fresh_meter(meter: EMeter, served: Served) -> None:
    core = served.server.core
    assert core.counter.next_value == 1 and not core.counters.client_last  # a fresh meter
    client = management_client(CS_TITLE, KEYS, 1, max_pdu=512)  # Gurux's own default first counter is 1
    with GuruxLink(client, served.port) as link:
        link.associate()
        assert _aare_counter(link) == 1  # the meter's first frame ever carries 1, not 0
        assert bytes(client.settings.sourceSystemTitle) == METER_TITLE

        register = GXDLMSRegister("1.0.1.8.1.255")
        link.read(register, 3)
        link.read(register, 2)
        assert (register.scaler, register.unit) == (1.0, 30)  # Wh, scaler 0 (P3 §6.2)
        assert register.value == meter.registers.import_kwh()[0] * 1000 and register.value > 0

        gas = GXDLMSExtendedRegister("0.1.24.2.1.255")
        for attribute in (3, 2, 5):
            link.read(gas, attribute)
        master = meter.master_value(1)
        assert master is not None
        assert (gas.scaler, gas.unit) == (0.001, 14)  # m³ with scaler -3 (P3 §7.3.1)
        assert round(gas.value * 1000) == int(master.value_m3 * 1000)  # Gurux applies the scaler
        assert gas.captureTime.value == master.capture_time

        clock = GXDLMSClock("0.0.1.0.0.255")
        link.read(clock, 2)
        assert clock.time.value == meter.meter_time().replace(microsecond=0)

        profile = GXDLMSProfileGeneric("0.1.24.3.0.255")
        link.read(profile, 3)  # capture objects: Gurux needs them to build the range descriptor and rows
        assert [(o.logicalName, a.attributeIndex) for o, a in profile.captureObjects] == [
            ("0.0.1.0.0.255", 2), ("0.1.96.10.3.255", 2), ("0.1.24.2.1.255", 2), ("0.1.24.2.1.255", 5)]
        start, end = local(2024, 3, 2, 8), local(2024, 3, 2, 12)
        reply = link.exchange(client.readRowsByRange(profile, start, end))
        client.updateValue(profile, 2, reply.value)
        expected = meter.hourly_profile(1).entries(start, end)
        assert len(profile.buffer) == len(expected) == 5
        assert [row[0].value for row in profile.buffer] == [e.clock for e in expected]
        assert [row[2] for row in profile.buffer] == [int(e.value_m3 * 1000) for e in expected]
        assert [row[3].value for row in profile.buffer] == [e.capture_time for e in expected]

        before = link.next_block_requests
        objects = client.parseObjects(link.exchange(client.read(GXDLMSAssociationLogicalName(), 2)).data, True)
        assert link.next_block_requests - before >= 7  # 3.8 kB in blocks for Gurux's 512-octet PDU
        names = {o.logicalName for o in objects}
        assert {"0.0.1.0.0.255", "1.0.1.8.1.255", "0.1.24.2.1.255", "0.1.24.3.0.255"} <= names

        assert link.release().command  # a plain RLRQ is answered with an RLRE
    served.wait_for_event(AssociationReleased)
    # Gurux's counter names the next value to use; the meter remembers the last one it accepted
    assert _last_client_counter(served) == client.ciphering.invocationCounter - 1
    assert core.counter.next_value > 1


def _refused(port: int, counter: int) -> GXDLMSException:
    with pytest.raises(GXDLMSException) as refused, \
            GuruxLink(management_client(CS_TITLE, KEYS, counter), port) as link:
        link.associate()
    return refused.value


def test_gurux_reusing_a_client_counter_is_refused_a_higher_one_served(served: Served) -> None:
    with GuruxLink(management_client(CS_TITLE, KEYS, 1), served.port) as link:
        link.associate()
        link.read(GXDLMSClock("0.0.1.0.0.255"), 2)
        link.release()
    last = _last_client_counter(served)
    assert last == 4  # AARQ 1, f(CtoS) 2, the frame that carries it 3, GET 4
    for counter in (1, 2, last):
        error = _refused(served.port, counter)
        assert (error.result, error.diagnostic) == (AssociationResult.PERMANENT_REJECTED,
                                                    SourceDiagnostic.AUTHENTICATION_FAILURE)
        assert _last_client_counter(served) == last  # a refused AARQ moves nothing
    with GuruxLink(management_client(CS_TITLE, KEYS, last + 1), served.port) as link:
        link.associate()
        clock = GXDLMSClock("0.0.1.0.0.255")
        link.read(clock, 2)
        assert clock.time.value is not None
        link.release()
    assert _last_client_counter(served) == last + 4


def test_gurux_protected_release_in_sequence_is_answered(served: Served) -> None:
    client = management_client(CS_TITLE, KEYS, 10)
    client.useProtectedRelease = True
    with GuruxLink(client, served.port) as link:
        link.associate()
        client.ciphering.invocationCounter -= 1  # undo the skip (see the module docstring): exactly next
        reply = link.release()
        assert reply.command  # the RLRE with the meter's ciphered InitiateResponse, which Gurux deciphered
    served.wait_for_event(AssociationReleased)
    assert _last_client_counter(served) == 13  # AARQ 10, f(CtoS) 11, frame 12, RLRQ 13


def test_gurux_protected_release_skips_a_counter_and_the_meter_releases_silently(served: Served) -> None:
    client = management_client(CS_TITLE, KEYS, 20)
    client.useProtectedRelease = True
    with GuruxLink(client, served.port) as link:
        link.associate()  # counters 20, 21 (f(CtoS)), 22
        link.send(client.releaseRequest())  # carries 24: 23 skipped
        aborted = served.wait_for_event(AssociationAborted)
        assert isinstance(aborted.error, ReplayError) and "counter 24" in str(aborted.error)
        # No RLRE and no error (P3 §3.2.3.1): the next frame on the connection answers the next request,
        # and the association is gone, so a ciphered GET can no longer be deciphered.
        with pytest.raises(GXDLMSExceptionResponse) as no_association:
            link.read(GXDLMSClock("0.0.1.0.0.255"), 2)
        assert (no_association.value.exceptionStateError, no_association.value.exceptionServiceError) == (
            StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.DECIPHERING_ERROR)
        assert len(link.received) == 3  # AARE, the answer to f(CtoS), the exception-response
    assert _last_client_counter(served) == 22


@pytest.mark.parametrize("security", [Security.AUTHENTICATION, Security.ENCRYPTION], ids=["0x10", "0x20"])
def test_gurux_aarq_protected_less_than_authenticated_and_encrypted_is_refused(served: Served,
                                                                               security: Security) -> None:
    """P3 §3.2.3.1 items 2 and 3: only 'Message Encryption & Message Authentication' (security control 0x30);
    the InitiateRequest in the AARQ "shall be encrypted and authenticated". A glo-initiate-request with 0x20
    carries no tag at all, so without this rule the keys would not even be checked."""
    client = management_client(CS_TITLE, KEYS, 1)
    client.ciphering.security = security
    with pytest.raises(GXDLMSException) as refused, GuruxLink(client, served.port) as link:
        link.associate()
    assert (refused.value.result, refused.value.diagnostic) == (AssociationResult.PERMANENT_REJECTED,
                                                                SourceDiagnostic.NO_REASON_GIVEN)
    assert not served.server.core.counters.client_last  # nothing accepted


@pytest.mark.parametrize("security", [Security.AUTHENTICATION, Security.ENCRYPTION, Security.NONE],
                         ids=["0x10", "0x20", "0x00"])
def test_gurux_request_protected_less_than_authenticated_and_encrypted_is_refused(served: Served,
                                                                                  security: Security) -> None:
    """In the management association every xDLMS APDU must be 0x30 (P3 §3.2.3.1 item 2): a glo-get-request
    with 0x10 (readable, only signed), 0x20 (no tag: its bits can be flipped unnoticed) or 0x00 (neither) is
    answered with an exception-response (deciphering-error, as for a tag that does not verify), nothing moves
    and the association stays."""
    client = management_client(CS_TITLE, KEYS, 1)
    with GuruxLink(client, served.port) as link:
        link.associate()
        accepted = _last_client_counter(served)
        clock = GXDLMSClock("0.0.1.0.0.255")
        if security is Security.NONE:  # Gurux sends no glo- APDU without protection: build 0x00 ourselves
            plain = GXDLMSClient(True, 1, 1, Authentication.NONE, None, InterfaceType.WRAPPER).read(clock, 2)[0]
            glo = CipheredApdu(0xC8, SecurityControl(authenticated=False, encrypted=False), accepted + 1,
                               bytes(plain[8:]))
            link.sock.sendall(encode_wrapper(WrapperFrame(1, 1, encode_apdu(glo))))
            frame = link.receive_frame()
            assert frame[8:] == bytes.fromhex("D80105")  # service-not-allowed, deciphering-error
        else:
            client.ciphering.security = security
            with pytest.raises(GXDLMSExceptionResponse) as refused:
                link.read(clock, 2)
            assert (refused.value.exceptionStateError, refused.value.exceptionServiceError) == (
                StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.DECIPHERING_ERROR)
            client.ciphering.invocationCounter -= 1  # the meter did not take that counter
        assert _last_client_counter(served) == accepted
        assert not any(isinstance(e, AssociationAborted) for e in served.events)
        client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
        client.ciphering.invocationCounter = accepted + 1
        link.read(clock, 2)  # still associated, served at 0x30
        assert clock.time.value is not None
    assert _last_client_counter(served) == accepted + 1


def _no_ciphering(client: GXDLMSSecureClient) -> None:
    client.ciphering.security = Security.NONE  # Gurux then proposes the plain LN context (1)


def _wrong_encryption_key(client: GXDLMSSecureClient) -> None:
    client.ciphering.blockCipherKey = bytearray(16)


def _wrong_authentication_key(client: GXDLMSSecureClient) -> None:
    client.ciphering.authenticationKey = bytearray(16)


def _dedicated_key(client: GXDLMSSecureClient) -> None:
    client.ciphering.dedicatedKey = bytearray(range(16))  # P3 §3.2.3.1 item 5: global keys only


def _lls(client: GXDLMSSecureClient) -> None:
    client.authentication, client.password = Authentication.LOW, b"12345678"


def _hls_sha256(client: GXDLMSSecureClient) -> None:
    client.authentication, client.password = Authentication.HIGH_SHA256, b"12345678"


@pytest.mark.parametrize(("change", "diagnostic"), [
    (_no_ciphering, SourceDiagnostic.NOT_SUPPORTED),  # application-context-name not supported
    (_wrong_encryption_key, SourceDiagnostic.AUTHENTICATION_FAILURE),
    (_wrong_authentication_key, SourceDiagnostic.AUTHENTICATION_FAILURE),
    (_dedicated_key, SourceDiagnostic.NO_REASON_GIVEN),
    (_lls, SourceDiagnostic.NOT_RECOGNISED),  # mechanism name not recognised
    (_hls_sha256, SourceDiagnostic.NOT_RECOGNISED),
])
def test_gurux_management_aarq_outside_the_p3_rules_is_refused(served: Served, change: Any,
                                                              diagnostic: SourceDiagnostic) -> None:
    """P3 §3.2.2, §3.2.3.1: HLS5-GMAC with global keys in the ciphered context only; Gurux reads the AARE."""
    client = management_client(CS_TITLE, KEYS, 1)
    change(client)
    with pytest.raises(GXDLMSException) as refused, GuruxLink(client, served.port) as link:
        link.associate()
    assert (refused.value.result, refused.value.diagnostic) == (AssociationResult.PERMANENT_REJECTED, diagnostic)
    assert not served.server.core.counters.client_last


def test_gurux_set_in_datablocks_and_actions(meter: EMeter, served: Served) -> None:
    """SET of a 1012-octet message text, which Gurux cuts into Set-Request-With-Datablock for the meter's
    1024-octet PDU (P3 §2.1.3); ACTION: the valve is refused read-write-denied (not in DSMR 4.2.2), the
    M-Bus client's reset_alarm reaches the shell (P3 §3.5: success)."""
    client = management_client(CS_TITLE, KEYS, 1)
    with GuruxLink(client, served.port) as link:
        link.associate()
        text = GXDLMSData("0.0.96.13.0.255")
        text.value = bytearray(b"meterkast " * 101 + b"ok")
        text.setDataType(2, DataType.OCTET_STRING)
        frames = client.write(text, 2)
        assert len(frames) == 2  # two datablocks
        link.exchange(frames)
        assert meter.text_message.encode() == bytes(text.value)
        assert bytes(link.read(GXDLMSData("0.0.96.13.0.255"), 2)) == bytes(text.value)

        with pytest.raises(GuruxReplyError) as refused:
            link.exchange(client.method(GXDLMSDisconnectControl("0.1.24.4.0.255"), 1, 0, DataType.INT8))
        assert refused.value.code == ErrorCode.READ_WRITE_DENIED
        link.exchange(client.method(GXDLMSMBusClient("0.1.24.1.0.255"), 4, 0, DataType.INT8))  # reset_alarm
        command = served.wait_for_event(MbusCommandReceived)
        assert (command.channel, command.method) == (1, "reset_alarm")
        link.release()


def test_gurux_public_client_object_list_in_blocks_and_no_set(served: Served) -> None:
    client = public_client()
    client.maxReceivePDUSize = 128
    with GuruxLink(client, served.port) as link:
        link.associate()
        objects = client.parseObjects(link.exchange(client.read(GXDLMSAssociationLogicalName(), 2)).data, True)
        assert link.next_block_requests >= 3
        names = {o.logicalName for o in objects}
        assert "0.0.1.0.0.255" in names and "1.0.1.8.1.255" not in names  # P-readable objects only
        clock = GXDLMSClock("0.0.1.0.0.255")
        link.read(clock, 2)
        with pytest.raises(GXDLMSExceptionResponse) as refused:  # P3 §2.1.1: the public client only reads
            link.exchange(client.write(clock, 2))
        assert (refused.value.exceptionStateError, refused.value.exceptionServiceError) == (
            StateError.SERVICE_NOT_ALLOWED, ExceptionServiceError.SERVICE_NOT_SUPPORTED)


def test_gurux_get_with_list(meter: EMeter, served: Served) -> None:
    client = management_client(CS_TITLE, KEYS, 1)
    clock, register = GXDLMSClock("0.0.1.0.0.255"), GXDLMSRegister("1.0.1.8.1.255")
    gas = GXDLMSExtendedRegister("0.1.24.2.1.255")
    items = [(clock, 2), (register, 2), (gas, 2), (gas, 5)]
    with GuruxLink(client, served.port) as link:
        link.associate()
        (frames,) = client.readList(items)  # one Get-Request-With-List
        client.updateValues(items, link.exchange(frames).value)
        master = meter.master_value(1)
        assert master is not None
        assert clock.time.value == meter.meter_time().replace(microsecond=0)
        assert register.value == meter.registers.import_kwh()[0] * 1000
        assert (gas.value, gas.captureTime.value) == (int(master.value_m3 * 1000), master.capture_time)
        (frames,) = client.readList([(clock, 2), (GXDLMSData("0.0.96.99.99.255"), 2)])
        with pytest.raises(GuruxReplyError) as partly:
            link.exchange(frames)
        assert partly.value.code == ErrorCode.UNDEFINED_OBJECT  # per item; Gurux reports the first error
