"""GET service APDUs (IEC 62056-5-3 xDLMS ``Get-Request`` [192] / ``Get-Response`` [196]; DSMR P3 §2.1).

Get-Request CHOICE: normal [1] = invoke ‖ attribute descriptor ‖ access-selection OPTIONAL; next [2] =
invoke ‖ block-number (Unsigned32); with-list [3] = invoke ‖ SEQUENCE OF descriptor-with-selection.
Get-Response CHOICE: normal [1] = invoke ‖ Get-Data-Result; with-datablock [2] = invoke ‖ DataBlock-G
{ last-block BOOLEAN, block-number Unsigned32, result CHOICE { raw-data [0] OCTET STRING,
data-access-result [1] } }; with-list [3] = invoke ‖ SEQUENCE OF Get-Data-Result.

Block transfer ("Block transfer with Get", DSMR P3 §2.1): the server splits the *encoded* Data into
numbered blocks starting at 1, the client asks for each next one with Get-Request-Next carrying the
number it received, and the last block has last-block = TRUE. ``split_into_blocks`` and
``BlockAssembler`` are the two sides of that exchange; the assembler refuses a block out of sequence.
DSMR: at most 16 references in a with-list request, server_max_receive_pdu_size 1024 (§2.1.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from meterkast.dlms.axdr import decode_data
from meterkast.dlms.cosem import (
    AttributeDescriptor,
    AttributeWithSelection,
    SelectiveAccess,
    encode_selective_access,
    read_selective_access,
)
from meterkast.dlms.data import DlmsData
from meterkast.dlms.reader import Reader, encode_length
from meterkast.dlms.service_common import (
    DEFAULT_INVOKE,
    BlockNumberApdu,
    DataAccessResult,
    GetDataResult,
    InvokeIdAndPriority,
    ServiceApdu,
    check_block_number,
    encode_get_data_result,
    read_boolean,
    read_count,
    read_enum,
    read_get_data_result,
)
from meterkast.errors import CodecError, InvalidInput

GET_REQUEST = 0xC0
GET_RESPONSE = 0xC4
DSMR_MAX_LIST_REFERENCES = 16


@dataclass(frozen=True, slots=True)
class GetRequestNormal(ServiceApdu):
    attribute: AttributeDescriptor
    access: SelectiveAccess | None = None
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = GET_REQUEST
    CHOICE: ClassVar[int] = 1

    def encode_body(self) -> bytes:
        return self.invoke.encode() + self.attribute.encode() + encode_selective_access(self.access)

    @classmethod
    def read_body(cls, reader: Reader) -> GetRequestNormal:
        invoke = InvokeIdAndPriority.read(reader)
        return cls(AttributeDescriptor.read(reader), read_selective_access(reader), invoke)


@dataclass(frozen=True, slots=True)
class GetRequestNext(BlockNumberApdu):
    """Asks for the block after ``block_number`` (the number of the block last received)."""

    APDU_TAG: ClassVar[int] = GET_REQUEST
    CHOICE: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class GetRequestWithList(ServiceApdu):
    attributes: tuple[AttributeWithSelection, ...]
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = GET_REQUEST
    CHOICE: ClassVar[int] = 3

    def encode_body(self) -> bytes:
        return (self.invoke.encode() + encode_length(len(self.attributes))
                + b"".join(item.encode() for item in self.attributes))

    @classmethod
    def read_body(cls, reader: Reader) -> GetRequestWithList:
        invoke = InvokeIdAndPriority.read(reader)
        count = read_count(reader, "attribute descriptor count")
        return cls(tuple(AttributeWithSelection.read(reader) for _ in range(count)), invoke)


@dataclass(frozen=True, slots=True)
class GetResponseNormal(ServiceApdu):
    result: GetDataResult
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = GET_RESPONSE
    CHOICE: ClassVar[int] = 1

    def encode_body(self) -> bytes:
        return self.invoke.encode() + encode_get_data_result(self.result)

    @classmethod
    def read_body(cls, reader: Reader) -> GetResponseNormal:
        invoke = InvokeIdAndPriority.read(reader)
        return cls(read_get_data_result(reader), invoke)


@dataclass(frozen=True, slots=True)
class GetResponseWithDatablock(ServiceApdu):
    """One block: ``raw_data`` is a slice of the encoded Data, or the error that ended the transfer."""

    last_block: bool
    block_number: int
    raw_data: bytes | DataAccessResult
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = GET_RESPONSE
    CHOICE: ClassVar[int] = 2

    def __post_init__(self) -> None:
        check_block_number(self.block_number)

    def encode_body(self) -> bytes:
        head = self.invoke.encode() + bytes((int(self.last_block),)) + self.block_number.to_bytes(4, "big")
        if isinstance(self.raw_data, DataAccessResult):
            return head + bytes((1, self.raw_data))
        return head + b"\x00" + encode_length(len(self.raw_data)) + self.raw_data

    @classmethod
    def read_body(cls, reader: Reader) -> GetResponseWithDatablock:
        invoke = InvokeIdAndPriority.read(reader)
        last = read_boolean(reader, "last-block")
        number = reader.uint(4, "block number")
        choice = reader.u8("DataBlock-G result choice")
        if choice == 0:
            return cls(last, number, reader.sized("raw-data"), invoke)
        if choice == 1:
            return cls(last, number, read_enum(reader, DataAccessResult, "data-access-result"), invoke)
        raise reader.fail(f"DataBlock-G result choice must be 0 (raw-data) or 1 (data-access-result), got {choice}",
                          back=1)


@dataclass(frozen=True, slots=True)
class GetResponseWithList(ServiceApdu):
    results: tuple[GetDataResult, ...]
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = GET_RESPONSE
    CHOICE: ClassVar[int] = 3

    def encode_body(self) -> bytes:
        return (self.invoke.encode() + encode_length(len(self.results))
                + b"".join(encode_get_data_result(result) for result in self.results))

    @classmethod
    def read_body(cls, reader: Reader) -> GetResponseWithList:
        invoke = InvokeIdAndPriority.read(reader)
        count = read_count(reader, "result count")
        return cls(tuple(read_get_data_result(reader) for _ in range(count)), invoke)


def split_into_blocks(encoded_data: bytes, block_size: int,
                      invoke: InvokeIdAndPriority = DEFAULT_INVOKE) -> list[GetResponseWithDatablock]:
    """Server side: the encoded Data of one attribute as blocks 1..n of at most ``block_size`` bytes."""
    if block_size < 1:
        raise InvalidInput(f"block size {block_size} must be at least 1 byte")
    chunks = [encoded_data[i : i + block_size] for i in range(0, len(encoded_data), block_size)] or [b""]
    return [GetResponseWithDatablock(number == len(chunks), number, chunk, invoke)
            for number, chunk in enumerate(chunks, start=1)]


class BlockAssembler:
    """Client side of block transfer: feed each block; get the decoded Data after the last one."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.done = False

    @property
    def next_request_number(self) -> int:
        """The block number to put in the next Get-Request-Next (the last one received)."""
        return len(self._parts)

    def add(self, block: GetResponseWithDatablock) -> DlmsData | None:
        if self.done:
            raise CodecError(f"block {block.block_number} arrived after the last block")
        expected = len(self._parts) + 1
        if block.block_number != expected:
            raise CodecError(f"block {block.block_number} out of sequence: expected block {expected} "
                             f"(the server should answer data-block-number-invalid)")
        if isinstance(block.raw_data, DataAccessResult):
            self.done = True
            raise CodecError(f"the server ended the block transfer at block {expected}: {block.raw_data.name}")
        self._parts.append(block.raw_data)
        if not block.last_block:
            return None
        self.done = True
        return decode_data(b"".join(self._parts))
