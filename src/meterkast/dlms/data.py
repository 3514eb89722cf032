"""The values of the DLMS ``Data`` CHOICE (IEC 62056-5-3, COSEM APDU ASN.1 ``Data ::= CHOICE``).

One frozen dataclass per alternative, named after the ASN.1 alternative, each carrying its tag; the codec
is ``meterkast.dlms.axdr``. Equality includes the type: ``Unsigned(5) != LongUnsigned(5)``, because the
tag is part of the value on the wire.

Rules this module keeps:
- constructors refuse values the wire cannot carry (an ``Unsigned(300)``, a ``Float32`` that is not a
  float32, a non-ASCII visible-string), so every value that exists encodes, and decodes back equal;
- integers are plain ``int``; meter readings get their scaler from the register's scaler_unit elsewhere.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from meterkast.dlms.cosem_time import CosemDate, CosemDateTime, CosemTime
from meterkast.errors import InvalidInput


class DataTag(IntEnum):
    """The tags of the ``Data`` CHOICE; 19 (compact-array) is recognised but not supported."""

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DONT_CARE = 255


@dataclass(frozen=True, slots=True)
class NullData:
    TAG: ClassVar[DataTag] = DataTag.NULL_DATA


@dataclass(frozen=True, slots=True)
class DontCare:
    TAG: ClassVar[DataTag] = DataTag.DONT_CARE


@dataclass(frozen=True, slots=True)
class Array:
    """SEQUENCE OF Data; DSMR P3 Table 3-5: an empty array is ``01 00``."""

    items: tuple[DlmsData, ...] = ()
    TAG: ClassVar[DataTag] = DataTag.ARRAY


@dataclass(frozen=True, slots=True)
class Structure:
    items: tuple[DlmsData, ...] = ()
    TAG: ClassVar[DataTag] = DataTag.STRUCTURE


@dataclass(frozen=True, slots=True)
class Boolean:
    value: bool
    TAG: ClassVar[DataTag] = DataTag.BOOLEAN


@dataclass(frozen=True, slots=True)
class BitString:
    """Bits as a text of ``0``/``1``, first bit first (the leftmost bit of the first octet)."""

    bits: str = ""
    TAG: ClassVar[DataTag] = DataTag.BIT_STRING

    def __post_init__(self) -> None:
        if set(self.bits) - {"0", "1"}:
            raise InvalidInput(f"bit-string {self.bits!r} may only hold the characters 0 and 1")


@dataclass(frozen=True, slots=True)
class FixedInteger:
    """A fixed-size big-endian integer (IEC 61334-6 §6.1.1, DSMR P3 Table 3-5). Use the subclasses."""

    value: int
    TAG: ClassVar[DataTag]
    SIZE: ClassVar[int]
    SIGNED: ClassVar[bool]

    def __post_init__(self) -> None:
        bits = 8 * self.SIZE
        low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if self.SIGNED else (0, (1 << bits) - 1)
        if isinstance(self.value, bool) or not low <= self.value <= high:
            raise InvalidInput(f"{type(self).__name__} {self.value!r} must be an int in {low}..{high}")


@dataclass(frozen=True, slots=True)
class Integer(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.INTEGER
    SIZE: ClassVar[int] = 1
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Long(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.LONG
    SIZE: ClassVar[int] = 2
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class DoubleLong(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.DOUBLE_LONG
    SIZE: ClassVar[int] = 4
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Long64(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.LONG64
    SIZE: ClassVar[int] = 8
    SIGNED: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class Unsigned(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.UNSIGNED
    SIZE: ClassVar[int] = 1
    SIGNED: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class LongUnsigned(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.LONG_UNSIGNED
    SIZE: ClassVar[int] = 2
    SIGNED: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class DoubleLongUnsigned(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.DOUBLE_LONG_UNSIGNED
    SIZE: ClassVar[int] = 4
    SIGNED: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Long64Unsigned(FixedInteger):
    TAG: ClassVar[DataTag] = DataTag.LONG64_UNSIGNED
    SIZE: ClassVar[int] = 8
    SIGNED: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class EnumValue(FixedInteger):
    """enum: one octet, 0..255 (IEC 61334-6 §6.3)."""

    TAG: ClassVar[DataTag] = DataTag.ENUM
    SIZE: ClassVar[int] = 1
    SIGNED: ClassVar[bool] = False


@dataclass(frozen=True, slots=True)
class Bcd:
    """bcd: one octet holding two decimal digits (``Integer8`` in the ``Data`` CHOICE)."""

    digits: int
    TAG: ClassVar[DataTag] = DataTag.BCD

    def __post_init__(self) -> None:
        if isinstance(self.digits, bool) or not 0 <= self.digits <= 99:
            raise InvalidInput(f"bcd {self.digits!r} must be two decimal digits, 0..99")


@dataclass(frozen=True, slots=True)
class FloatValue:
    """An IEEE 754 float of 4 or 8 octets. Use ``Float32`` / ``Float64``."""

    value: float
    TAG: ClassVar[DataTag]
    FORMAT: ClassVar[struct.Struct]

    def __post_init__(self) -> None:
        try:
            packed = self.FORMAT.pack(self.value)
        except (OverflowError, struct.error) as exc:
            raise InvalidInput(f"{type(self).__name__} cannot hold {self.value!r}") from exc
        back = self.FORMAT.unpack(packed)[0]
        if back != self.value and not math.isnan(self.value):
            raise InvalidInput(f"{self.value!r} is not exactly representable as {type(self).__name__}")


@dataclass(frozen=True, slots=True)
class Float32(FloatValue):
    TAG: ClassVar[DataTag] = DataTag.FLOAT32
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">f")


@dataclass(frozen=True, slots=True)
class Float64(FloatValue):
    TAG: ClassVar[DataTag] = DataTag.FLOAT64
    FORMAT: ClassVar[struct.Struct] = struct.Struct(">d")


@dataclass(frozen=True, slots=True)
class OctetString:
    value: bytes = b""
    TAG: ClassVar[DataTag] = DataTag.OCTET_STRING


@dataclass(frozen=True, slots=True)
class VisibleString:
    """ASCII text (the wire is ISO 646); other characters are refused rather than mangled."""

    value: str = ""
    TAG: ClassVar[DataTag] = DataTag.VISIBLE_STRING

    def __post_init__(self) -> None:
        if not self.value.isascii():
            raise InvalidInput(f"visible-string {self.value!r} must be ASCII; use Utf8String for other text")


@dataclass(frozen=True, slots=True)
class Utf8String:
    value: str = ""
    TAG: ClassVar[DataTag] = DataTag.UTF8_STRING


@dataclass(frozen=True, slots=True)
class DateTimeValue:
    """date-time [25]: the 12-octet form without a length (most objects use a 12-byte OctetString)."""

    value: CosemDateTime
    TAG: ClassVar[DataTag] = DataTag.DATE_TIME


@dataclass(frozen=True, slots=True)
class DateValue:
    value: CosemDate
    TAG: ClassVar[DataTag] = DataTag.DATE


@dataclass(frozen=True, slots=True)
class TimeValue:
    value: CosemTime
    TAG: ClassVar[DataTag] = DataTag.TIME


DlmsData = (
    NullData | Array | Structure | Boolean | BitString | FixedInteger | Bcd | FloatValue | OctetString
    | VisibleString | Utf8String | DateTimeValue | DateValue | TimeValue | DontCare
)

FIXED_INTEGER_TYPES: tuple[type[FixedInteger], ...] = (
    Integer, Long, DoubleLong, Long64, Unsigned, LongUnsigned, DoubleLongUnsigned, Long64Unsigned, EnumValue,
)
FLOAT_TYPES: tuple[type[FloatValue], ...] = (Float32, Float64)
