"""Pieces every xDLMS service APDU shares (IEC 62056-5-3 xDLMS ASN.1, A-XDR encoded; DSMR P3 §3.4, §3.5).

* Invoke-Id-And-Priority: one octet, bits 0..3 invoke id, bit 6 service class (1 = confirmed), bit 7
  priority (1 = high); bits 4 and 5 are kept as they arrive (later Green Book editions give them a meaning);
* Data-Access-Result and Action-Result: the result codes of GET/SET and ACTION (ENUMERATED, one octet);
* Get-Data-Result: CHOICE { data [0] Data, data-access-result [1] Data-Access-Result };
* Exception-Response [216]: state-error, service-error, and for invocation-counter-error the counter the
  server expects (Unsigned32) when it is present;
* ``ServiceApdu``: the base of every CHOICE-typed service APDU: tag octet, choice octet, body;
* block-number: Unsigned32, in the DataBlock-G / DataBlock-SA of GET and SET block transfer;
  ``BlockNumberApdu`` is the body that is nothing else (Get-Request-Next, Set-Response-Datablock).

DSMR P3 §2.2: an attribute the client may not access gives ``read-write-denied``, which "is not
considered a protocol error". §3.5: a GET with list answers what it can and an error for the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Self, TypeVar

from meterkast.dlms.axdr import encode_data, read_data
from meterkast.dlms.data import DlmsData
from meterkast.dlms.reader import Reader
from meterkast.errors import CodecError, InvalidInput

EXCEPTION_RESPONSE_TAG = 0xD8
_Code = TypeVar("_Code", bound=IntEnum)


class DataAccessResult(IntEnum):
    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_GET_ABORTED = 15
    NO_LONG_GET_IN_PROGRESS = 16
    LONG_SET_ABORTED = 17
    NO_LONG_SET_IN_PROGRESS = 18
    DATA_BLOCK_NUMBER_INVALID = 19
    OTHER_REASON = 250


class ActionResult(IntEnum):
    SUCCESS = 0
    HARDWARE_FAULT = 1
    TEMPORARY_FAILURE = 2
    READ_WRITE_DENIED = 3
    OBJECT_UNDEFINED = 4
    OBJECT_CLASS_INCONSISTENT = 9
    OBJECT_UNAVAILABLE = 11
    TYPE_UNMATCHED = 12
    SCOPE_OF_ACCESS_VIOLATED = 13
    DATA_BLOCK_UNAVAILABLE = 14
    LONG_ACTION_ABORTED = 15
    NO_LONG_ACTION_IN_PROGRESS = 16
    OTHER_REASON = 250


class StateError(IntEnum):
    SERVICE_NOT_ALLOWED = 1
    SERVICE_UNKNOWN = 2


class ServiceError(IntEnum):
    OPERATION_NOT_POSSIBLE = 1
    SERVICE_NOT_SUPPORTED = 2
    OTHER_REASON = 3
    PDU_TOO_LONG = 4
    DECIPHERING_ERROR = 5
    INVOCATION_COUNTER_ERROR = 6


def read_enum(reader: Reader, kind: type[_Code], what: str) -> _Code:
    raw = reader.u8(what)
    try:
        return kind(raw)
    except ValueError as exc:
        raise reader.fail(f"{what} {raw} is not a known {kind.__name__} code", back=1) from exc


def read_boolean(reader: Reader, what: str) -> bool:
    """An A-XDR BOOLEAN: zero is false, anything else true (written ``01``)."""
    return reader.u8(what) != 0


def read_count(reader: Reader, what: str) -> int:
    """A SEQUENCE OF count; each element takes at least one byte, so a count above the bytes left is bogus."""
    start = reader.offset
    count = reader.length(what)
    if count > reader.remaining:
        raise CodecError(f"{what} of {count} but only {reader.remaining} bytes follow", offset=start)
    return count


def read_optional_flag(reader: Reader, what: str) -> bool:
    raw = reader.u8(f"{what} present")
    if raw > 1:
        raise reader.fail(f"OPTIONAL flag of {what} must be 00 or 01, got {raw:02X}", back=1)
    return raw == 1


@dataclass(frozen=True, slots=True)
class InvokeIdAndPriority:
    invoke_id: int = 1
    confirmed: bool = True
    high_priority: bool = True
    reserved_bits: int = 0  # bits 4 and 5, as a number 0..3

    def __post_init__(self) -> None:
        if not 0 <= self.invoke_id <= 15:
            raise InvalidInput(f"invoke id {self.invoke_id} must be 0..15")
        if not 0 <= self.reserved_bits <= 3:
            raise InvalidInput(f"reserved bits {self.reserved_bits} must be 0..3 (bits 4 and 5)")

    def encode(self) -> bytes:
        return bytes((self.invoke_id | self.reserved_bits << 4 | self.confirmed << 6 | self.high_priority << 7,))

    @classmethod
    def read(cls, reader: Reader) -> InvokeIdAndPriority:
        raw = reader.u8("invoke-id-and-priority")
        return cls(raw & 0x0F, bool(raw & 0x40), bool(raw & 0x80), (raw >> 4) & 0x03)


DEFAULT_INVOKE = InvokeIdAndPriority()

GetDataResult = DlmsData | DataAccessResult


def encode_get_data_result(result: GetDataResult) -> bytes:
    if isinstance(result, DataAccessResult):
        return bytes((1, result))
    return b"\x00" + encode_data(result)


def read_get_data_result(reader: Reader) -> GetDataResult:
    choice_at = reader.offset
    choice = reader.u8("Get-Data-Result choice")
    if choice == 0:
        return read_data(reader)
    if choice == 1:
        return read_enum(reader, DataAccessResult, "data-access-result")
    raise CodecError(f"Get-Data-Result choice must be 0 (data) or 1 (data-access-result), got {choice}",
                     offset=choice_at)


class ServiceApdu:
    """Base of the CHOICE-typed service APDUs: ``APDU_TAG`` ‖ ``CHOICE`` ‖ body."""

    __slots__ = ()
    APDU_TAG: ClassVar[int]
    CHOICE: ClassVar[int]

    def encode_body(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def read_body(cls, reader: Reader) -> Self:
        raise NotImplementedError

    def encode(self) -> bytes:
        return bytes((self.APDU_TAG, self.CHOICE)) + self.encode_body()


def check_block_number(number: int) -> None:
    if not 0 <= number <= 0xFFFF_FFFF:
        raise InvalidInput(f"block number {number} must be an Unsigned32")


@dataclass(frozen=True, slots=True)
class BlockNumberApdu(ServiceApdu):
    """A service APDU whose body is invoke ‖ block-number; subclasses set ``APDU_TAG`` and ``CHOICE``."""

    block_number: int
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE

    def __post_init__(self) -> None:
        check_block_number(self.block_number)

    def encode_body(self) -> bytes:
        return self.invoke.encode() + self.block_number.to_bytes(4, "big")

    @classmethod
    def read_body(cls, reader: Reader) -> Self:
        invoke = InvokeIdAndPriority.read(reader)
        return cls(reader.uint(4, "block number"), invoke)


def service_table(*classes: type[ServiceApdu]) -> dict[tuple[int, int], Callable[[Reader], ServiceApdu]]:
    """(tag, choice) → body reader, for ``meterkast.dlms.apdu``."""
    return {(cls.APDU_TAG, cls.CHOICE): cls.read_body for cls in classes}


@dataclass(frozen=True, slots=True)
class ExceptionResponse:
    state_error: StateError
    service_error: ServiceError
    invocation_counter: int | None = None  # the counter the server expects, with INVOCATION_COUNTER_ERROR
    APDU_TAG: ClassVar[int] = EXCEPTION_RESPONSE_TAG

    def __post_init__(self) -> None:
        if self.invocation_counter is not None and (
                self.service_error is not ServiceError.INVOCATION_COUNTER_ERROR
                or not 0 <= self.invocation_counter <= 0xFFFF_FFFF):
            raise InvalidInput("only an invocation-counter-error carries an invocation counter (Unsigned32)")

    def encode(self) -> bytes:
        counter = b"" if self.invocation_counter is None else self.invocation_counter.to_bytes(4, "big")
        return bytes((self.APDU_TAG, self.state_error, self.service_error)) + counter

    @classmethod
    def read_body(cls, reader: Reader) -> ExceptionResponse:
        state = read_enum(reader, StateError, "state-error")
        service = read_enum(reader, ServiceError, "service-error")
        counter = None
        if service is ServiceError.INVOCATION_COUNTER_ERROR and not reader.at_end():
            counter = reader.uint(4, "expected invocation counter")
        return cls(state, service, counter)
