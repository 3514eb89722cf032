"""EN 13757-3:2013 clause 6.4: the value information block (VIF + up to 10 VIFEs).

Layout: VIF (bit 7 = a VIFE follows); for VIF 7Ch/FCh a plain-text unit follows the VIF as a length
byte and that many characters, last character first (6.4.4); then the VIFEs, each with its own
extension bit. After FBh/FDh the first VIFE is a code in the alternate/main extension table; every
further VIFE (and every VIFE after a primary VIF) is a combinable one (Table 15). After VIF 7Fh/FFh, or
after combinable VIFE 7Fh, the codes are manufacturer specific and only carried, never interpreted.

``Vib`` stores codes without their extension bits: the bits follow from the position in the chain, so
encode(decode(b)) == b for every well-formed block. ``meaning(vib)`` resolves the tables once per
distinct block (a dict cache: meters repeat the same few blocks) into quantity, unit and exponent.
"""

from __future__ import annotations

from dataclasses import dataclass

from meterkast.errors import RecordError
from meterkast.mbus.datatypes import decode_text, encode_text
from meterkast.mbus.vif_tables import (
    COMBINABLE,
    EXTENSION_FB,
    EXTENSION_FD,
    MANUFACTURER_VIFE,
    PRIMARY,
    VifInfo,
)

MAX_VIFES = 10
EXTENSION = 0x80
VIF_FB = 0x7B
VIF_PLAIN_TEXT = 0x7C
VIF_FD = 0x7D
VIF_MANUFACTURER = 0x7F
_TABLE_BY_VIF = {VIF_FB: EXTENSION_FB, VIF_FD: EXTENSION_FD}


@dataclass(frozen=True, slots=True)
class Vib:
    """A value information block: VIF and VIFE codes without extension bits, and plain text if 7Ch."""

    vif: int
    vifes: tuple[int, ...] = ()
    text: str | None = None


@dataclass(frozen=True, slots=True)
class VifMeaning:
    """What a VIB says about its value: quantity, unit, power of ten, and the modifiers that apply."""

    quantity: str
    unit: str
    exponent: int
    time_point: bool
    modifiers: tuple[str, ...]
    manufacturer_specific: bool


def decode_vib(data: bytes, pos: int, base: int = 0) -> tuple[Vib, int]:
    """Decode the VIB at ``data[pos]``; returns it and the position after it."""
    end = len(data)
    if pos >= end:
        raise RecordError("premature end of data: VIF expected", offset=base + pos)
    first = data[pos]
    vif = first & 0x7F
    pos += 1
    text = None
    if vif == VIF_PLAIN_TEXT:
        if pos >= end:
            raise RecordError("premature end of data: plain-text VIF length expected", offset=base + pos)
        length = data[pos]
        if pos + 1 + length > end:
            raise RecordError(f"plain-text VIF of {length} characters runs past the data", offset=base + pos)
        text = decode_text(data[pos + 1 : pos + 1 + length])
        pos += 1 + length
    if not first & EXTENSION:
        return Vib(vif, (), text), pos
    vifes: list[int] = []
    more = True
    while more:
        if pos >= end:
            raise RecordError("premature end of data: VIFE expected", offset=base + pos)
        if len(vifes) == MAX_VIFES:
            raise RecordError(f"more than {MAX_VIFES} VIFEs (EN 13757-3 6.4.1)", offset=base + pos)
        byte = data[pos]
        vifes.append(byte & 0x7F)
        more = bool(byte & EXTENSION)
        pos += 1
    return Vib(vif, tuple(vifes), text), pos


def encode_vib(vib: Vib) -> bytes:
    if not 0 <= vib.vif <= 0x7F or any(not 0 <= v <= 0x7F for v in vib.vifes):
        raise RecordError(f"VIF/VIFE codes must be 0x00–0x7F without the extension bit: {vib}")
    if len(vib.vifes) > MAX_VIFES:
        raise RecordError(f"{len(vib.vifes)} VIFEs: EN 13757-3 allows at most {MAX_VIFES}")
    if (vib.vif == VIF_PLAIN_TEXT) != (vib.text is not None):
        raise RecordError("a plain-text unit goes with VIF 7Ch/FCh, and VIF 7Ch/FCh needs one")
    out = bytearray((vib.vif | (EXTENSION if vib.vifes else 0),))
    if vib.text is not None:
        raw = encode_text(vib.text)
        if len(raw) > 0xFF:
            raise RecordError(f"plain-text unit {vib.text!r} is longer than 255 characters")
        out.append(len(raw))
        out += raw
    last = len(vib.vifes) - 1
    out += bytes(v | (EXTENSION if i < last else 0) for i, v in enumerate(vib.vifes))
    return bytes(out)


_CACHE: dict[Vib, VifMeaning] = {}


def meaning(vib: Vib) -> VifMeaning:
    """Resolve a VIB against the EN 13757-3 tables (cached)."""
    found = _CACHE.get(vib)
    if found is None:
        found = _resolve(vib)
        if len(_CACHE) < 4096:  # bounded: random input must not grow it without end
            _CACHE[vib] = found
    return found


def _resolve(vib: Vib) -> VifMeaning:
    table = _TABLE_BY_VIF.get(vib.vif)
    rest = vib.vifes
    if table is not None:
        info: VifInfo = table[rest[0]] if rest else VifInfo("missing extension code")
        rest = rest[1:]
    elif vib.vif == VIF_PLAIN_TEXT:
        info = VifInfo(vib.text or "", vib.text or "")
    else:
        info = PRIMARY[vib.vif]
    manufacturer = vib.vif == VIF_MANUFACTURER
    exponent = info.exponent
    modifiers: list[str] = []
    for code in rest:
        if manufacturer:
            modifiers.append(f"manufacturer specific 0x{code:02X}")
            continue
        vife = COMBINABLE[code]
        exponent += vife.exponent
        modifiers.append(vife.name)
        manufacturer = code == MANUFACTURER_VIFE
    return VifMeaning(info.quantity, info.unit, exponent, info.time_point, tuple(modifiers), manufacturer)


def describe_vib(vib: Vib) -> str:
    """One line for annotations: ``volume, 10^-3 m³`` plus modifiers."""
    m = meaning(vib)
    unit = f", 10^{m.exponent} {m.unit}" if m.unit else ""
    extra = "".join(f"; {mod}" for mod in m.modifiers)
    return f"{m.quantity}{unit}{extra}"
