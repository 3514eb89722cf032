"""DSMR P3 security suite 0 (P3 §3.2.3) and HLS5-GMAC against the Green Book's published vectors."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.dlms import (
    AARQ,
    RLRE,
    CipheredApdu,
    CounterPolicy,
    GetRequestNormal,
    InitiateRequest,
    InitiateResponse,
    InvocationCounter,
    InvocationCounterGuard,
    OctetString,
    SecurityKeys,
    cipher_apdu,
    decipher_apdu,
    decode_apdu,
    encode_apdu,
    hls_gmac_response,
    make_challenge,
    verify_hls_gmac_response,
)
from meterkast.dlms.ciphered import AUTHENTICATED_ONLY, ENCRYPTED_ONLY, SecurityControl
from meterkast.dlms.hls import reply_to_hls_answer, reply_to_hls_request
from meterkast.dlms.reader import Reader
from meterkast.dlms.security import general_glo_cipher, general_glo_decipher, protect, unprotect
from meterkast.errors import AuthenticationError, CodecError, InvalidInput, ReplayError
from tests.dlms.vectors import CLOCK_TIME, GB_CLIENT_SYSTEM_TITLE, GB_COUNTER, GB_KEYS, GB_SYSTEM_TITLE, VECTORS

GB_GET_PLAIN = bytes.fromhex("C0010000080000010000FF0200")  # Get clock time, invoke id 0, not confirmed
GB_GET_CIPHERED = bytes.fromhex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B")
WRONG_KEYS = SecurityKeys(bytes(16), GB_KEYS.authentication_key)


def _vector(name: str) -> bytes:
    return next(v.raw for v in VECTORS if v.name == name)


def test_green_book_glo_get_request_encrypts_to_the_published_bytes() -> None:
    ciphered = cipher_apdu(GB_GET_PLAIN, system_title=GB_SYSTEM_TITLE, invocation_counter=GB_COUNTER, keys=GB_KEYS)
    assert ciphered.encode() == GB_GET_CIPHERED


def test_green_book_glo_get_request_decrypts() -> None:
    apdu = decode_apdu(GB_GET_CIPHERED)
    assert isinstance(apdu, CipheredApdu)
    plain = decipher_apdu(apdu, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS)
    assert plain == GB_GET_PLAIN
    request = decode_apdu(plain)
    assert isinstance(request, GetRequestNormal)
    assert request.attribute == CLOCK_TIME


def test_green_book_ciphered_aarq_holds_an_initiate_request_with_dedicated_key() -> None:
    aarq = decode_apdu(_vector("AARQ, ciphered context, glo-initiate-request"))
    assert isinstance(aarq, AARQ)
    assert isinstance(aarq.user_information, CipheredApdu)
    assert aarq.calling_ap_title == GB_SYSTEM_TITLE
    inner = decode_apdu(decipher_apdu(aarq.user_information, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS))
    assert isinstance(inner, InitiateRequest)
    assert inner.dedicated_key == bytes.fromhex("00112233445566778899AABBCCDDEEFF")
    assert inner.client_max_receive_pdu_size == 1200
    # and back: our encryption of that InitiateRequest gives the published ciphertext
    again = cipher_apdu(encode_apdu(inner), system_title=GB_SYSTEM_TITLE, invocation_counter=GB_COUNTER, keys=GB_KEYS)
    assert again == aarq.user_information


def test_green_book_ciphered_rlre_holds_an_initiate_response() -> None:
    rlre = decode_apdu(_vector("RLRE with ciphered InitiateResponse"))
    assert isinstance(rlre, RLRE)
    assert isinstance(rlre.user_information, CipheredApdu)
    inner = decode_apdu(decipher_apdu(rlre.user_information, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS))
    assert isinstance(inner, InitiateResponse)
    assert inner.server_max_receive_pdu_size == 1024  # DSMR P3 §2.1.3


def test_wrong_key_names_the_system_title_and_not_the_key() -> None:
    apdu = CipheredApdu.read(Reader(GB_GET_CIPHERED))
    with pytest.raises(AuthenticationError) as caught:
        decipher_apdu(apdu, system_title=GB_SYSTEM_TITLE, keys=WRONG_KEYS)
    message = str(caught.value)
    assert "4D4D4D0000BC614E (MMM)" in message
    assert GB_KEYS.authentication_key.hex() not in message.lower()
    assert "keys" in message


@pytest.mark.parametrize("flip", [0, 5, 12, 20, 24])
def test_any_altered_byte_fails_authentication(flip: int) -> None:
    payload = bytearray(CipheredApdu.read(Reader(GB_GET_CIPHERED)).payload)
    payload[flip] ^= 0x01
    with pytest.raises(AuthenticationError):
        unprotect(bytes(payload), control=SecurityControl(), system_title=GB_SYSTEM_TITLE,
                  invocation_counter=GB_COUNTER, keys=GB_KEYS)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([SecurityControl(), AUTHENTICATED_ONLY, ENCRYPTED_ONLY]),
       st.integers(0, 0xFFFF_FFFF))
def test_protect_unprotect_round_trip(plain: bytes, control: SecurityControl, counter: int) -> None:
    payload = protect(plain, control=control, system_title=GB_SYSTEM_TITLE, invocation_counter=counter, keys=GB_KEYS)
    if control == AUTHENTICATED_ONLY:
        assert payload[:-12] == plain  # authenticated only: the information travels in clear
    assert unprotect(payload, control=control, system_title=GB_SYSTEM_TITLE, invocation_counter=counter,
                     keys=GB_KEYS) == plain


def test_guard_rejects_a_replay_and_is_not_moved_by_a_forgery() -> None:
    guard = InvocationCounterGuard(GB_SYSTEM_TITLE)
    first = cipher_apdu(GB_GET_PLAIN, system_title=GB_SYSTEM_TITLE, invocation_counter=10, keys=GB_KEYS)
    decipher_apdu(first, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS, guard=guard)
    assert guard.last_accepted == 10
    with pytest.raises(ReplayError, match="4D4D4D0000BC614E"):
        decipher_apdu(first, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS, guard=guard)
    forged = cipher_apdu(GB_GET_PLAIN, system_title=GB_SYSTEM_TITLE, invocation_counter=99, keys=WRONG_KEYS)
    with pytest.raises(AuthenticationError):
        decipher_apdu(forged, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS, guard=guard)
    assert guard.last_accepted == 10  # the forged counter 99 did not move it
    later = cipher_apdu(GB_GET_PLAIN, system_title=GB_SYSTEM_TITLE, invocation_counter=12, keys=GB_KEYS)
    decipher_apdu(later, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS, guard=guard)  # CS side: gaps are fine


def test_meter_side_guard_wants_exactly_the_next_counter() -> None:
    """P3 §3.2.3.1: the first counter of an association is not validated, then each one must be +1."""
    guard = InvocationCounterGuard(GB_CLIENT_SYSTEM_TITLE, policy=CounterPolicy.EXACTLY_NEXT)
    guard.accept(500)
    guard.accept(501)
    with pytest.raises(ReplayError, match="exactly one higher"):
        guard.accept(503)


def test_sender_counter_wraps_to_zero() -> None:
    counter = InvocationCounter(0xFFFF_FFFF)
    assert counter.take() == 0xFFFF_FFFF
    assert counter.take() == 0


def test_a_reserving_counter_hands_out_only_reserved_values() -> None:
    """``reserve(at_least)`` persists a block before any value of it is used (the CS's store does this)."""
    stored = {"next_free": 0}
    calls: list[int] = []

    def reserve(at_least: int) -> tuple[int, int]:
        calls.append(at_least)
        first = max(at_least, stored["next_free"])
        stored["next_free"] = first + 3
        return first, first + 3

    counter = InvocationCounter(1, reserve=reserve)
    assert [counter.take() for _ in range(4)] == [1, 2, 3, 4]  # blocks [1, 4) and [4, 7)
    assert calls == [1, 4]
    counter.reserve_ahead(2)  # 5 and 6 are left: nothing to do
    assert calls == [1, 4]
    counter.reserve_ahead(3)  # not enough left: a new block, the rest of the old one is skipped
    assert counter.take() == 7 and stored["next_free"] == 10
    restarted = InvocationCounter(1, reserve=reserve)
    assert restarted.take() == 10  # above everything the first one may have used


def test_a_reservation_below_the_counter_is_refused() -> None:
    counter = InvocationCounter(5, reserve=lambda _at: (2, 10))
    with pytest.raises(InvalidInput, match="does not lie above"):
        counter.take()
    full = InvocationCounter(0xFFFF_FFFF, reserve=lambda at: (at, at + 1))
    assert full.take() == 0xFFFF_FFFF
    with pytest.raises(InvalidInput):  # a reserving counter never wraps to 0
        full.take()


def test_deciphered_apdu_must_match_the_glo_tag() -> None:
    set_request_bytes = bytes.fromhex("C101C1000100002B0100FF02001105")
    wrong = CipheredApdu(0xC8, SecurityControl(), 7, protect(set_request_bytes, control=SecurityControl(),
                                                              system_title=GB_SYSTEM_TITLE, invocation_counter=7,
                                                              keys=GB_KEYS))
    with pytest.raises(CodecError, match="expected 0xC0"):
        decipher_apdu(wrong, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS)


def test_general_glo_ciphering_round_trip() -> None:
    wrapped = general_glo_cipher(GB_GET_PLAIN, system_title=GB_SYSTEM_TITLE, invocation_counter=GB_COUNTER,
                                 keys=GB_KEYS)
    raw = wrapped.encode()
    assert raw[:10] == bytes.fromhex("DB084D4D4D0000BC614E")
    assert raw[10:] == GB_GET_CIPHERED[1:]  # same ciphertext as glo-get-request: same IV, key and AAD
    again = decode_apdu(raw)
    guard = InvocationCounterGuard(GB_SYSTEM_TITLE)
    assert general_glo_decipher(again, keys=GB_KEYS, guard=guard) == GB_GET_PLAIN  # type: ignore[arg-type]


# ---- HLS5-GMAC (Green Book example: client 4D4D4D0000000001, IC 1; StoC "P6wRJ21F") -----------------------

STOC = b"P6wRJ21F"  # 503677524A323146
CTOS = b"K56iVagY"  # 4B35366956616759


def test_green_book_f_stoc() -> None:
    response = hls_gmac_response(STOC, system_title=GB_CLIENT_SYSTEM_TITLE, invocation_counter=1, keys=GB_KEYS)
    assert response == bytes.fromhex("10000000011A52FE7DD3E72748973C1E28")
    assert verify_hls_gmac_response(response, STOC, system_title=GB_CLIENT_SYSTEM_TITLE, keys=GB_KEYS) == 1


def test_green_book_reply_to_hls_action_bytes() -> None:
    f_stoc = hls_gmac_response(STOC, system_title=GB_CLIENT_SYSTEM_TITLE, invocation_counter=1, keys=GB_KEYS)
    raw = encode_apdu(reply_to_hls_request(f_stoc))
    assert raw == bytes.fromhex("C301C1000F0000280000FF01010911" "10000000011A52FE7DD3E72748973C1E28")


def test_hls5_four_passes() -> None:
    """AARQ (CtoS) → AARE (StoC) → ACTION f(StoC) → response f(CtoS), each side checking the other."""
    rng = random.Random(7)
    client_challenge, server_challenge = make_challenge(rng), make_challenge(rng)
    f_stoc = hls_gmac_response(server_challenge, system_title=GB_CLIENT_SYSTEM_TITLE, invocation_counter=2,
                               keys=GB_KEYS)
    action = decode_apdu(encode_apdu(reply_to_hls_request(f_stoc)))
    assert action == reply_to_hls_request(f_stoc)
    assert verify_hls_gmac_response(f_stoc, server_challenge, system_title=GB_CLIENT_SYSTEM_TITLE, keys=GB_KEYS) == 2
    f_ctos = hls_gmac_response(client_challenge, system_title=GB_SYSTEM_TITLE, invocation_counter=GB_COUNTER,
                               keys=GB_KEYS)
    answer = reply_to_hls_answer(f_ctos)
    assert answer.return_parameters == OctetString(f_ctos)
    verify_hls_gmac_response(f_ctos, client_challenge, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS)


def test_hls5_wrong_key_names_the_system_title() -> None:
    response = hls_gmac_response(STOC, system_title=GB_CLIENT_SYSTEM_TITLE, invocation_counter=1, keys=WRONG_KEYS)
    with pytest.raises(AuthenticationError, match="4D4D4D0000000001 \\(MMM\\): HLS5 authentication failed"):
        verify_hls_gmac_response(response, STOC, system_title=GB_CLIENT_SYSTEM_TITLE, keys=GB_KEYS)
    with pytest.raises(AuthenticationError, match="HLS5 response is 3 bytes"):
        verify_hls_gmac_response(b"\x10\x00\x00", STOC, system_title=GB_CLIENT_SYSTEM_TITLE, keys=GB_KEYS)


def test_challenges_are_reproducible_with_a_seed() -> None:
    assert make_challenge(random.Random(1)) == make_challenge(random.Random(1))
    assert len(make_challenge(random.Random(1), 64)) == 64
