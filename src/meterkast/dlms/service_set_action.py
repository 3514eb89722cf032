"""SET and ACTION service APDUs (IEC 62056-5-3 xDLMS ``Set-Request`` [193], ``Set-Response`` [197],
``Action-Request`` [195], ``Action-Response`` [199]; DSMR P3 §2.1.3 management client services).

Set-Request CHOICE: normal [1] = invoke ‖ attribute descriptor ‖ access-selection OPTIONAL ‖ value Data;
with-first-datablock [2] = invoke ‖ descriptor ‖ access-selection OPTIONAL ‖ DataBlock-SA; with-datablock
[3] = invoke ‖ DataBlock-SA; with-list [4] = invoke ‖ SEQUENCE OF descriptor-with-selection ‖ SEQUENCE OF
Data. DataBlock-SA = { last-block BOOLEAN, block-number Unsigned32, raw-data OCTET STRING }.
Set-Response CHOICE: normal [1] = invoke ‖ result; datablock [2] = invoke ‖ block-number; last-datablock [3]
= invoke ‖ result ‖ block-number; with-list [5] = invoke ‖ SEQUENCE OF result.
Action-Request-Normal [1] = invoke ‖ method descriptor ‖ method-invocation-parameters Data OPTIONAL.
Action-Response-Normal [1] = invoke ‖ Action-Result ‖ return-parameters Get-Data-Result OPTIONAL.

Not implemented (DSMR does not use them for P3 reading): Set-Request-With-List-And-First-Datablock,
Set-Response-Last-Datablock-With-List and the ACTION block-transfer and with-list choices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from meterkast.dlms.axdr import encode_data, read_data
from meterkast.dlms.cosem import (
    AttributeDescriptor,
    AttributeWithSelection,
    MethodDescriptor,
    SelectiveAccess,
    encode_selective_access,
    read_selective_access,
)
from meterkast.dlms.data import DlmsData
from meterkast.dlms.reader import Reader, encode_length
from meterkast.dlms.service_common import (
    DEFAULT_INVOKE,
    ActionResult,
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
    read_optional_flag,
)
from meterkast.errors import CodecError, InvalidInput

SET_REQUEST = 0xC1
SET_RESPONSE = 0xC5
ACTION_REQUEST = 0xC3
ACTION_RESPONSE = 0xC7



@dataclass(frozen=True, slots=True)
class DataBlockSA:
    """DataBlock-SA: a slice of an encoded Data value sent in a SET (or ACTION) with block transfer."""

    last_block: bool
    block_number: int
    raw_data: bytes

    def __post_init__(self) -> None:
        check_block_number(self.block_number)

    def encode(self) -> bytes:
        return (bytes((int(self.last_block),)) + self.block_number.to_bytes(4, "big")
                + encode_length(len(self.raw_data)) + self.raw_data)

    @classmethod
    def read(cls, reader: Reader) -> DataBlockSA:
        return cls(read_boolean(reader, "last-block"), reader.uint(4, "block number"), reader.sized("raw-data"))


@dataclass(frozen=True, slots=True)
class SetRequestNormal(ServiceApdu):
    attribute: AttributeDescriptor
    value: DlmsData
    access: SelectiveAccess | None = None
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = SET_REQUEST
    CHOICE: ClassVar[int] = 1

    def encode_body(self) -> bytes:
        return (self.invoke.encode() + self.attribute.encode() + encode_selective_access(self.access)
                + encode_data(self.value))

    @classmethod
    def read_body(cls, reader: Reader) -> SetRequestNormal:
        invoke = InvokeIdAndPriority.read(reader)
        attribute = AttributeDescriptor.read(reader)
        access = read_selective_access(reader)
        return cls(attribute, read_data(reader), access, invoke)


@dataclass(frozen=True, slots=True)
class SetRequestWithFirstDatablock(ServiceApdu):
    attribute: AttributeDescriptor
    block: DataBlockSA
    access: SelectiveAccess | None = None
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = SET_REQUEST
    CHOICE: ClassVar[int] = 2

    def encode_body(self) -> bytes:
        return (self.invoke.encode() + self.attribute.encode() + encode_selective_access(self.access)
                + self.block.encode())

    @classmethod
    def read_body(cls, reader: Reader) -> SetRequestWithFirstDatablock:
        invoke = InvokeIdAndPriority.read(reader)
        attribute = AttributeDescriptor.read(reader)
        access = read_selective_access(reader)
        return cls(attribute, DataBlockSA.read(reader), access, invoke)


@dataclass(frozen=True, slots=True)
class SetRequestWithDatablock(ServiceApdu):
    block: DataBlockSA
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = SET_REQUEST
    CHOICE: ClassVar[int] = 3

    def encode_body(self) -> bytes:
        return self.invoke.encode() + self.block.encode()

    @classmethod
    def read_body(cls, reader: Reader) -> SetRequestWithDatablock:
        invoke = InvokeIdAndPriority.read(reader)
        return cls(DataBlockSA.read(reader), invoke)


@dataclass(frozen=True, slots=True)
class SetRequestWithList(ServiceApdu):
    attributes: tuple[AttributeWithSelection, ...]
    values: tuple[DlmsData, ...]
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = SET_REQUEST
    CHOICE: ClassVar[int] = 4

    def __post_init__(self) -> None:
        if len(self.attributes) != len(self.values):
            raise InvalidInput(f"set with list: {len(self.attributes)} attributes but {len(self.values)} values")

    def encode_body(self) -> bytes:
        return (self.invoke.encode() + encode_length(len(self.attributes))
                + b"".join(item.encode() for item in self.attributes)
                + encode_length(len(self.values)) + b"".join(encode_data(value) for value in self.values))

    @classmethod
    def read_body(cls, reader: Reader) -> SetRequestWithList:
        invoke = InvokeIdAndPriority.read(reader)
        attributes = tuple(AttributeWithSelection.read(reader)
                           for _ in range(read_count(reader, "attribute descriptor count")))
        values_at = reader.offset
        values = tuple(read_data(reader) for _ in range(read_count(reader, "value count")))
        if len(values) != len(attributes):
            raise CodecError(f"set with list: {len(attributes)} attributes but {len(values)} values",
                             offset=values_at)
        return cls(attributes, values, invoke)


@dataclass(frozen=True, slots=True)
class SetResponseNormal(ServiceApdu):
    result: DataAccessResult
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = SET_RESPONSE
    CHOICE: ClassVar[int] = 1

    def encode_body(self) -> bytes:
        return self.invoke.encode() + bytes((self.result,))

    @classmethod
    def read_body(cls, reader: Reader) -> SetResponseNormal:
        invoke = InvokeIdAndPriority.read(reader)
        return cls(read_enum(reader, DataAccessResult, "data-access-result"), invoke)


@dataclass(frozen=True, slots=True)
class SetResponseDatablock(BlockNumberApdu):
    """Acknowledges the block ``block_number`` of a SET with block transfer."""

    APDU_TAG: ClassVar[int] = SET_RESPONSE
    CHOICE: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class SetResponseLastDatablock(ServiceApdu):
    result: DataAccessResult
    block_number: int
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = SET_RESPONSE
    CHOICE: ClassVar[int] = 3

    def encode_body(self) -> bytes:
        return self.invoke.encode() + bytes((self.result,)) + self.block_number.to_bytes(4, "big")

    @classmethod
    def read_body(cls, reader: Reader) -> SetResponseLastDatablock:
        invoke = InvokeIdAndPriority.read(reader)
        result = read_enum(reader, DataAccessResult, "data-access-result")
        return cls(result, reader.uint(4, "block number"), invoke)


@dataclass(frozen=True, slots=True)
class SetResponseWithList(ServiceApdu):
    results: tuple[DataAccessResult, ...]
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = SET_RESPONSE
    CHOICE: ClassVar[int] = 5

    def encode_body(self) -> bytes:
        return self.invoke.encode() + encode_length(len(self.results)) + bytes(self.results)

    @classmethod
    def read_body(cls, reader: Reader) -> SetResponseWithList:
        invoke = InvokeIdAndPriority.read(reader)
        count = read_count(reader, "result count")
        return cls(tuple(read_enum(reader, DataAccessResult, "data-access-result") for _ in range(count)), invoke)


@dataclass(frozen=True, slots=True)
class ActionRequestNormal(ServiceApdu):
    method: MethodDescriptor
    parameters: DlmsData | None = None
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = ACTION_REQUEST
    CHOICE: ClassVar[int] = 1

    def encode_body(self) -> bytes:
        parameters = b"\x00" if self.parameters is None else b"\x01" + encode_data(self.parameters)
        return self.invoke.encode() + self.method.encode() + parameters

    @classmethod
    def read_body(cls, reader: Reader) -> ActionRequestNormal:
        invoke = InvokeIdAndPriority.read(reader)
        method = MethodDescriptor.read(reader)
        parameters = read_data(reader) if read_optional_flag(reader, "method-invocation-parameters") else None
        return cls(method, parameters, invoke)


@dataclass(frozen=True, slots=True)
class ActionResponseNormal(ServiceApdu):
    result: ActionResult
    return_parameters: GetDataResult | None = None
    invoke: InvokeIdAndPriority = DEFAULT_INVOKE
    APDU_TAG: ClassVar[int] = ACTION_RESPONSE
    CHOICE: ClassVar[int] = 1

    def encode_body(self) -> bytes:
        head = self.invoke.encode() + bytes((self.result,))
        if self.return_parameters is None:
            return head + b"\x00"
        return head + b"\x01" + encode_get_data_result(self.return_parameters)

    @classmethod
    def read_body(cls, reader: Reader) -> ActionResponseNormal:
        invoke = InvokeIdAndPriority.read(reader)
        result = read_enum(reader, ActionResult, "action-result")
        returned = read_get_data_result(reader) if read_optional_flag(reader, "return-parameters") else None
        return cls(result, returned, invoke)
