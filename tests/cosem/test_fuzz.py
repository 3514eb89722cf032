"""Fuzzing the meter's APDU entry point: whatever arrives, in whatever association state, ``receive`` returns
a well-formed APDU (an answer or a refusal) or, for an out-of-sequence counter only, nothing; it never raises."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkast.cosem.events import AssociationAborted
from meterkast.cosem.keys import accept_key_data, key_data
from meterkast.cosem.replies import listed_results
from meterkast.cosem.server import P3Server, ServerAssociation
from meterkast.cosem.values import Unit, date_time, read_date_time, read_scaler_unit, scaler_unit
from meterkast.dlms import (
    AARQ,
    RLRQ,
    ActionRequestNormal,
    ApplicationContext,
    AttributeDescriptor,
    CaptureObject,
    Conformance,
    EntryDescriptor,
    GetRequestNext,
    GetRequestNormal,
    GetRequestWithList,
    InitiateRequest,
    Integer,
    MethodDescriptor,
    ObisCode,
    OctetString,
    RangeDescriptor,
    SetRequestNormal,
    cipher_apdu,
    decode_apdu,
    decode_data,
    encode_data,
)
from meterkast.dlms.cosem import AttributeWithSelection
from meterkast.errors import MeterkastError
from tests.cosem.conftest import (
    CS_TITLE,
    KEYS,
    make_server,
    management_client,
    management_session,
    public_session,
    two_day_meter,
)
from tests.dlms.test_axdr import DATA_VECTORS
from tests.emeter.conftest import local

LN = ObisCode.parse
HOURLY_BUFFER = AttributeDescriptor(7, LN("0-1:24.3.0.255"), 2)
CLOCK = CaptureObject(8, LN("0-0:1.0.0.255"), 2)
REQUESTS = [
    GetRequestNormal(AttributeDescriptor(8, LN("0-0:1.0.0.255"), 2)),
    GetRequestNormal(HOURLY_BUFFER, RangeDescriptor.between(local(2024, 3, 1), local(2024, 3, 2), CLOCK)),
    GetRequestNormal(HOURLY_BUFFER, EntryDescriptor(1, 3)),
    GetRequestNormal(AttributeDescriptor(15, LN("0-0:40.0.0.255"), 2)),
    GetRequestNext(1),
    GetRequestWithList((AttributeWithSelection(AttributeDescriptor(3, LN("1-0:1.8.1.255"), 2)),) * 2),
    SetRequestNormal(AttributeDescriptor(1, LN("0-0:96.13.1.255"), 2), OctetString(b"1234")),
    ActionRequestNormal(MethodDescriptor(70, LN("0-1:24.4.0.255"), 1), Integer(0)),
    ActionRequestNormal(MethodDescriptor(72, LN("0-1:24.1.0.255"), 7), OctetString(bytes(16))),
]
SEEDS = [r.encode() for r in REQUESTS] + [
    AARQ(ApplicationContext.LN, user_information=InitiateRequest(Conformance.GET)).encode(),
    RLRQ().encode(),
    *(cipher_apdu(r.encode(), system_title=CS_TITLE, invocation_counter=3, keys=KEYS).encode() for r in REQUESTS),
]
METER = two_day_meter()


def _fresh(server: P3Server) -> ServerAssociation:
    return server.association()


def _public(server: P3Server) -> ServerAssociation:
    return public_session(server).link.association


def _management(server: P3Server) -> ServerAssociation:
    return management_session(server, counter=1).link.association  # next client counter: 3


def _awaiting_hls(server: P3Server) -> ServerAssociation:
    association = server.association()
    association.receive(1, next(management_client(counter=2).associate()))
    return association


STATES: list[Callable[[P3Server], ServerAssociation]] = [_fresh, _public, _management, _awaiting_hls]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif data:
            del data[at]
    return bytes(data)


def _check(state: Callable[[P3Server], ServerAssociation], client_address: int, data: bytes) -> None:
    association = state(make_server(METER))
    output = association.receive(client_address, data)
    if output.reply is None:
        assert any(isinstance(e, AssociationAborted) for e in output.events)
    else:
        decode_apdu(output.reply)  # well-formed


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(STATES), st.sampled_from([1, 16, 102]), st.one_of(mutated(), st.binary(max_size=120)))
def test_the_meter_answers_anything_with_a_well_formed_apdu(
        state: Callable[[P3Server], ServerAssociation], client_address: int, data: bytes) -> None:
    _check(state, client_address, data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(STATES), st.lists(st.sampled_from(SEEDS), min_size=1, max_size=6))
def test_sequences_of_valid_apdus_never_break_the_state_machine(
        state: Callable[[P3Server], ServerAssociation], sequence: list[bytes]) -> None:
    association = state(make_server(METER))
    for data in sequence:
        output = association.receive(1 if association.client is None or association.client == 1 else 16, data)
        assert output.reply is None or decode_apdu(output.reply) is not None


VALUES = [bytes.fromhex(wire) for _, wire in DATA_VECTORS] + [encode_data(value) for value in (
    RangeDescriptor.between(local(2024, 3, 1), local(2024, 3, 2), CLOCK).to_data(), EntryDescriptor(1, 3).to_data(),
    CLOCK.to_data(), date_time(local(2024, 3, 1, 12)), scaler_unit(-3, Unit.CUBIC_METRE),
    key_data(KEYS, bytes(16)))]


def _mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, value in edits:
        if not out:
            break
        at = where % len(out)
        if kind == 0:
            out[at] ^= 1 << (value % 8)
        elif kind == 1:
            out[at] = value
        elif kind == 2:
            del out[at:]
        else:
            out[at:at] = bytes((value,))
    return bytes(out)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(VALUES), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 200), st.integers(0, 255)),
                                         max_size=4))
def test_cosem_value_readers_raise_only_meterkast_errors(data: bytes, edits: list[tuple[int, int, int]]) -> None:
    """The readers the client and the meter apply to decoded A-XDR values (date-time, scaler-unit, capture
    object, range and entry descriptors, key_data, listed results) take any value; bad ones are refused
    with a MeterkastError."""
    data = _mutate(data, edits)
    try:
        value = decode_data(data)
    except MeterkastError:
        return
    readers = (read_date_time, read_scaler_unit, CaptureObject.from_data, RangeDescriptor.from_data,
               EntryDescriptor.from_data, lambda v: accept_key_data(v, bytes(16)), lambda _v: listed_results(data))
    for read in readers:
        with contextlib.suppress(MeterkastError):
            read(value)
