"""DLMS/COSEM for DSMR P3, sans I/O: A-XDR data, COSEM references, ACSE and xDLMS APDUs, security suite 0,
HLS5-GMAC and the IEC 62056-47 TCP wrapper (DSMR 4.2.2 P3 companion standard §3; SYSTEM C1, C4).

Modules, bottom up: ``reader`` (byte cursor, A-XDR length), ``cosem_time`` (date/time formats), ``data`` and
``axdr`` (the ``Data`` CHOICE), ``obis``, ``cosem`` (descriptors, selective access), ``ber``, ``initiate``
(InitiateRequest/-Response, conformance), ``acse_codes`` and ``acse`` (AARQ, AARE, RLRQ, RLRE),
``service_common``, ``service_get``, ``service_set_action``, ``ciphered`` (glo- wire forms), ``security``
(AES-GCM, invocation counters), ``hls`` (mechanism 5), ``apdu`` (dispatch), ``wrapper`` (TCP framing).
Bytes in, values out: no sockets, clocks, randomness or logging (``tests/test_architecture.py``).
"""

from __future__ import annotations

from meterkast.dlms.acse import AARE, AARQ, RLRE, RLRQ
from meterkast.dlms.acse_codes import (
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    MechanismName,
    ReleaseRequestReason,
    ReleaseResponseReason,
)
from meterkast.dlms.apdu import Apdu, decode_apdu, encode_apdu
from meterkast.dlms.axdr import decode_data, encode_data
from meterkast.dlms.ciphered import CipheredApdu, GeneralGloCiphering, SecurityControl
from meterkast.dlms.cosem import (
    AttributeDescriptor,
    AttributeWithSelection,
    CaptureObject,
    ClassId,
    EntryDescriptor,
    MethodDescriptor,
    RangeDescriptor,
    RawAccess,
)
from meterkast.dlms.cosem_time import ClockStatus, CosemDate, CosemDateTime, CosemTime
from meterkast.dlms.data import (
    Array,
    Bcd,
    BitString,
    Boolean,
    DateTimeValue,
    DateValue,
    DlmsData,
    DontCare,
    DoubleLong,
    DoubleLongUnsigned,
    EnumValue,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    TimeValue,
    Unsigned,
    Utf8String,
    VisibleString,
)
from meterkast.dlms.hls import hls_gmac_response, make_challenge, verify_hls_gmac_response
from meterkast.dlms.initiate import ConfirmedServiceError, Conformance, InitiateRequest, InitiateResponse
from meterkast.dlms.obis import ObisCode
from meterkast.dlms.security import (
    CounterPolicy,
    InvocationCounter,
    InvocationCounterGuard,
    SecurityKeys,
    cipher_apdu,
    decipher_apdu,
)
from meterkast.dlms.service_common import (
    ActionResult,
    DataAccessResult,
    ExceptionResponse,
    InvokeIdAndPriority,
    ServiceError,
    StateError,
)
from meterkast.dlms.service_get import (
    BlockAssembler,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    split_into_blocks,
)
from meterkast.dlms.service_set_action import (
    ActionRequestNormal,
    ActionResponseNormal,
    DataBlockSA,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseNormal,
    SetResponseWithList,
)
from meterkast.dlms.wrapper import WrapperFrame, WrapperFramer, decode_wrapper, encode_wrapper

__all__ = [
    "AARE", "AARQ", "RLRE", "RLRQ", "AcseServiceProviderDiagnostic", "AcseServiceUserDiagnostic",
    "ActionRequestNormal", "ActionResponseNormal", "ActionResult", "Apdu", "ApplicationContext", "Array",
    "AssociationResult", "AttributeDescriptor", "AttributeWithSelection", "Bcd", "BitString", "BlockAssembler",
    "Boolean", "CaptureObject", "CipheredApdu", "ClassId", "ClockStatus", "ConfirmedServiceError", "Conformance",
    "CosemDate", "CosemDateTime", "CosemTime", "CounterPolicy", "DataAccessResult", "DataBlockSA", "DateTimeValue",
    "DateValue", "DlmsData", "DontCare", "DoubleLong", "DoubleLongUnsigned", "EntryDescriptor", "EnumValue",
    "ExceptionResponse", "Float32", "Float64", "GeneralGloCiphering", "GetRequestNext", "GetRequestNormal",
    "GetRequestWithList", "GetResponseNormal", "GetResponseWithDatablock", "GetResponseWithList", "InitiateRequest",
    "InitiateResponse", "Integer", "InvocationCounter", "InvocationCounterGuard", "InvokeIdAndPriority", "Long",
    "Long64", "Long64Unsigned", "LongUnsigned", "MechanismName", "MethodDescriptor", "NullData", "ObisCode",
    "OctetString", "RangeDescriptor", "RawAccess", "ReleaseRequestReason", "ReleaseResponseReason",
    "SecurityControl", "SecurityKeys", "ServiceError", "SetRequestNormal", "SetRequestWithDatablock",
    "SetRequestWithFirstDatablock", "SetRequestWithList", "SetResponseDatablock", "SetResponseLastDatablock",
    "SetResponseNormal", "SetResponseWithList", "StateError", "Structure", "TimeValue", "Unsigned", "Utf8String",
    "VisibleString", "WrapperFrame", "WrapperFramer", "cipher_apdu", "decipher_apdu", "decode_apdu", "decode_data",
    "decode_wrapper", "encode_apdu", "encode_data", "encode_wrapper", "hls_gmac_response", "make_challenge",
    "split_into_blocks", "verify_hls_gmac_response",
]
