"""The gaps of dlms-cosem 21.3.2 that the interop tests work around, each named by a test.

If a newer dlms-cosem closes one, its test fails (or is skipped for another version): then widen the
strategies in ``peer_dlms_cosem`` and update the figures in ``docs/dlms.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

pytest.importorskip("dlms_cosem")

from dlms_cosem import dlms_data as their_data
from dlms_cosem import enumerations as their_enums
from dlms_cosem import time as their_time
from dlms_cosem.protocol import xdlms as their_xdlms

from meterkast.dlms import (
    Conformance,
    CosemDateTime,
    InitiateRequest,
    OctetString,
    Unsigned,
    decode_apdu,
    decode_data,
    encode_apdu,
    encode_data,
)
from meterkast.errors import CodecError
from tests.dlms.peer_dlms_cosem import KNOWN_GAPS_VERSION, THEIR_VERSION

known_gap = pytest.mark.skipif(THEIR_VERSION != KNOWN_GAPS_VERSION,
                               reason=f"gaps recorded for dlms-cosem {KNOWN_GAPS_VERSION}, found {THEIR_VERSION}")


@known_gap
@pytest.mark.parametrize(("make", "error"), [
    (lambda: their_data.DataArray([their_data.UnsignedIntegerData(1)]).to_bytes(), TypeError),
    (lambda: their_data.NullData(None).to_bytes(), NotImplementedError),
    (lambda: their_data.BooleanData(True).to_bytes(), NotImplementedError),
    (lambda: their_data.VisibleStringData(b"abc").to_bytes(), NotImplementedError),
    (lambda: their_data.Float32Data(1.5).to_bytes(), NotImplementedError),
    (lambda: their_xdlms.GetResponseNormal(data=b"\x11\x01").to_bytes(), TypeError),
    (lambda: their_data.DlmsDataParser().parse(encode_data(Unsigned(1)) + bytes.fromhex("0A03414243")),
     NotImplementedError),
], ids=["array encode", "null encode", "boolean encode", "visible-string encode", "float32 encode",
        "get-response-normal encode", "visible-string decode"])
def test_known_gaps_of_the_peer(make: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        make()


@known_gap
def test_their_long_lengths_are_single_octets_which_we_reject() -> None:
    """A-XDR needs ``81 C8`` for 200; dlms-cosem 21.3.2 writes ``C8``. Our decoder refuses it with an offset."""
    theirs = their_data.OctetStringData(bytes(200)).to_bytes()
    assert theirs[:2] == bytes.fromhex("09C8")
    with pytest.raises(CodecError) as caught:
        decode_data(theirs)
    assert caught.value.offset == 1
    assert encode_data(OctetString(bytes(200)))[:3] == bytes.fromhex("0981C8")


@known_gap
def test_their_initiate_request_decoder_drops_the_first_conformance_octet() -> None:
    raw = encode_apdu(InitiateRequest(Conformance.GENERAL_PROTECTION | Conformance.GET, 1024))
    theirs = their_xdlms.InitiateRequest.from_bytes(raw).proposed_conformance
    assert (theirs.general_protection, theirs.get) == (False, True)


@known_gap
def test_their_utc_date_time_comes_back_naive() -> None:
    """Deviation 0 (UTC) is falsy in dlms-cosem 21.3.2, so it returns a naive datetime; ours stays aware."""
    utc = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    theirs, _ = their_time.datetime_from_bytes(CosemDateTime.from_datetime(utc).encode())
    assert theirs.tzinfo is None
    assert CosemDateTime.decode(their_time.datetime_to_bytes(utc)).to_datetime() == utc


@known_gap
def test_their_bit_string_length_counts_octets_not_bits() -> None:
    with pytest.raises(CodecError, match="unused bits"):
        decode_data(their_data.BitStringData(b"\xa0").to_bytes())  # 04 01 A0: "1 bit" with 7 more bits set


@known_gap
def test_their_exception_response_counter_is_one_octet() -> None:
    """The expected invocation counter is an Unsigned32; dlms-cosem 21.3.2 writes one octet (and fails above 255)."""
    error = their_enums.ServiceException.INVOCATION_COUNTER_ERROR
    with pytest.raises(ValueError, match="range"):
        their_xdlms.ExceptionResponse(their_enums.StateException.SERVICE_NOT_ALLOWED, error, 300).to_bytes()
    short = their_xdlms.ExceptionResponse(their_enums.StateException.SERVICE_NOT_ALLOWED, error, 5).to_bytes()
    assert short == bytes.fromhex("D8010605")
    with pytest.raises(CodecError, match="expected invocation counter"):
        decode_apdu(short)
