"""Hypothesis strategies for DLMS values and APDUs (shared by the property, fuzz and interop tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from meterkast.dlms import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    Apdu,
    ApplicationContext,
    Array,
    AssociationResult,
    AttributeDescriptor,
    AttributeWithSelection,
    Bcd,
    BitString,
    Boolean,
    CaptureObject,
    CipheredApdu,
    ClockStatus,
    Conformance,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DataAccessResult,
    DataBlockSA,
    DateTimeValue,
    DateValue,
    DlmsData,
    DontCare,
    EntryDescriptor,
    ExceptionResponse,
    Float32,
    Float64,
    GeneralGloCiphering,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    GetResponseNormal,
    GetResponseWithDatablock,
    GetResponseWithList,
    InitiateRequest,
    InitiateResponse,
    InvokeIdAndPriority,
    MechanismName,
    MethodDescriptor,
    NullData,
    ObisCode,
    OctetString,
    RangeDescriptor,
    RawAccess,
    ReleaseRequestReason,
    ReleaseResponseReason,
    SecurityControl,
    ServiceError,
    SetRequestNormal,
    SetRequestWithDatablock,
    SetRequestWithFirstDatablock,
    SetRequestWithList,
    SetResponseDatablock,
    SetResponseLastDatablock,
    SetResponseNormal,
    SetResponseWithList,
    StateError,
    Structure,
    TimeValue,
    Utf8String,
    VisibleString,
)
from meterkast.dlms.ciphered import PLAIN_TAGS
from meterkast.dlms.data import FIXED_INTEGER_TYPES, FixedInteger
from meterkast.dlms.initiate import ConfirmedServiceError, ServiceErrorType

u8 = st.integers(0, 255)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
small_bytes = st.binary(max_size=40)


def _maybe(values: st.SearchStrategy[int]) -> st.SearchStrategy[int | None]:
    return st.none() | values


cosem_dates = st.builds(CosemDate, _maybe(st.integers(0, 0xFFFE)),
                        _maybe(st.integers(1, 12) | st.sampled_from([0xFD, 0xFE])),
                        _maybe(st.integers(1, 31) | st.sampled_from([0xFD, 0xFE])), _maybe(st.integers(1, 7)))
cosem_times = st.builds(CosemTime, _maybe(st.integers(0, 23)), _maybe(st.integers(0, 59)), _maybe(st.integers(0, 59)),
                        _maybe(st.integers(0, 99)))
cosem_date_times = st.builds(CosemDateTime, cosem_dates, cosem_times, _maybe(st.integers(-720, 720)),
                             st.none() | st.integers(0, 254).map(ClockStatus))


@st.composite
def fixed_integers(draw: st.DrawFn) -> FixedInteger:
    kind = draw(st.sampled_from(FIXED_INTEGER_TYPES))
    bits = 8 * kind.SIZE
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if kind.SIGNED else (0, (1 << bits) - 1)
    return kind(draw(st.integers(low, high)))


scalars: st.SearchStrategy[DlmsData] = st.one_of(
    st.just(NullData()), st.just(DontCare()), st.builds(Boolean, st.booleans()),
    st.builds(BitString, st.text("01", max_size=40)), fixed_integers(), st.builds(Bcd, st.integers(0, 99)),
    st.builds(Float32, st.floats(width=32, allow_nan=False)), st.builds(Float64, st.floats(allow_nan=False)),
    st.builds(OctetString, st.binary(max_size=140)), st.builds(VisibleString, st.text(st.characters(max_codepoint=127),
                                                                                      max_size=20)),
    st.builds(Utf8String, st.text(max_size=20)), st.builds(DateTimeValue, cosem_date_times),
    st.builds(DateValue, cosem_dates), st.builds(TimeValue, cosem_times),
)
data_values: st.SearchStrategy[DlmsData] = st.recursive(
    scalars,
    lambda children: st.builds(Array, st.lists(children, max_size=5).map(tuple))
    | st.builds(Structure, st.lists(children, max_size=5).map(tuple)),
    max_leaves=25,
)

obis_codes = st.builds(ObisCode, u8, u8, u8, u8, u8, u8)
int8 = st.integers(-128, 127)
attributes = st.builds(AttributeDescriptor, u16, obis_codes, int8)
methods = st.builds(MethodDescriptor, u16, obis_codes, int8)
capture_objects = st.builds(CaptureObject, u16, obis_codes, int8, u16)
selective_access = st.none() | st.one_of(
    st.builds(RangeDescriptor, capture_objects, data_values, data_values,
              st.lists(capture_objects, max_size=3).map(tuple)),
    st.builds(EntryDescriptor, u32, u32, u16, u16),
    st.builds(RawAccess, st.integers(3, 255), data_values),
)
invokes = st.builds(InvokeIdAndPriority, st.integers(0, 15), st.booleans(), st.booleans(), st.integers(0, 3))
with_selection = st.builds(AttributeWithSelection, attributes, selective_access)
data_results = data_values | st.sampled_from(DataAccessResult)
conformance = st.integers(0, 0xFFFFFF).map(Conformance)
security_controls = st.builds(SecurityControl, st.integers(0, 15), st.booleans(), st.booleans(), st.booleans(),
                              st.booleans())
ciphered = st.builds(CipheredApdu, st.sampled_from(sorted(PLAIN_TAGS)), security_controls, u32, small_bytes)
initiate_requests = st.builds(InitiateRequest, conformance, u16, u8, st.none() | st.binary(min_size=16, max_size=16),
                              st.booleans(), st.none() | int8)
initiate_responses = st.builds(InitiateResponse, conformance, u16, u8, st.none() | int8, u16)
confirmed_errors = st.builds(ConfirmedServiceError, st.sampled_from(ServiceErrorType), u8, u8)
user_information = st.none() | st.one_of(initiate_requests, initiate_responses, confirmed_errors, ciphered)
titles = st.none() | st.binary(min_size=8, max_size=8)
challenges = st.none() | st.binary(min_size=8, max_size=64)
mechanisms = st.none() | st.sampled_from(MechanismName)
diagnostics = st.sampled_from([*AcseServiceUserDiagnostic, *AcseServiceProviderDiagnostic])
blocks = st.builds(DataBlockSA, st.booleans(), u32, small_bytes)

service_apdus: st.SearchStrategy[Apdu] = st.one_of(
    st.builds(GetRequestNormal, attributes, selective_access, invokes),
    st.builds(GetRequestNext, u32, invokes),
    st.builds(GetRequestWithList, st.lists(with_selection, max_size=4).map(tuple), invokes),
    st.builds(GetResponseNormal, data_results, invokes),
    st.builds(GetResponseWithDatablock, st.booleans(), u32, small_bytes | st.sampled_from(DataAccessResult), invokes),
    st.builds(GetResponseWithList, st.lists(data_results, max_size=4).map(tuple), invokes),
    st.builds(SetRequestNormal, attributes, data_values, selective_access, invokes),
    st.builds(SetRequestWithFirstDatablock, attributes, blocks, selective_access, invokes),
    st.builds(SetRequestWithDatablock, blocks, invokes),
    st.lists(st.tuples(with_selection, data_values), max_size=4).flatmap(
        lambda pairs: st.builds(SetRequestWithList, st.just(tuple(p[0] for p in pairs)),
                                st.just(tuple(p[1] for p in pairs)), invokes)),
    st.builds(SetResponseNormal, st.sampled_from(DataAccessResult), invokes),
    st.builds(SetResponseDatablock, u32, invokes),
    st.builds(SetResponseLastDatablock, st.sampled_from(DataAccessResult), u32, invokes),
    st.builds(SetResponseWithList, st.lists(st.sampled_from(DataAccessResult), max_size=4).map(tuple), invokes),
    st.builds(ActionRequestNormal, methods, st.none() | data_values, invokes),
    st.builds(ActionResponseNormal, st.sampled_from(ActionResult), st.none() | data_results, invokes),
)
other_apdus: st.SearchStrategy[Apdu] = st.one_of(
    st.builds(AARQ, st.sampled_from(ApplicationContext), titles, mechanisms, challenges, user_information),
    st.builds(AARE, st.sampled_from(AssociationResult), diagnostics, st.sampled_from(ApplicationContext), titles,
              mechanisms, challenges, user_information),
    st.builds(RLRQ, st.none() | st.sampled_from(ReleaseRequestReason), user_information),
    st.builds(RLRE, st.none() | st.sampled_from(ReleaseResponseReason), user_information),
    initiate_requests, initiate_responses, confirmed_errors, ciphered,
    st.builds(GeneralGloCiphering, st.binary(min_size=8, max_size=8), security_controls, u32, small_bytes),
    st.builds(ExceptionResponse, st.sampled_from(StateError),
              st.sampled_from([e for e in ServiceError if e is not ServiceError.INVOCATION_COUNTER_ERROR])),
    st.builds(ExceptionResponse, st.sampled_from(StateError), st.just(ServiceError.INVOCATION_COUNTER_ERROR),
              st.none() | u32),
)
apdus = service_apdus | other_apdus
