"""xDLMS InitiateRequest / InitiateResponse / ConfirmedServiceError and the conformance block
(IEC 62056-5-3; the user-information of AARQ, AARE, RLRQ and RLRE; DSMR P3 §2.1, §3.2.3.1 item 3).

InitiateRequest [1] (A-XDR): dedicated-key OCTET STRING OPTIONAL, response-allowed BOOLEAN DEFAULT TRUE,
proposed-quality-of-service [0] Integer8 OPTIONAL, proposed-dlms-version-number Unsigned8 (6),
proposed-conformance, client-max-receive-pdu-size Unsigned16. InitiateResponse [8]:
negotiated-quality-of-service OPTIONAL, negotiated-dlms-version-number, negotiated-conformance,
server-max-receive-pdu-size, vaa-name (0x0007 for logical-name referencing).

The conformance block is the one BER piece inside A-XDR: ``5F 1F 04 00`` + 24 bits, [APPLICATION 31]
IMPLICIT BIT STRING, bit 0 the leftmost. ``Conformance`` holds bit n at value ``1 << (23 - n)``, so the
flag integer equals the three octets on the wire.

DSMR: dedicated keys are NOT allowed (P3 §3.2.3.1 item 5: "Only Global Encryption Keys shall be used");
they still decode here so that a meter can refuse them. server_max_receive_pdu_size is 1024 (§2.1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import ClassVar

from meterkast.dlms.reader import Reader, encode_length
from meterkast.dlms.service_common import read_boolean, read_enum, read_optional_flag
from meterkast.errors import CodecError, InvalidInput

INITIATE_REQUEST = 0x01
INITIATE_RESPONSE = 0x08
CONFIRMED_SERVICE_ERROR = 0x0E
CONFORMANCE_HEADER = bytes.fromhex("5F1F0400")
DLMS_VERSION = 6
VAA_NAME_LN = 0x0007
DSMR_SERVER_MAX_PDU = 1024


class Conformance(IntFlag):
    """The conformance block bits (bit n of the BIT STRING is ``1 << (23 - n)``)."""

    GENERAL_PROTECTION = 1 << 22
    GENERAL_BLOCK_TRANSFER = 1 << 21
    READ = 1 << 20
    WRITE = 1 << 19
    UNCONFIRMED_WRITE = 1 << 18
    DELTA_VALUE_ENCODING = 1 << 17
    ATTRIBUTE0_SUPPORTED_WITH_SET = 1 << 15
    PRIORITY_MGMT_SUPPORTED = 1 << 14
    ATTRIBUTE0_SUPPORTED_WITH_GET = 1 << 13
    BLOCK_TRANSFER_WITH_GET_OR_READ = 1 << 12
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = 1 << 11
    BLOCK_TRANSFER_WITH_ACTION = 1 << 10
    MULTIPLE_REFERENCES = 1 << 9
    INFORMATION_REPORT = 1 << 8
    DATA_NOTIFICATION = 1 << 7
    ACCESS = 1 << 6
    PARAMETERIZED_ACCESS = 1 << 5
    GET = 1 << 4
    SET = 1 << 3
    SELECTIVE_ACCESS = 1 << 2
    EVENT_NOTIFICATION = 1 << 1
    ACTION = 1 << 0


# What the DSMR management client needs (P3 §2.1.3): block transfer with get and set, get, set, with-list
# requests (multiple references), selective access and action.
DSMR_MANAGEMENT_CONFORMANCE = (
    Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
    | Conformance.MULTIPLE_REFERENCES | Conformance.GET | Conformance.SET | Conformance.SELECTIVE_ACCESS
    | Conformance.ACTION
)


def encode_conformance(flags: Conformance) -> bytes:
    return CONFORMANCE_HEADER + int(flags).to_bytes(3, "big")


def read_conformance(reader: Reader) -> Conformance:
    start = reader.offset
    header = reader.take(4, "conformance header")
    if header != CONFORMANCE_HEADER:
        raise CodecError(f"conformance block must start 5F 1F 04 00, got {header.hex(' ').upper()}", offset=start)
    return Conformance(reader.uint(3, "conformance bits"))


def _optional(content: bytes | None) -> bytes:
    """An A-XDR OPTIONAL component: ``00`` when absent, ``01`` + content when present."""
    return b"\x00" if content is None else b"\x01" + content


def _qos(value: int | None) -> bytes | None:
    return None if value is None else value.to_bytes(1, "big", signed=True)


def _check_pdu_size(size: int) -> None:
    if not 0 <= size <= 0xFFFF:
        raise InvalidInput(f"max receive PDU size {size} must be an Unsigned16")


@dataclass(frozen=True, slots=True)
class InitiateRequest:
    conformance: Conformance
    client_max_receive_pdu_size: int = 0xFFFF
    dlms_version: int = DLMS_VERSION
    dedicated_key: bytes | None = None
    response_allowed: bool = True
    quality_of_service: int | None = None
    APDU_TAG: ClassVar[int] = INITIATE_REQUEST

    def __post_init__(self) -> None:
        _check_pdu_size(self.client_max_receive_pdu_size)

    def encode(self) -> bytes:
        key = None if self.dedicated_key is None else encode_length(len(self.dedicated_key)) + self.dedicated_key
        allowed = None if self.response_allowed else b"\x00"  # DEFAULT TRUE: absent means "the default"
        return (bytes((self.APDU_TAG,)) + _optional(key) + _optional(allowed) + _optional(_qos(self.quality_of_service))
                + bytes((self.dlms_version,))
                + encode_conformance(self.conformance) + self.client_max_receive_pdu_size.to_bytes(2, "big"))

    @classmethod
    def read_body(cls, reader: Reader) -> InitiateRequest:
        key = reader.sized("dedicated-key") if read_optional_flag(reader, "dedicated-key") else None
        allowed = not read_optional_flag(reader, "response-allowed") or read_boolean(reader, "response-allowed")
        qos = reader.sint(1, "quality-of-service") if read_optional_flag(reader, "quality-of-service") else None
        version = reader.u8("dlms-version-number")
        conformance = read_conformance(reader)
        return cls(conformance, reader.uint(2, "client-max-receive-pdu-size"), version, key, allowed, qos)


@dataclass(frozen=True, slots=True)
class InitiateResponse:
    conformance: Conformance
    server_max_receive_pdu_size: int = DSMR_SERVER_MAX_PDU
    dlms_version: int = DLMS_VERSION
    quality_of_service: int | None = None
    vaa_name: int = VAA_NAME_LN
    APDU_TAG: ClassVar[int] = INITIATE_RESPONSE

    def __post_init__(self) -> None:
        _check_pdu_size(self.server_max_receive_pdu_size)

    def encode(self) -> bytes:
        return (bytes((self.APDU_TAG,)) + _optional(_qos(self.quality_of_service)) + bytes((self.dlms_version,))
                + encode_conformance(self.conformance)
                + self.server_max_receive_pdu_size.to_bytes(2, "big") + self.vaa_name.to_bytes(2, "big"))

    @classmethod
    def read_body(cls, reader: Reader) -> InitiateResponse:
        qos = reader.sint(1, "quality-of-service") if read_optional_flag(reader, "quality-of-service") else None
        version = reader.u8("dlms-version-number")
        conformance = read_conformance(reader)
        size = reader.uint(2, "server-max-receive-pdu-size")
        return cls(conformance, size, version, qos, reader.uint(2, "vaa-name"))


class ServiceErrorType(IntEnum):
    """The ServiceError CHOICE of ConfirmedServiceError; each alternative is a one-octet ENUMERATED."""

    APPLICATION_REFERENCE = 0
    HARDWARE_RESOURCE = 1
    VDE_STATE_ERROR = 2
    SERVICE = 3
    DEFINITION = 4
    ACCESS = 5
    INITIATE = 6
    LOAD_DATA_SET = 7
    CHANGE_SCOPE = 8
    TASK = 9
    OTHER = 10


class InitiateError(IntEnum):
    """Values of ``ServiceErrorType.INITIATE``."""

    OTHER = 0
    DLMS_VERSION_TOO_LOW = 1
    INCOMPATIBLE_CONFORMANCE = 2
    PDU_SIZE_TOO_SHORT = 3
    REFUSED_BY_THE_VDE_HANDLER = 4


INITIATE_ERROR_SERVICE = 1  # ConfirmedServiceError CHOICE: initiateError [1]


@dataclass(frozen=True, slots=True)
class ConfirmedServiceError:
    """E.g. an AARE refusing the proposed xDLMS context: ``0E 01 06 01`` (initiateError, initiate, too low)."""

    error_type: ServiceErrorType
    value: int
    service: int = INITIATE_ERROR_SERVICE
    APDU_TAG: ClassVar[int] = CONFIRMED_SERVICE_ERROR

    def __post_init__(self) -> None:
        if not (0 <= self.service <= 255 and 0 <= self.value <= 255):
            raise InvalidInput(f"confirmed service error service {self.service} / value {self.value} must be 0..255")

    def encode(self) -> bytes:
        return bytes((self.APDU_TAG, self.service, self.error_type, self.value))

    @classmethod
    def read_body(cls, reader: Reader) -> ConfirmedServiceError:
        service = reader.u8("confirmed service")
        error_type = read_enum(reader, ServiceErrorType, "service error type")
        return cls(error_type, reader.u8("service error value"), service)
