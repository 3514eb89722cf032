"""Key change over P3 (Security setup 0-0:43.0.0.255 global_key_transfer, RFC 3394 key wrap; P3 §5.1 footnote 4)
and "counters never reused": no (key, IV) pair is used twice by our client or our meter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.keywrap import aes_key_wrap

from meterkast.cosem.access import Client
from meterkast.cosem.events import AssociationRefused, GlobalKeysReplaced, KeyTransferRefused
from meterkast.cosem.keys import GLOBAL_KEY_TRANSFER, SECURITY_ACTIVATE, KeyId, key_data
from meterkast.cosem.loopback import Loopback
from meterkast.cosem.server import P3Server, ServerState
from meterkast.dlms import (
    AARE,
    ActionResult,
    Array,
    AttributeDescriptor,
    DataAccessResult,
    EnumValue,
    ObisCode,
    OctetString,
    SecurityKeys,
    Structure,
    cipher_apdu,
    decode_apdu,
    hls_gmac_response,
    security,
)
from meterkast.dlms.hls import reply_to_hls_request
from meterkast.emeter import EMeter
from meterkast.errors import AuthenticationError, CommandRefused
from tests.cosem.conftest import CS_TITLE, KEYS, Session, make_server, management_client, management_session

KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")  # the Green Book's example KEK
NEW_KEYS = SecurityKeys(bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
                        bytes.fromhex("B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"))
IMPORT_T1 = AttributeDescriptor(3, ObisCode.parse("1-0:1.8.1.255"), 2)
POLICY = AttributeDescriptor(64, ObisCode.parse("0-0:43.0.0.255"), 2)


def meter_with_kek(meter: EMeter, kek: bytes | None = KEK) -> P3Server:
    server = make_server(meter)
    server.master_key = kek
    return server


@pytest.fixture
def gcm_uses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[bytes, bytes]]]:
    """Every (key, IV) that ``protect`` hands to AES-GCM: each GCM encryption or GMAC of either side."""
    uses: list[tuple[bytes, bytes]] = []
    real = security._gcm

    def recording(key: bytes, iv: bytes) -> Cipher[modes.GCM]:
        uses.append((key, iv))
        return real(key, iv)

    monkeypatch.setattr(security, "_gcm", recording)
    yield uses


def test_keys_are_replaced_after_the_ack_and_used_from_the_next_apdu_on(meter) -> None:  # type: ignore[no-untyped-def]
    server = meter_with_kek(meter)
    session = management_session(server)
    session.run(session.client.replace_keys(NEW_KEYS, KEK))  # the ACK deciphered under the old keys
    assert session.client.keys == NEW_KEYS and server.keys == NEW_KEYS
    assert GlobalKeysReplaced(1, (KeyId.GLOBAL_UNICAST_ENCRYPTION, KeyId.AUTHENTICATION)) in session.link.events
    assert "A0A1" not in repr(session.link.events) and "a0a1" not in repr(session.link.events)
    assert not isinstance(session.run(session.client.get(IMPORT_T1)), DataAccessResult)  # same association, new keys
    session.run(session.client.release())
    again = management_session(server, keys=NEW_KEYS, counter=session.client.counter.next_value)
    assert session.client.counter.next_value > 1  # the counters go on (P3 §3.2.3.1 "may be reset": not done)
    assert not isinstance(again.run(again.client.get(IMPORT_T1)), DataAccessResult)
    old = Session(server, Loopback(server.association(), Client.MANAGEMENT), management_client(counter=100))
    with pytest.raises(AuthenticationError):
        old.run(old.client.associate())


def test_a_key_wrapped_under_another_kek_is_refused_and_nothing_changes(meter) -> None:  # type: ignore[no-untyped-def]
    server = meter_with_kek(meter)
    session = management_session(server)
    with pytest.raises(CommandRefused, match="refused global_key_transfer: other-reason; its keys are unchanged"):
        session.run(session.client.replace_keys(NEW_KEYS, bytes(16)))
    assert session.client.keys == KEYS and server.keys == KEYS
    refused = [e for e in session.link.events if isinstance(e, KeyTransferRefused)]
    assert len(refused) == 1 and "RFC 3394 integrity check" in str(refused[0].error)
    assert not isinstance(session.run(session.client.get(IMPORT_T1)), DataAccessResult)  # still the old keys


def _wrapped(key_id: int, key: bytes = NEW_KEYS.encryption_key, kek: bytes = KEK) -> Structure:
    return Structure((EnumValue(key_id), OctetString(aes_key_wrap(kek, key))))


@pytest.mark.parametrize(("parameters", "result"), [
    (Array((_wrapped(KeyId.MASTER),)), ActionResult.READ_WRITE_DENIED),  # "except the master key" (DSMR-M 4.4.14)
    (Array((_wrapped(KeyId.GLOBAL_BROADCAST_ENCRYPTION),)), ActionResult.READ_WRITE_DENIED),
    (Array((_wrapped(0), _wrapped(0))), ActionResult.READ_WRITE_DENIED),
    (Array((_wrapped(0), _wrapped(2, kek=bytes(16)))), ActionResult.OTHER_REASON),  # all or nothing
    (Array((_wrapped(0, key=bytes(32)),)), ActionResult.TYPE_UNMATCHED),  # an AES-256 key: not suite 0
    (Array(), ActionResult.TYPE_UNMATCHED),
    (OctetString(b"key"), ActionResult.TYPE_UNMATCHED),
    (Array((Structure((EnumValue(0),)),)), ActionResult.TYPE_UNMATCHED),
])
def test_key_data_refusals(meter, parameters, result) -> None:  # type: ignore[no-untyped-def]
    server = meter_with_kek(meter)
    session = management_session(server)
    assert session.run(session.client.action(GLOBAL_KEY_TRANSFER, parameters)) == (result, None)
    assert server.keys == KEYS


def test_only_the_authentication_key_can_be_changed_alone(meter) -> None:  # type: ignore[no-untyped-def]
    server = meter_with_kek(meter)
    session = management_session(server)
    new_ak = NEW_KEYS.authentication_key
    parameters = Array((_wrapped(KeyId.AUTHENTICATION, key=new_ak),))
    assert session.run(session.client.action(GLOBAL_KEY_TRANSFER, parameters))[0] is ActionResult.SUCCESS
    assert server.keys == SecurityKeys(KEYS.encryption_key, new_ak)


def test_a_meter_without_a_master_key_refuses_a_key_change(meter) -> None:  # type: ignore[no-untyped-def]
    server = meter_with_kek(meter, None)
    session = management_session(server)
    assert session.run(session.client.action(GLOBAL_KEY_TRANSFER, key_data(NEW_KEYS, KEK)))[0] is \
        ActionResult.OTHER_REASON
    assert server.keys == KEYS


def test_security_activate_keeps_policy_3_and_never_lowers_it(meter) -> None:  # type: ignore[no-untyped-def]
    session = management_session(meter_with_kek(meter))
    assert session.run(session.client.action(SECURITY_ACTIVATE, EnumValue(3)))[0] is ActionResult.SUCCESS
    assert session.run(session.client.action(SECURITY_ACTIVATE, EnumValue(1)))[0] is ActionResult.OTHER_REASON
    assert session.run(session.client.action(SECURITY_ACTIVATE, OctetString(b"3")))[0] is ActionResult.TYPE_UNMATCHED
    assert session.run(session.client.get(POLICY)) == EnumValue(3)


def test_no_key_and_iv_pair_is_used_twice_in_associations_and_a_key_change(  # type: ignore[no-untyped-def]
        meter, gcm_uses) -> None:
    server = meter_with_kek(meter)
    first = management_session(server, counter=7)  # AARQ, f(StoC), HLS frame; AARE, f(CtoS), HLS answer
    first.run(first.client.get(IMPORT_T1))
    first.run(first.client.replace_keys(NEW_KEYS, KEK))
    first.run(first.client.get(IMPORT_T1))
    first.run(first.client.release())
    second = management_session(server, keys=NEW_KEYS, counter=first.client.counter.next_value)
    second.run(second.client.get(IMPORT_T1))
    second.run(second.client.release())
    # both sides: association 6 (initiate, f(StoC)/f(CtoS), HLS frames), each request and reply 2, release 2
    assert len(gcm_uses) == (6 + 2 + 2 + 2 + 2) + (6 + 2 + 2)
    assert {key for key, _ in gcm_uses} == {KEYS.encryption_key, NEW_KEYS.encryption_key}
    assert len(set(gcm_uses)) == len(gcm_uses)


def test_the_dlms_cosem_form_of_f_stoc_is_accepted_but_not_the_aarq_counter(meter) -> None:  # type: ignore[no-untyped-def]
    """dlms-cosem 21.3.2 computes f(StoC) with the counter of the frame that carries it; the meter takes that
    (it cannot make the client's IV fresh), but refuses an f(StoC) that reuses the AARQ's counter."""
    for f_counter, frame_counter, state in ((2, 2, ServerState.ASSOCIATED), (1, 2, ServerState.IDLE)):
        server = make_server(meter)
        association = server.association()
        aare = decode_apdu(association.receive(1, next(management_client(counter=1).associate())).reply)  # AARQ 1
        assert isinstance(aare, AARE) and aare.responding_authentication_value is not None
        answer = hls_gmac_response(aare.responding_authentication_value, system_title=CS_TITLE,
                                   invocation_counter=f_counter, keys=KEYS)
        frame = cipher_apdu(reply_to_hls_request(answer).encode(), system_title=CS_TITLE,
                            invocation_counter=frame_counter, keys=KEYS)
        output = association.receive(1, frame.encode())
        assert association.state is state
        if state is ServerState.IDLE:
            assert isinstance(output.events[0], AssociationRefused)
            assert "expected" in str(output.events[0].error)
