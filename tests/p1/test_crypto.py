"""Encrypted telegrams: DLMS general-global-cipher, AES-128-GCM (testdata/README.md, sagemcom_t210_d_r)."""

from __future__ import annotations

import pytest
from dlms_cosem.security import SecurityControlField, encrypt

from meterkast.errors import AuthenticationError, FrameError, ReplayError
from meterkast.p1.crypto import (
    CipherFrame,
    decode_cipher_frame,
    decrypt_telegram,
    encode_cipher_frame,
    encrypt_telegram,
)
from meterkast.p1.decode import decode_telegram
from tests.p1.corpus import by_name
from tests.p1.dsmr_compare import parser_for

PLAIN = by_name("sagemcom_t210_d_r").data
KEY, AUTH = b"\xaa" * 16, b"\xbb" * 16
TITLE, COUNTER = b"SYSTEMID", 0x10000001


def frame() -> bytes:
    return encrypt_telegram(
        PLAIN, encryption_key=KEY, authentication_key=AUTH, system_title=TITLE, invocation_counter=COUNTER
    )


def test_frame_shape_is_dsmr_parsers() -> None:
    data = frame()
    assert data[:10] == b"\xdb\x08SYSTEMID"
    assert data[10] == 0x82 and int.from_bytes(data[11:13], "big") == len(data) - 13
    assert data[13] == 0x30 and data[14:18] == bytes.fromhex("10000001")
    assert len(data) == 18 + len(PLAIN) + 12


def test_round_trip_and_decode() -> None:
    plain = decrypt_telegram(frame(), encryption_key=KEY, authentication_key=AUTH)
    assert plain == PLAIN
    assert decode_telegram(plain, strict=True).crc_ok


def test_same_ciphertext_as_dlms_cosem() -> None:
    """dsmr_parser's tests build the frame with dlms_cosem.security.encrypt: same bytes."""
    control = SecurityControlField(security_suite=0, authenticated=True, encrypted=True)
    theirs = encrypt(
        security_control=control,
        key=KEY,
        auth_key=AUTH,
        system_title=TITLE,
        invocation_counter=COUNTER,
        plain_text=PLAIN,
    )
    assert frame().endswith(theirs)
    built = bytes([0xDB, 8]) + TITLE + b"\x82" + (5 + len(theirs)).to_bytes(2, "big") + b"\x30"
    built += COUNTER.to_bytes(4, "big") + theirs
    assert decrypt_telegram(built, encryption_key=KEY, authentication_key=AUTH) == PLAIN


def test_dsmr_parser_decrypts_our_frame() -> None:
    telegram = parser_for("SAGEMCOM_T210_D_R").parse(frame().hex(), KEY.hex(), AUTH.hex())
    assert len(telegram) == 18


@pytest.mark.parametrize("position", [0x20, 150, -1, -12])
def test_a_flipped_byte_fails_the_tag(position: int) -> None:
    damaged = bytearray(frame())
    damaged[position] ^= 0x01
    with pytest.raises(AuthenticationError):
        decrypt_telegram(bytes(damaged), encryption_key=KEY, authentication_key=AUTH)


@pytest.mark.parametrize(("key", "auth"), [(b"\xab" * 16, AUTH), (KEY, b"\xbc" * 16)])
def test_wrong_keys(key: bytes, auth: bytes) -> None:
    with pytest.raises(AuthenticationError):
        decrypt_telegram(frame(), encryption_key=key, authentication_key=auth)


def test_short_key_and_replay_and_broken_frames() -> None:
    with pytest.raises(AuthenticationError, match="16 bytes"):
        decrypt_telegram(frame(), encryption_key=b"\xaa" * 15, authentication_key=AUTH)
    with pytest.raises(ReplayError):
        decrypt_telegram(frame(), encryption_key=KEY, authentication_key=AUTH, last_invocation_counter=COUNTER)
    for broken in (b"", b"\xdc", frame()[:-1], frame()[:12], b"\xdb\x07SYSTEMI\x05abcde"):
        with pytest.raises(FrameError):
            decrypt_telegram(broken, encryption_key=KEY, authentication_key=AUTH)


@pytest.mark.parametrize("size", [0, 100, 200, 300])
def test_length_forms(size: int) -> None:
    cipher = CipherFrame(TITLE, 0x30, 7, bytes(size), bytes(12))
    encoded = encode_cipher_frame(cipher)
    assert decode_cipher_frame(encoded) == cipher
    assert encoded[10] == (size + 17 if size + 17 < 0x80 else 0x81 if size + 17 <= 0xFF else 0x82)
