"""OBIS logical names (IEC 62056-6-1; DSMR P3 §1.5 "Explanation OBIS-Object description").

A COSEM logical name is six octets A B C D E F, written ``A-B:C.D.E.F`` (DSMR writes e.g.
``0-1:24.2.1.255``; the P1 telegram drops F, which is then 255). On the wire it is the octet-string[6]
in an attribute descriptor (no length) or ``09 06`` + six octets as Data.

Rules this module keeps:
- ``ObisCode.parse`` accepts ``A-B:C.D.E.F``, ``A-B:C.D.E`` (F = 255) and ``A.B.C.D.E.F``; anything
  else raises ``InvalidInput`` naming the text; ``str()`` gives the DSMR form with F;
- each group is 0..255.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meterkast.errors import CodecError, InvalidInput

LOGICAL_NAME_SIZE = 6
_GROUP = r"(\d{1,3})"
_PATTERNS = (
    re.compile(rf"{_GROUP}-{_GROUP}:{_GROUP}\.{_GROUP}\.{_GROUP}(?:\.{_GROUP})?"),
    re.compile(rf"{_GROUP}\.{_GROUP}\.{_GROUP}\.{_GROUP}\.{_GROUP}\.{_GROUP}"),
)


@dataclass(frozen=True, slots=True, order=True)
class ObisCode:
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    def __post_init__(self) -> None:
        for name in "abcdef":
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise InvalidInput(f"OBIS group {name.upper()} = {value!r} must be 0..255")

    @classmethod
    def parse(cls, text: str) -> ObisCode:
        for pattern in _PATTERNS:
            match = pattern.fullmatch(text.strip())
            if match:
                groups = [int(g) for g in match.groups() if g is not None]
                try:
                    return cls(*groups)
                except InvalidInput as exc:
                    raise InvalidInput(f"OBIS code {text!r}: {exc}") from exc
        raise InvalidInput(f"OBIS code {text!r} is not of the form A-B:C.D.E.F (for example 0-1:24.2.1.255)")

    @classmethod
    def from_bytes(cls, data: bytes) -> ObisCode:
        if len(data) != LOGICAL_NAME_SIZE:
            raise CodecError(f"a logical name is {LOGICAL_NAME_SIZE} octets, got {len(data)}")
        return cls(*data)

    def to_bytes(self) -> bytes:
        return bytes((self.a, self.b, self.c, self.d, self.e, self.f))

    def __str__(self) -> str:
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}.{self.f}"


# Objects this codec's services refer to (DSMR P3 §5.1, §5.3).
CLOCK = ObisCode(0, 0, 1, 0, 0)
ASSOCIATION_LN_CURRENT = ObisCode(0, 0, 40, 0, 0)
SECURITY_SETUP = ObisCode(0, 0, 43, 0, 0)
