"""EN 13757-3:2013 clause 6.3: the data information block (DIF + up to 10 DIFEs).

DIF: bit 7 extension, bit 6 storage number LSB, bits 5–4 function field, bits 3–0 data field.
DIFE: bit 7 extension, bit 6 subunit (device unit) bit, bits 5–4 tariff bits, bits 3–0 storage bits.
Each DIFE adds four storage bits, two tariff bits and one subunit bit above the ones before it
(Table 8/9). A data field 1111b is a special function (0F, 1F, 2F, 7F; Table 7), handled by ``records``.

``Dib.difes`` keeps how many DIFEs were sent, so a block that carries more DIFEs than its numbers
need (a trailing ``00`` DIFE, as some meters send) re-encodes byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from meterkast.errors import RecordError

MAX_DIFES = 10
EXTENSION = 0x80
SPECIAL_FIELD = 0x0F


class Function(Enum):
    """Function field, DIF bits 5–4 (Table 6)."""

    INSTANTANEOUS = "instantaneous"
    MAXIMUM = "maximum"
    MINIMUM = "minimum"
    ERROR = "value during error state"


FUNCTIONS: tuple[Function, ...] = (Function.INSTANTANEOUS, Function.MAXIMUM, Function.MINIMUM, Function.ERROR)
FUNCTION_BITS: dict[Function, int] = {f: i << 4 for i, f in enumerate(FUNCTIONS)}


class FieldKind(Enum):
    NONE = "no data"
    INT = "integer"
    REAL = "real"
    BCD = "BCD"
    VARIABLE = "variable length"
    SELECTION = "selection for readout"


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """A data field code (DIF bits 3–0, Table 4): its name, data length (−1 = LVAR) and kind."""

    name: str
    length: int
    kind: FieldKind


NO_DATA, INT8, INT16, INT24, INT32, REAL32, INT48, INT64 = range(8)
SELECTION, BCD2, BCD4, BCD6, BCD8, VARIABLE, BCD12 = range(8, 15)

FIELDS: dict[int, FieldInfo] = {
    NO_DATA: FieldInfo("no data", 0, FieldKind.NONE),
    INT8: FieldInfo("8-bit integer", 1, FieldKind.INT),
    INT16: FieldInfo("16-bit integer", 2, FieldKind.INT),
    INT24: FieldInfo("24-bit integer", 3, FieldKind.INT),
    INT32: FieldInfo("32-bit integer", 4, FieldKind.INT),
    REAL32: FieldInfo("32-bit real", 4, FieldKind.REAL),
    INT48: FieldInfo("48-bit integer", 6, FieldKind.INT),
    INT64: FieldInfo("64-bit integer", 8, FieldKind.INT),
    SELECTION: FieldInfo("selection for readout", 0, FieldKind.SELECTION),
    BCD2: FieldInfo("2-digit BCD", 1, FieldKind.BCD),
    BCD4: FieldInfo("4-digit BCD", 2, FieldKind.BCD),
    BCD6: FieldInfo("6-digit BCD", 3, FieldKind.BCD),
    BCD8: FieldInfo("8-digit BCD", 4, FieldKind.BCD),
    VARIABLE: FieldInfo("variable length", -1, FieldKind.VARIABLE),
    BCD12: FieldInfo("12-digit BCD", 6, FieldKind.BCD),
}


@dataclass(frozen=True, slots=True)
class Dib:
    """A decoded data information block; ``difes`` is the number of DIF extensions on the wire."""

    field: int
    function: Function = Function.INSTANTANEOUS
    storage: int = 0
    tariff: int = 0
    subunit: int = 0
    difes: int = 0

    @property
    def info(self) -> FieldInfo:
        return FIELDS[self.field]

    @classmethod
    def minimal(
        cls, field: int, function: Function = Function.INSTANTANEOUS, storage: int = 0, tariff: int = 0,
        subunit: int = 0,
    ) -> Dib:
        """The block with the fewest DIFEs that carries these numbers."""
        return cls(field, function, storage, tariff, subunit, minimal_difes(storage, tariff, subunit))


def minimal_difes(storage: int, tariff: int, subunit: int) -> int:
    return max(((storage >> 1).bit_length() + 3) // 4, (tariff.bit_length() + 1) // 2, subunit.bit_length())


def decode_dib(data: bytes, pos: int, base: int = 0) -> tuple[Dib, int]:
    """Decode the DIB at ``data[pos]``; returns it and the position after it. ``base`` offsets errors."""
    dif = data[pos]
    field = dif & 0x0F
    if field == SPECIAL_FIELD:
        raise RecordError(f"DIF 0x{dif:02X} is a special function, not a data block", offset=base + pos)
    storage = (dif >> 6) & 1
    tariff = subunit = count = 0
    more = dif & EXTENSION
    pos += 1
    end = len(data)
    while more:
        if pos >= end:
            raise RecordError("premature end of data: DIFE expected", offset=base + pos)
        if count == MAX_DIFES:
            raise RecordError(f"more than {MAX_DIFES} DIFEs (EN 13757-3 6.3.1)", offset=base + pos)
        dife = data[pos]
        storage |= (dife & 0x0F) << (1 + 4 * count)
        tariff |= ((dife >> 4) & 0x03) << (2 * count)
        subunit |= ((dife >> 6) & 0x01) << count
        more = dife & EXTENSION
        count += 1
        pos += 1
    return Dib(field, FUNCTIONS[(dif >> 4) & 0x03], storage, tariff, subunit, count), pos


def encode_dib(dib: Dib) -> bytes:
    if dib.field not in FIELDS:
        raise RecordError(f"data field 0x{dib.field:X} is not a data coding (0x0–0xE)")
    if not 0 <= dib.difes <= MAX_DIFES:
        raise RecordError(f"{dib.difes} DIFEs: EN 13757-3 allows 0 to {MAX_DIFES}")
    if min(dib.storage, dib.tariff, dib.subunit) < 0 or minimal_difes(dib.storage, dib.tariff, dib.subunit) > dib.difes:
        raise RecordError(
            f"storage {dib.storage}, tariff {dib.tariff}, subunit {dib.subunit} do not fit {dib.difes} DIFEs"
        )
    dif = dib.field | FUNCTION_BITS[dib.function] | (dib.storage & 1) << 6 | (EXTENSION if dib.difes else 0)
    out = bytearray((dif,))
    for n in range(dib.difes):
        dife = (
            (dib.storage >> (1 + 4 * n)) & 0x0F
            | ((dib.tariff >> (2 * n)) & 0x03) << 4
            | ((dib.subunit >> n) & 0x01) << 6
        )
        out.append(dife | (EXTENSION if n + 1 < dib.difes else 0))
    return bytes(out)


def describe_dib(dib: Dib) -> str:
    """One line for annotations: ``8-digit BCD, instantaneous, storage 0``."""
    text = f"{dib.info.name}, {dib.function.value}, storage {dib.storage}"
    if dib.difes:
        text += f", tariff {dib.tariff}, subunit {dib.subunit}"
    return text
