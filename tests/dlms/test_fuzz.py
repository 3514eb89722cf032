"""Fuzz: random bytes and mutated known-answer APDUs never raise anything but a MeterkastError."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.cosem.values import read_date_time
from meterkast.dlms import (
    CipheredApdu,
    CosemDateTime,
    GeneralGloCiphering,
    OctetString,
    WrapperFrame,
    WrapperFramer,
    cipher_apdu,
    decipher_apdu,
    decode_apdu,
    decode_data,
    decode_wrapper,
    encode_wrapper,
)
from meterkast.dlms.cosem_time import CosemDate
from meterkast.dlms.hls import verify_hls_gmac_response
from meterkast.dlms.security import general_glo_cipher, general_glo_decipher
from meterkast.errors import CodecError, InvalidInput, MeterkastError
from tests.dlms.test_axdr import DATA_VECTORS
from tests.dlms.vectors import GB_KEYS, GB_SYSTEM_TITLE, VECTORS

GOLDEN = [v.raw for v in VECTORS] + [bytes.fromhex(wire) for _, wire in DATA_VECTORS]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(GOLDEN)))
    for _ in range(draw(st.integers(1, 4))):
        if not raw:
            break
        action = draw(st.sampled_from(["flip", "cut", "insert", "set"]))
        at = draw(st.integers(0, len(raw) - 1))
        if action == "flip":
            raw[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del raw[at : at + draw(st.integers(1, 8))]
        elif action == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        else:
            raw[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xFF]))
    return bytes(raw)


def only_meterkast_errors(data: bytes) -> None:
    for decoder in (decode_apdu, decode_data, CosemDateTime.decode):
        with contextlib.suppress(MeterkastError):
            decoder(data)
    with contextlib.suppress(MeterkastError):
        apdu = decode_apdu(data)
        if isinstance(apdu, CipheredApdu):
            decode_apdu(decipher_apdu(apdu, system_title=GB_SYSTEM_TITLE, keys=GB_KEYS))
        elif isinstance(apdu, GeneralGloCiphering):
            decode_apdu(general_glo_decipher(apdu, keys=GB_KEYS))
    with contextlib.suppress(MeterkastError):
        verify_hls_gmac_response(data, b"P6wRJ21F", system_title=GB_SYSTEM_TITLE, keys=GB_KEYS)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.binary(max_size=300), mutated()))
def test_decoders_raise_only_meterkast_errors(data: bytes) -> None:
    only_meterkast_errors(data)


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_what_decodes_re_encodes_and_decodes_equal(data: bytes) -> None:
    """A mutation that still decodes gives a value whose encoding decodes to the same value."""
    try:
        apdu = decode_apdu(data)
    except MeterkastError:
        return
    assert decode_apdu(apdu.encode()) == apdu


@settings(max_examples=300, deadline=None)
@given(mutated(), st.booleans(), st.integers(0, 2))
def test_mutated_plaintext_under_a_valid_cipher_raises_only_meterkast_errors(
        data: bytes, general: bool, damage: int) -> None:
    """The tag verifies, so the mutation reaches the APDU decoder behind the decipher (and a damaged tag
    is an AuthenticationError, not a cryptography exception)."""
    with contextlib.suppress(MeterkastError):
        ciphered = (general_glo_cipher(data, system_title=GB_SYSTEM_TITLE, invocation_counter=9, keys=GB_KEYS)
                    if general else cipher_apdu(data, system_title=GB_SYSTEM_TITLE, invocation_counter=9,
                                                keys=GB_KEYS)).encode()
        if damage:
            ciphered = ciphered[:-damage] + bytes(b ^ 0x55 for b in ciphered[-damage:])
        only_meterkast_errors(ciphered)


@settings(max_examples=300, deadline=None)
@given(st.one_of(mutated().map(lambda apdu: encode_wrapper(WrapperFrame(0x10, 0x01, apdu))), st.binary(max_size=80)),
       st.integers(1, 64), st.integers(0, 3))
def test_wrapper_and_its_framer_raise_only_meterkast_errors(data: bytes, chunk: int, cut: int) -> None:
    """IEC 62056-47 frames, mutated, cut or garbage, fed whole and in chunks; what comes out decodes or fails
    with a MeterkastError."""
    data = data[: len(data) - cut]
    with contextlib.suppress(MeterkastError):
        decode_apdu(decode_wrapper(data).apdu)
    framer = WrapperFramer()
    for i in range(0, len(data), chunk):
        for frame in framer.feed(data[i : i + chunk]):
            only_meterkast_errors(frame.apdu)


@pytest.mark.parametrize("date", [CosemDate(33256, 3, 1), CosemDate(0, 1, 1), CosemDate(2023, 2, 30),
                                  CosemDate(2024, 4, 31)])
def test_a_wire_date_that_is_no_calendar_date_is_invalid_input(date: CosemDate) -> None:
    """The wire allows years 0-65534 and day 31 in every month (IEC 62056-6-2 §4.1.6.1); found by
    ``python -m benchmarks fuzz`` as a ValueError escaping the client's profile reading."""
    with pytest.raises(InvalidInput, match="is not a calendar date"):
        date.to_date()
    stamp = date.encode() + bytes.fromhex("0C000000FFC400")
    with pytest.raises(CodecError, match="is not a point in time"):
        read_date_time(OctetString(stamp))
