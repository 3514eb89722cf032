"""Encrypted P1 telegrams: the DLMS general-global-cipher frame, AES-128-GCM.

Luxembourg (Smarty) and Austrian meters (Sagemcom T210-D-R) send each P1 telegram inside a DLMS
``general-glo-ciphering`` APDU (IEC 62056-5-3 §9.2.7.2, DLMS Green Book security suite 0); the
same frame dsmr_parser reads and its tests build::

    DB | 08 | system title (8) | length | SC (1) | invocation counter (4) | ciphertext | tag (12)

``length`` is A-XDR/BER: one byte below 0x80, else 0x81/0x82 and one/two length bytes; it counts
SC + invocation counter + ciphertext + tag. Security control 0x30 = security suite 0, authenticated
and encrypted. AES-128-GCM with nonce (IV) = system title || invocation counter (12 bytes), additional
authenticated data = SC || authentication key, a 12-byte tag.

Rules it keeps:
- nonces come from the header fields, as the standard defines them; nothing random here (STYLE 3);
- a wrong key, a flipped byte or a cut-off frame is an AuthenticationError or FrameError; an
  invocation counter not above the last accepted one is a ReplayError when the caller passes it;
- ``cryptography`` exceptions are translated at this boundary (``raise ... from exc``).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from meterkast.errors import AuthenticationError, FrameError, ReplayError

GENERAL_GLOBAL_CIPHER = 0xDB
SECURITY_AUTHENTICATED_ENCRYPTED = 0x30  # security suite 0, bits 4 (authenticated) and 5 (encrypted)
TAG_BYTES = 12
KEY_BYTES = 16
SYSTEM_TITLE_BYTES = 8


@dataclass(frozen=True, slots=True)
class CipherFrame:
    """The fields of a general-global-cipher APDU."""

    system_title: bytes
    security_control: int
    invocation_counter: int
    ciphertext: bytes  # without the tag
    tag: bytes

    @property
    def nonce(self) -> bytes:
        return self.system_title + self.invocation_counter.to_bytes(4, "big")


def _encode_length(length: int, *, two_bytes: bool = False) -> bytes:
    """A-XDR/BER length: the shortest form, or always ``0x82`` and two bytes with ``two_bytes``.

    Luxembourg Smarty meters always send the two-byte form (Luxmetering P1 spec v1.1.3 §3.2.5), and
    dsmr_parser's stream buffer (``EncryptedTelegramBuffer``) frames only that form: a frame with a
    one-byte or ``0x81`` length is dropped there without a word (docs/p1.md, "Encrypted P1").
    """
    if two_bytes and length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    if length < 0x80:
        return bytes([length])
    if length <= 0xFF:
        return bytes([0x81, length])
    if length <= 0xFFFF:
        return bytes([0x82]) + length.to_bytes(2, "big")
    raise FrameError(f"cipher frame content of {length} bytes does not fit a two-byte length")


def encode_cipher_frame(frame: CipherFrame, *, two_byte_length: bool = False) -> bytes:
    if len(frame.system_title) != SYSTEM_TITLE_BYTES:
        raise FrameError(f"system title must be {SYSTEM_TITLE_BYTES} bytes, got {len(frame.system_title)}")
    content = (
        bytes([frame.security_control]) + frame.invocation_counter.to_bytes(4, "big") + frame.ciphertext + frame.tag
    )
    head = bytes([GENERAL_GLOBAL_CIPHER, SYSTEM_TITLE_BYTES]) + frame.system_title
    return head + _encode_length(len(content), two_bytes=two_byte_length) + content


def decode_cipher_frame(data: bytes | bytearray | memoryview) -> CipherFrame:
    raw = bytes(data)
    if len(raw) < 2 or raw[0] != GENERAL_GLOBAL_CIPHER:
        raise FrameError("not a general-global-cipher frame: it must start with 0xDB", offset=0)
    title_length = raw[1]
    position = 2 + title_length
    if title_length != SYSTEM_TITLE_BYTES or len(raw) < position + 1:
        raise FrameError(f"system title length {title_length} is not {SYSTEM_TITLE_BYTES}", offset=1)
    system_title = raw[2:position]
    first = raw[position]
    if first < 0x80:
        length, position = first, position + 1
    elif first in (0x81, 0x82):
        size = first - 0x80
        length = int.from_bytes(raw[position + 1 : position + 1 + size], "big")
        position += 1 + size
    else:
        raise FrameError(f"length form 0x{first:02X} is not supported (0x81 or 0x82 expected)", offset=position)
    if len(raw) != position + length:
        raise FrameError(f"frame says {length} content bytes but has {len(raw) - position}", offset=position)
    if length < 5 + TAG_BYTES:
        raise FrameError(f"{length} content bytes cannot hold SC, counter and a {TAG_BYTES}-byte tag")
    security_control = raw[position]
    counter = int.from_bytes(raw[position + 1 : position + 5], "big")
    body = raw[position + 5 :]
    return CipherFrame(system_title, security_control, counter, body[:-TAG_BYTES], body[-TAG_BYTES:])


def _check_keys(encryption_key: bytes, authentication_key: bytes) -> None:
    for name, key in (("encryption", encryption_key), ("authentication", authentication_key)):
        if len(key) != KEY_BYTES:
            raise AuthenticationError(f"the {name} key must be {KEY_BYTES} bytes (AES-128), got {len(key)}")


def encrypt_telegram(
    plaintext: bytes,
    *,
    encryption_key: bytes,
    authentication_key: bytes,
    system_title: bytes,
    invocation_counter: int,
    security_control: int = SECURITY_AUTHENTICATED_ENCRYPTED,
    two_byte_length: bool = False,
) -> bytes:
    """Wrap a plaintext telegram in a general-global-cipher frame (virtual meters, tests).

    ``two_byte_length`` writes the length as ``0x82 hi lo`` whatever its size, as Smarty meters do.
    """
    _check_keys(encryption_key, authentication_key)
    if security_control != SECURITY_AUTHENTICATED_ENCRYPTED:
        raise FrameError(f"security control 0x{security_control:02X} is not supported; use 0x30")
    if not 0 <= invocation_counter <= 0xFFFFFFFF:
        raise FrameError(f"invocation counter {invocation_counter} does not fit 4 bytes")
    nonce = system_title + invocation_counter.to_bytes(4, "big")
    if len(system_title) != SYSTEM_TITLE_BYTES:
        raise FrameError(f"system title must be {SYSTEM_TITLE_BYTES} bytes, got {len(system_title)}")
    encryptor = Cipher(algorithms.AES(encryption_key), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(bytes([security_control]) + authentication_key)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    frame = CipherFrame(system_title, security_control, invocation_counter, ciphertext, encryptor.tag[:TAG_BYTES])
    return encode_cipher_frame(frame, two_byte_length=two_byte_length)


def decrypt_telegram(
    data: bytes | bytearray | memoryview,
    *,
    encryption_key: bytes,
    authentication_key: bytes,
    last_invocation_counter: int | None = None,
) -> bytes:
    """The plaintext telegram inside a general-global-cipher frame, after checking its tag."""
    _check_keys(encryption_key, authentication_key)
    frame = decode_cipher_frame(data)
    if frame.security_control != SECURITY_AUTHENTICATED_ENCRYPTED:
        raise FrameError(f"security control 0x{frame.security_control:02X} is not supported; expected 0x30")
    if last_invocation_counter is not None and frame.invocation_counter <= last_invocation_counter:
        raise ReplayError(
            f"invocation counter {frame.invocation_counter} is not above the last accepted {last_invocation_counter}"
        )
    decryptor = Cipher(
        algorithms.AES(encryption_key), modes.GCM(frame.nonce, frame.tag, min_tag_length=TAG_BYTES)
    ).decryptor()
    decryptor.authenticate_additional_data(bytes([frame.security_control]) + authentication_key)
    plaintext = decryptor.update(frame.ciphertext)
    try:
        decryptor.finalize()
    except InvalidTag as exc:
        raise AuthenticationError(
            "the GCM tag does not match: wrong encryption or authentication key, or the frame was altered"
        ) from exc
    return plaintext
