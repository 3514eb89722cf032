"""Secondary addressing for a master (EN 13757-2 Annex / EN 13757-3 clause 5.x, general M-Bus use).

DSMR P2 uses primary addresses only ("Secondary addressing (A=253) is not allowed", P2-4.0.7 §3.1.3);
this module serves generic masters and the installation tooling.

Selection: SND_UD (C 53h) to address 253 with CI 52h and 8 bytes ID (BCD, LSB first) | manufacturer |
version | medium. Wildcards: an F nibble in the ID, manufacturer FFFFh, version FFh, medium FFh. A
slave that matches enters the selected state and answers E5; later requests to address 253 go to it.

Scan (the wildcard-narrowing search of EN 13757-3 Annex / libmbus ``mbus_scan_2nd_address_range``):
try ``0FFFFFFF`` … ``9FFFFFFF``; no answer → the digit is empty; one clean E5 → a single slave, read
it; a collision (garbage, bad checksum) → several slaves share the prefix, so try the next digit
position with that prefix fixed, depth first. ``ScanPlanner`` is pure: it proposes masks and is told
the outcome; the transport-owning master runs the exchanges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from meterkast.errors import FrameError, RecordError
from meterkast.mbus.header import decode_ident, decode_manufacturer, encode_ident, encode_manufacturer
from meterkast.mbus.link import ADDRESS_SECONDARY, C_SND_UD, LongFrame, decode_frame, encode_frame

CI_SELECT = 0x52
WILDCARD_MANUFACTURER = "FFFF"
WILDCARD_BYTE = 0xFF
ID_DIGITS = 8


@dataclass(frozen=True, slots=True)
class SecondaryAddress:
    """ID (8 hex digits, F = wildcard) | manufacturer | version | medium, as in the long header."""

    ident: str = "F" * ID_DIGITS
    manufacturer: str = WILDCARD_MANUFACTURER
    version: int = WILDCARD_BYTE
    medium: int = WILDCARD_BYTE

    def matches(self, other: SecondaryAddress) -> bool:
        """Does a slave with address ``other`` answer this (possibly wildcarded) selection?"""
        digits_match = all(m in "Ff" or m == o for m, o in zip(self.ident, other.ident, strict=True))
        return (
            digits_match
            and self.manufacturer in (WILDCARD_MANUFACTURER, other.manufacturer)
            and self.version in (WILDCARD_BYTE, other.version)
            and self.medium in (WILDCARD_BYTE, other.medium)
        )


def encode_selection(address: SecondaryAddress) -> bytes:
    return (
        encode_ident(address.ident) + encode_manufacturer(address.manufacturer).to_bytes(2, "little")
        + bytes((address.version, address.medium))
    )


def decode_selection(data: bytes) -> SecondaryAddress:
    if len(data) != 8:
        raise RecordError(f"a secondary address selection has 8 bytes, got {len(data)}")
    return SecondaryAddress(
        decode_ident(data[0:4]), decode_manufacturer(data[4] | data[5] << 8), data[6], data[7]
    )


def encode_select_frame(address: SecondaryAddress, control: int = C_SND_UD) -> bytes:
    """The SND_UD frame that selects ``address`` (CI 52h, A = 253)."""
    return encode_frame(LongFrame(control, ADDRESS_SECONDARY, CI_SELECT, encode_selection(address)))


def decode_select_frame(data: bytes) -> SecondaryAddress:
    frame = decode_frame(data)
    if not isinstance(frame, LongFrame) or frame.ci != CI_SELECT or frame.address != ADDRESS_SECONDARY:
        raise FrameError("not a selection frame (long frame to address 253 with CI 52h)", offset=0)
    return decode_selection(frame.data)


class ProbeResult(Enum):
    NONE = "no answer"
    ONE = "one slave answered"
    COLLISION = "several slaves answered"


@dataclass(slots=True)
class ScanPlanner:
    """Depth-first wildcard narrowing over the 8 ID digits; masks in ascending order."""

    base: SecondaryAddress = field(default_factory=SecondaryAddress)
    found: list[SecondaryAddress] = field(default_factory=list)
    unresolved: list[SecondaryAddress] = field(default_factory=list)
    probes: int = 0
    _stack: list[str] = field(default_factory=list)
    _current: str | None = None

    def __post_init__(self) -> None:
        self._stack = self._children("")

    def _children(self, prefix: str) -> list[str]:
        fixed = [c for c in self.base.ident[len(prefix) : len(prefix) + 1] if c not in "Ff"]
        digits = fixed or [str(d) for d in range(10)]
        return [prefix + d for d in reversed(digits)]  # a stack: pop gives ascending order

    def next_probe(self) -> SecondaryAddress | None:
        """The next selection mask to try, or None when the scan is complete."""
        if not self._stack:
            self._current = None
            return None
        self._current = self._stack.pop()
        self.probes += 1
        ident = self._current + self.base.ident[len(self._current) :]
        return SecondaryAddress(ident, self.base.manufacturer, self.base.version, self.base.medium)

    def record(self, result: ProbeResult, address: SecondaryAddress | None = None) -> None:
        """Report the outcome of the last probe; for ONE, the address read from the slave's RSP_UD."""
        if self._current is None:
            raise RecordError("record() called without an outstanding probe")
        prefix, self._current = self._current, None
        if result is ProbeResult.ONE:
            if address is None:
                raise RecordError("a ONE result needs the address the slave reported")
            self.found.append(address)
        elif result is ProbeResult.COLLISION:
            if len(prefix) == ID_DIGITS:
                self.unresolved.append(SecondaryAddress(prefix, self.base.manufacturer, self.base.version,
                                                        self.base.medium))
            else:
                self._stack += self._children(prefix)
