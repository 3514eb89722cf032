"""The wire form of ciphered xDLMS APDUs, without the cryptography (IEC 62056-5-3 security; DSMR P3 §3.2.3).

* Security control byte: bits 0..3 security suite id, bit 4 authentication, bit 5 encryption, bit 6 key set
  (0 unicast, 1 broadcast), bit 7 compression. DSMR uses suite 0 with authentication and encryption:
  ``0x30`` (P3 §3.2.3.1 item 2: "Only 'Message Encryption & Message Authentication'").
* Service-specific global ciphering (glo-xxx): ``tag ‖ length ‖ SC ‖ IC (4) ‖ ciphertext ‖ tag (12)``, where
  length is an A-XDR length over SC..tag. The glo tag follows from the plain tag (``GLOBAL_CIPHER_TAGS``),
  e.g. get-request C0 → glo-get-request C8, InitiateRequest 01 → glo-initiateRequest 21 (33).
* general-glo-ciphering [219] = ``DB ‖ system-title (octet string) ‖ ciphered-content (octet string)``;
  it carries the sender's system title, so the receiver needs no association to know the IV.

Rules this module keeps: decoding never decrypts (``meterkast.dlms.security`` does); a ciphered APDU
shorter than SC ‖ IC is a ``CodecError``; an unknown suite or the compression bit is kept as it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from meterkast.dlms.reader import Reader, encode_length
from meterkast.errors import CodecError, InvalidInput

SYSTEM_TITLE_SIZE = 8
INVOCATION_COUNTER_SIZE = 4
GENERAL_GLO_CIPHERING = 0xDB

# plain APDU tag → glo- tag (IEC 62056-5-3 xDLMS-APDU CHOICE)
GLOBAL_CIPHER_TAGS: dict[int, int] = {
    0x01: 0x21,  # initiateRequest → glo-initiateRequest
    0x08: 0x28,  # initiateResponse → glo-initiateResponse
    0x0E: 0x2E,  # confirmedServiceError → glo-confirmedServiceError
    0xC0: 0xC8,  # get-request
    0xC1: 0xC9,  # set-request
    0xC2: 0xCA,  # event-notification-request
    0xC3: 0xCB,  # action-request
    0xC4: 0xCC,  # get-response
    0xC5: 0xCD,  # set-response
    0xC7: 0xCF,  # action-response
}
PLAIN_TAGS: dict[int, int] = {glo: plain for plain, glo in GLOBAL_CIPHER_TAGS.items()}


@dataclass(frozen=True, slots=True)
class SecurityControl:
    suite: int = 0
    authenticated: bool = True
    encrypted: bool = True
    broadcast_key: bool = False
    compressed: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.suite <= 15:
            raise InvalidInput(f"security suite {self.suite} must be 0..15")

    @property
    def byte(self) -> int:
        return (self.suite | self.authenticated << 4 | self.encrypted << 5 | self.broadcast_key << 6
                | self.compressed << 7)

    @classmethod
    def from_byte(cls, value: int) -> SecurityControl:
        return cls(value & 0x0F, bool(value & 0x10), bool(value & 0x20), bool(value & 0x40), bool(value & 0x80))


AUTHENTICATED_AND_ENCRYPTED = SecurityControl()  # 0x30, the only policy DSMR allows after commissioning
AUTHENTICATED_ONLY = SecurityControl(encrypted=False)  # 0x10, also HLS5 GMAC
ENCRYPTED_ONLY = SecurityControl(authenticated=False)  # 0x20


def _check_counter(counter: int) -> None:
    if not 0 <= counter <= 0xFFFF_FFFF:
        raise InvalidInput(f"invocation counter {counter} must be an Unsigned32")


@dataclass(frozen=True, slots=True)
class CipheredApdu:
    """A glo-xxx APDU: ``payload`` is ciphertext ‖ tag (or plaintext ‖ tag when only authenticated)."""

    tag: int
    security_control: SecurityControl
    invocation_counter: int
    payload: bytes

    def __post_init__(self) -> None:
        if self.tag not in PLAIN_TAGS:
            raise InvalidInput(f"0x{self.tag:02X} is not a glo- ciphered APDU tag")
        _check_counter(self.invocation_counter)

    @property
    def plain_tag(self) -> int:
        return PLAIN_TAGS[self.tag]

    def encode(self) -> bytes:
        content = (bytes((self.security_control.byte,)) + self.invocation_counter.to_bytes(4, "big")
                   + self.payload)
        return bytes((self.tag,)) + encode_length(len(content)) + content

    @classmethod
    def read(cls, reader: Reader) -> CipheredApdu:
        tag = reader.u8("ciphered APDU tag")
        if tag not in PLAIN_TAGS:
            raise reader.fail(f"0x{tag:02X} is not a glo- ciphered APDU tag", back=1)
        content = reader.sub(reader.length("ciphered APDU length"), "ciphered APDU")
        security_control, counter = _read_security_header(content)
        return cls(tag, security_control, counter, content.rest())


def _read_security_header(reader: Reader) -> tuple[SecurityControl, int]:
    if reader.remaining < 1 + INVOCATION_COUNTER_SIZE:
        raise reader.fail("ciphered content must start with the security control byte and invocation counter")
    return SecurityControl.from_byte(reader.u8("security control")), reader.uint(4, "invocation counter")


@dataclass(frozen=True, slots=True)
class GeneralGloCiphering:
    system_title: bytes
    security_control: SecurityControl
    invocation_counter: int
    payload: bytes
    APDU_TAG: ClassVar[int] = GENERAL_GLO_CIPHERING

    def __post_init__(self) -> None:
        if len(self.system_title) != SYSTEM_TITLE_SIZE:
            raise InvalidInput(f"a system title is {SYSTEM_TITLE_SIZE} octets, got {len(self.system_title)}")
        _check_counter(self.invocation_counter)

    def encode(self) -> bytes:
        content = (bytes((self.security_control.byte,)) + self.invocation_counter.to_bytes(4, "big")
                   + self.payload)
        return (bytes((self.APDU_TAG,)) + encode_length(len(self.system_title)) + self.system_title
                + encode_length(len(content)) + content)

    @classmethod
    def read_body(cls, reader: Reader) -> GeneralGloCiphering:
        title_at = reader.offset
        title = reader.sized("system title")
        if len(title) != SYSTEM_TITLE_SIZE:
            raise CodecError(f"a system title is {SYSTEM_TITLE_SIZE} octets, got {len(title)}", offset=title_at)
        content = reader.sub(reader.length("ciphered content length"), "ciphered content")
        security_control, counter = _read_security_header(content)
        return cls(title, security_control, counter, content.rest())
