"""Any DLMS/COSEM APDU from bytes and back: dispatch on the first octet (IEC 62056-5-3 xDLMS-APDU CHOICE).

The table below is the whole vocabulary this codec speaks: ACSE (60–63), xDLMS Initiate (01, 08, 0E),
the GET/SET/ACTION services (C0, C1, C3, C4, C5, C7, with their CHOICE octet), exception-response (D8),
the glo- ciphered forms (21, 28, 2E, C8–CF) and general-glo-ciphering (DB).

Rules this module keeps: ``decode_apdu`` consumes every byte or raises ``CodecError`` with the offset;
``decode_apdu(encode_apdu(a)) == a`` for every APDU; nothing here decrypts (``security`` does).
"""

from __future__ import annotations

from collections.abc import Callable

from meterkast.dlms.acse import AARE, AARQ, RLRE, RLRQ
from meterkast.dlms.ciphered import PLAIN_TAGS, CipheredApdu, GeneralGloCiphering
from meterkast.dlms.initiate import ConfirmedServiceError, InitiateRequest, InitiateResponse
from meterkast.dlms.reader import Reader, read_whole
from meterkast.dlms.service_common import ExceptionResponse, ServiceApdu, service_table
from meterkast.dlms.service_get import (
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
)
from meterkast.dlms.service_set_action import (
    ActionRequestNormal,
    ActionResponseNormal,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseNormal,
    SetResponseWithList,
)
from meterkast.errors import CodecError

Apdu = (
    AARQ | AARE | RLRQ | RLRE | InitiateRequest | InitiateResponse | ConfirmedServiceError | ServiceApdu
    | ExceptionResponse | CipheredApdu | GeneralGloCiphering
)

_SERVICES = service_table(
    GetRequestNormal, GetRequestNext, GetRequestWithList, GetResponseNormal, GetResponseWithDatablock,
    GetResponseWithList, SetRequestNormal, SetRequestWithFirstDatablock, SetRequestWithDatablock,
    SetRequestWithList, SetResponseNormal, SetResponseDatablock, SetResponseLastDatablock, SetResponseWithList,
    ActionRequestNormal, ActionResponseNormal,
)
_SERVICE_TAGS = frozenset(tag for tag, _ in _SERVICES)

# Readers that start at the tag octet themselves (BER-encoded ACSE, glo- ciphered forms).
_FROM_TAG: dict[int, Callable[[Reader], Apdu]] = {
    AARQ.APDU_TAG: AARQ.read, AARE.APDU_TAG: AARE.read, RLRQ.APDU_TAG: RLRQ.read, RLRE.APDU_TAG: RLRE.read,
    **dict.fromkeys(PLAIN_TAGS, CipheredApdu.read),
}
# Readers of what follows the tag octet.
_AFTER_TAG: dict[int, Callable[[Reader], Apdu]] = {
    InitiateRequest.APDU_TAG: InitiateRequest.read_body,
    InitiateResponse.APDU_TAG: InitiateResponse.read_body,
    ConfirmedServiceError.APDU_TAG: ConfirmedServiceError.read_body,
    ExceptionResponse.APDU_TAG: ExceptionResponse.read_body,
    GeneralGloCiphering.APDU_TAG: GeneralGloCiphering.read_body,
}


def _read_service(reader: Reader, tag: int) -> ServiceApdu:
    choice = reader.u8("service choice")
    read_body = _SERVICES.get((tag, choice))
    if read_body is None:
        raise reader.fail(f"APDU 0x{tag:02X} choice {choice} is not supported", back=1)
    return read_body(reader)


def read_apdu(reader: Reader) -> Apdu:
    tag = reader.peek("APDU tag")
    from_tag = _FROM_TAG.get(tag)
    if from_tag is not None:
        return from_tag(reader)
    reader.u8("APDU tag")
    if tag in _SERVICE_TAGS:
        return _read_service(reader, tag)
    after_tag = _AFTER_TAG.get(tag)
    if after_tag is None:
        raise reader.fail(f"unknown or unsupported APDU tag 0x{tag:02X}", back=1)
    return after_tag(reader)


def decode_apdu(data: bytes) -> Apdu:
    """Exactly one APDU; trailing bytes are an error."""
    return read_whole(data, read_apdu, "APDU")


def encode_apdu(apdu: Apdu) -> bytes:
    encode = getattr(apdu, "encode", None)
    if encode is None:
        raise CodecError(f"{apdu!r} is not an APDU")
    result: bytes = encode()
    return result
