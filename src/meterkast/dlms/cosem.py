"""COSEM references: class ids, attribute and method descriptors, selective access (IEC 62056-5-3/-6-2).

Wire forms (xDLMS ASN.1, LN referencing, A-XDR):

* Cosem-Attribute-Descriptor = class-id (Unsigned16) ‖ instance-id (octet-string[6]) ‖ attribute-id
  (Integer8); Cosem-Method-Descriptor is the same with a method-id (Integer8);
* Selective-Access-Descriptor = access-selector (Unsigned8) ‖ access-parameters (Data); in a request it is
  OPTIONAL: ``00`` absent, ``01`` + descriptor. DSMR P3 §2.1 requires selective access for the public and
  management clients;
* range_descriptor (selector 1, profile generic buffer, IEC 62056-6-2 class 7) = structure {
  restricting_object capture_object_definition, from_value Data, to_value Data, selected_values array of
  capture_object_definition } (empty array = all columns);
* entry_descriptor (selector 2) = structure { from_entry double-long-unsigned, to_entry double-long-unsigned,
  from_selected_value long-unsigned, to_selected_value long-unsigned } (0 = up to the last);
* capture_object_definition = structure { class_id long-unsigned, logical_name octet-string, attribute_index
  integer, data_index long-unsigned }.

Rules this module keeps: descriptors take any class id 0..65535 (``ClassId`` only names the usual ones);
a selector other than 1 and 2 is kept as ``RawAccess`` so it re-encodes unchanged; a range or entry
descriptor of the wrong shape is a ``CodecError`` at the offset of its parameters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

from meterkast.dlms.axdr import encode_data, read_data
from meterkast.dlms.cosem_time import CosemDateTime
from meterkast.dlms.data import (
    Array,
    DlmsData,
    DoubleLongUnsigned,
    Integer,
    LongUnsigned,
    OctetString,
    Structure,
)
from meterkast.dlms.obis import ObisCode
from meterkast.dlms.reader import Reader
from meterkast.errors import CodecError, InvalidInput

DESCRIPTOR_SIZE = 9


class ClassId(IntEnum):
    """Interface classes the DSMR P3 object model uses (IEC 62056-6-2)."""

    DATA = 1
    REGISTER = 3
    EXTENDED_REGISTER = 4
    DEMAND_REGISTER = 5
    PROFILE_GENERIC = 7
    CLOCK = 8
    SCRIPT_TABLE = 9
    SPECIAL_DAYS_TABLE = 11
    ASSOCIATION_LN = 15
    SAP_ASSIGNMENT = 17
    IMAGE_TRANSFER = 18
    IEC_LOCAL_PORT_SETUP = 19
    ACTIVITY_CALENDAR = 20
    REGISTER_MONITOR = 21
    SINGLE_ACTION_SCHEDULE = 22
    IEC_HDLC_SETUP = 23
    AUTO_ANSWER = 28
    PUSH_SETUP = 40
    TCP_UDP_SETUP = 41
    IPV4_SETUP = 42
    PPP_SETUP = 44
    GPRS_MODEM_SETUP = 45
    SECURITY_SETUP = 64
    DISCONNECT_CONTROL = 70
    LIMITER = 71
    MBUS_CLIENT = 72


def _check_descriptor(class_id: int, member_id: int, what: str) -> None:
    if not 0 <= class_id <= 0xFFFF:
        raise InvalidInput(f"class id {class_id} must be 0..65535")
    if not -128 <= member_id <= 127:
        raise InvalidInput(f"{what} {member_id} must be an Integer8, -128..127")


@dataclass(frozen=True, slots=True)
class AttributeDescriptor:
    class_id: int
    instance: ObisCode
    attribute_id: int

    def __post_init__(self) -> None:
        _check_descriptor(self.class_id, self.attribute_id, "attribute id")

    def encode(self) -> bytes:
        return (self.class_id.to_bytes(2, "big") + self.instance.to_bytes()
                + self.attribute_id.to_bytes(1, "big", signed=True))

    @classmethod
    def read(cls, reader: Reader) -> AttributeDescriptor:
        return cls(reader.uint(2, "class id"), ObisCode.from_bytes(reader.take(6, "instance id")),
                   reader.sint(1, "attribute id"))


@dataclass(frozen=True, slots=True)
class MethodDescriptor:
    class_id: int
    instance: ObisCode
    method_id: int

    def __post_init__(self) -> None:
        _check_descriptor(self.class_id, self.method_id, "method id")

    def encode(self) -> bytes:
        return (self.class_id.to_bytes(2, "big") + self.instance.to_bytes()
                + self.method_id.to_bytes(1, "big", signed=True))

    @classmethod
    def read(cls, reader: Reader) -> MethodDescriptor:
        return cls(reader.uint(2, "class id"), ObisCode.from_bytes(reader.take(6, "instance id")),
                   reader.sint(1, "method id"))


@dataclass(frozen=True, slots=True)
class CaptureObject:
    """capture_object_definition: one column of a profile generic buffer."""

    class_id: int
    instance: ObisCode
    attribute_index: int
    data_index: int = 0

    def __post_init__(self) -> None:
        _check_descriptor(self.class_id, self.attribute_index, "attribute index")
        if not 0 <= self.data_index <= 0xFFFF:
            raise InvalidInput(f"data index {self.data_index} must be 0..65535")

    def to_data(self) -> Structure:
        return Structure((LongUnsigned(self.class_id), OctetString(self.instance.to_bytes()),
                          Integer(self.attribute_index), LongUnsigned(self.data_index)))

    @classmethod
    def from_data(cls, value: DlmsData) -> CaptureObject:
        match value:
            case Structure((LongUnsigned(class_id), OctetString(name), Integer(index), LongUnsigned(data_index))):
                return cls(class_id, ObisCode.from_bytes(name), index, data_index)
        raise CodecError(f"capture_object_definition must be structure {{long-unsigned, octet-string[6], "
                         f"integer, long-unsigned}}, got {value!r}")


@dataclass(frozen=True, slots=True)
class RangeDescriptor:
    """Selector 1: entries whose restricting object lies in from_value..to_value, optionally some columns."""

    restricting_object: CaptureObject
    from_value: DlmsData
    to_value: DlmsData
    selected_values: tuple[CaptureObject, ...] = ()
    SELECTOR = 1

    @classmethod
    def between(cls, start: dt.datetime, end: dt.datetime, restricting_object: CaptureObject,
                selected_values: tuple[CaptureObject, ...] = ()) -> RangeDescriptor:
        """A time range as 12-byte date-time octet-strings, as DSMR profiles are read."""
        return cls(restricting_object, OctetString(CosemDateTime.from_datetime(start).encode()),
                   OctetString(CosemDateTime.from_datetime(end).encode()), selected_values)

    def to_data(self) -> Structure:
        return Structure((self.restricting_object.to_data(), self.from_value, self.to_value,
                          Array(tuple(column.to_data() for column in self.selected_values))))

    @classmethod
    def from_data(cls, value: DlmsData) -> RangeDescriptor:
        match value:
            case Structure((restricting, from_value, to_value, Array(columns))):
                return cls(CaptureObject.from_data(restricting), from_value, to_value,
                           tuple(CaptureObject.from_data(column) for column in columns))
        raise CodecError(f"range_descriptor must be structure {{capture object, from, to, array}}, got {value!r}")


@dataclass(frozen=True, slots=True)
class EntryDescriptor:
    """Selector 2: entries and columns by number, counting from 1; 0 in a ``to_`` field means the last."""

    from_entry: int = 1
    to_entry: int = 0
    from_selected_value: int = 1
    to_selected_value: int = 0
    SELECTOR = 2

    def __post_init__(self) -> None:
        for name, top in (("from_entry", 0xFFFF_FFFF), ("to_entry", 0xFFFF_FFFF),
                          ("from_selected_value", 0xFFFF), ("to_selected_value", 0xFFFF)):
            if not 0 <= getattr(self, name) <= top:
                raise InvalidInput(f"entry_descriptor {name} {getattr(self, name)} must be 0..{top}")

    def to_data(self) -> Structure:
        return Structure((DoubleLongUnsigned(self.from_entry), DoubleLongUnsigned(self.to_entry),
                          LongUnsigned(self.from_selected_value), LongUnsigned(self.to_selected_value)))

    @classmethod
    def from_data(cls, value: DlmsData) -> EntryDescriptor:
        match value:
            case Structure((DoubleLongUnsigned(first), DoubleLongUnsigned(last), LongUnsigned(first_column),
                            LongUnsigned(last_column))):
                return cls(first, last, first_column, last_column)
        raise CodecError(f"entry_descriptor must be structure {{double-long-unsigned ×2, long-unsigned ×2}}, "
                         f"got {value!r}")


@dataclass(frozen=True, slots=True)
class RawAccess:
    """Any other access selector, kept with its parameters."""

    selector: int
    parameters: DlmsData

    def __post_init__(self) -> None:
        if not 0 <= self.selector <= 255:
            raise InvalidInput(f"access selector {self.selector} must be 0..255")

    def to_data(self) -> DlmsData:
        return self.parameters


SelectiveAccess = RangeDescriptor | EntryDescriptor | RawAccess
_TYPED_ACCESS: dict[int, type[RangeDescriptor] | type[EntryDescriptor]] = {
    RangeDescriptor.SELECTOR: RangeDescriptor, EntryDescriptor.SELECTOR: EntryDescriptor,
}


def _selector(access: SelectiveAccess) -> int:
    return access.selector if isinstance(access, RawAccess) else access.SELECTOR


def encode_selective_access(access: SelectiveAccess | None) -> bytes:
    """The OPTIONAL Selective-Access-Descriptor of a request: ``00`` or ``01`` selector Data."""
    if access is None:
        return b"\x00"
    return bytes((1, _selector(access))) + encode_data(access.to_data())


def read_selective_access(reader: Reader) -> SelectiveAccess | None:
    flag_at = reader.offset
    present = reader.u8("access-selection present")
    if present == 0:
        return None
    if present != 1:
        raise CodecError(f"OPTIONAL flag must be 00 or 01, got {present:02X}", offset=flag_at)
    selector = reader.u8("access-selector")
    parameters_at = reader.offset
    parameters = read_data(reader)
    typed = _TYPED_ACCESS.get(selector)
    if typed is None:
        return RawAccess(selector, parameters)
    try:
        return typed.from_data(parameters)
    except (CodecError, InvalidInput) as exc:
        raise CodecError(str(exc), offset=parameters_at) from exc


@dataclass(frozen=True, slots=True)
class AttributeWithSelection:
    """Cosem-Attribute-Descriptor-With-Selection (GET/SET with list)."""

    attribute: AttributeDescriptor
    access: SelectiveAccess | None = None

    def encode(self) -> bytes:
        return self.attribute.encode() + encode_selective_access(self.access)

    @classmethod
    def read(cls, reader: Reader) -> AttributeWithSelection:
        return cls(AttributeDescriptor.read(reader), read_selective_access(reader))
