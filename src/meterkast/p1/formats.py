"""P1 value formats Fn(x,y), In, Sn, TST and their text form ([P1-4.0.7 §5.4–5.8, Table 5-1]).

``Fn(x,y)``: a decimal number of n digits with x to y decimals (F9(3,3) = ``123456.789``; the point
is not counted). ``In``: an integer of n digits. ``Sn``: a string of n characters; COSEM
octet-strings are hex-encoded, two characters per octet [§5.5]. ``TST``: ``YYMMDDhhmmssX``.

Each format knows both directions between a TelegramData field and the text inside ``( )``:
``encode`` writes the field (zero padding per format) and ``from_value`` turns what the decoder
produced for the line back into the field type. Rules:
- encoding never rounds: a value with more decimals than the format shows, a negative value or one
  too wide for n digits is a RecordError naming the value and the format;
- octet strings are hex of the text's Latin-1 bytes, uppercase; Latin-1 maps every byte to one
  character, so any hex the wire carries survives decode → encode unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from meterkast.errors import RecordError
from meterkast.p1.timestamps import decode_tst, encode_tst
from meterkast.p1.values import Quantity, Value

# Scale factors for units other meters use for the same quantity (Sagemcom T210-D-R: Wh, W).
UNIT_SCALE: dict[tuple[str, str], Decimal] = {
    ("Wh", "kWh"): Decimal("0.001"),
    ("W", "kW"): Decimal("0.001"),
    ("varh", "kvarh"): Decimal("0.001"),
    ("var", "kvar"): Decimal("0.001"),
}
_SCALE_ANY_CASE = {(have.lower(), want.lower()): factor for (have, want), factor in UNIT_SCALE.items()}


class Format(Protocol):
    """A value format: field value ⇄ text inside the parentheses."""

    def encode(self, value: object) -> str: ...

    def from_value(self, value: Value, unit: str | None) -> object: ...


@dataclass(frozen=True, slots=True)
class Fixed:
    """Fn(x,y): n digits, x..y decimals; written with y decimals (the meters' practice)."""

    digits: int
    min_decimals: int
    max_decimals: int

    def __str__(self) -> str:
        return f"F{self.digits}({self.min_decimals},{self.max_decimals})"

    def encode(self, value: object) -> str:
        if not isinstance(value, Decimal) or not value.is_finite():
            raise RecordError(f"{value!r} is not a finite Decimal for {self}")
        places = self.max_decimals
        quantum = Decimal(1).scaleb(-places)
        if value < 0 or value.quantize(quantum) != value:
            raise RecordError(f"{value} cannot be shown as {self}: negative or more than {places} decimals")
        text = f"{value:0{self.digits + (1 if places else 0)}.{places}f}"
        if len(text) > self.digits + (1 if places else 0):
            raise RecordError(f"{value} does not fit {self} ({self.digits} digits)")
        return text

    def from_value(self, value: Value, unit: str | None) -> Decimal:
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        if not isinstance(value, Quantity):
            raise RecordError(f"expected a number for {self}, got {value!r}")
        return _scaled(value.value, value.unit, unit)


@dataclass(frozen=True, slots=True)
class Count:
    """F5(0,0), F10(0,0), In: a non-negative integer, zero-padded to n digits (I1: one digit)."""

    digits: int
    label: str = "F"

    def __str__(self) -> str:
        return f"I{self.digits}" if self.label == "I" else f"F{self.digits}(0,0)"

    def encode(self, value: object) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RecordError(f"{value!r} is not a non-negative integer for {self}")
        text = f"{value:0{self.digits}d}"
        if len(text) > self.digits:
            raise RecordError(f"{value} does not fit {self} ({self.digits} digits)")
        return text

    def from_value(self, value: Value, unit: str | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdecimal():
            return int(value)
        if isinstance(value, Quantity) and value.value == value.value.to_integral_value():
            return int(value.value)
        raise RecordError(f"expected an integer for {self}, got {value!r}")


@dataclass(frozen=True, slots=True)
class Digits:
    """Sn holding a number, e.g. the tariff indicator S4 ``0002``: an int field, zero-padded."""

    chars: int

    def __str__(self) -> str:
        return f"S{self.chars}"

    def encode(self, value: object) -> str:
        return Count(self.chars).encode(value)

    def from_value(self, value: Value, unit: str | None) -> int:
        return Count(self.chars).from_value(value, unit)


@dataclass(frozen=True, slots=True)
class Text:
    """Sn written as is (version info S2 ``42``); at most n characters, no parentheses or CR/LF."""

    max_chars: int

    def __str__(self) -> str:
        return f"S{self.max_chars}"

    def encode(self, value: object) -> str:
        if not isinstance(value, str) or len(value) > self.max_chars or not _plain(value):
            raise RecordError(f"{value!r} is not a string of at most {self.max_chars} plain characters")
        return value

    def from_value(self, value: Value, unit: str | None) -> str:
        if isinstance(value, str):
            return value
        raise RecordError(f"expected a string for {self}, got {value!r}")


@dataclass(frozen=True, slots=True)
class OctetString:
    """Sn (n=0..max) of a COSEM octet-string: hex, two characters per octet [§5.5]."""

    max_chars: int

    def __str__(self) -> str:
        return f"S{self.max_chars} (hex)"

    def encode(self, value: object) -> str:
        if not isinstance(value, str):
            raise RecordError(f"{value!r} is not a string for {self}")
        try:
            text = value.encode("latin-1").hex().upper()
        except UnicodeEncodeError as exc:
            raise RecordError(f"{value!r} has characters outside Latin-1; P1 strings are octets") from exc
        if len(text) > self.max_chars:
            raise RecordError(f"{value!r} is {len(text)} hex characters, more than {self} allows")
        return text

    def from_value(self, value: Value, unit: str | None) -> str:
        if not isinstance(value, str):
            raise RecordError(f"expected a hex string for {self}, got {value!r}")
        return decode_octets(value)


@dataclass(frozen=True, slots=True)
class Timestamp:
    """TST ``YYMMDDhhmmssX``."""

    def __str__(self) -> str:
        return "TST"

    def encode(self, value: object) -> str:
        if not isinstance(value, datetime):
            raise RecordError(f"{value!r} is not a datetime for TST")
        return encode_tst(value)

    def from_value(self, value: Value, unit: str | None) -> datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, str):
            return decode_tst(value)
        raise RecordError(f"expected a time stamp, got {value!r}")


def decode_octets(text: str) -> str:
    """Hex octet-string → text (Latin-1, lossless); text that is not even-length hex stays as is.

    Some dialects send identifiers in clear (EasyMeter ``1ESY1336001560``, Iskra IE ``09610``).
    """
    if len(text) % 2 == 0:
        try:
            return bytes.fromhex(text).decode("latin-1")
        except ValueError:
            return text
    return text


def _scaled(value: Decimal, have: str | None, want: str | None) -> Decimal:
    if have == want or have is None or want is None:
        return value
    # Unit case carries no meaning (an Iskra sends *kwh, *v); decode keeps the unit as sent.
    factor = Decimal(1) if have.lower() == want.lower() else _SCALE_ANY_CASE.get((have.lower(), want.lower()))
    if factor is None:
        raise RecordError(f"unit {have!r} cannot be converted to {want!r}")
    return value * factor


def _plain(value: str) -> bool:
    return not any(ch in "()\r\n!" for ch in value)


# Named formats from the companion standards' tables.
F9_3 = Fixed(9, 3, 3)  # energy registers, kWh
F8_3 = Fixed(8, 3, 3)  # DSMR 2.2 energy registers; gas G4/G6
F8_2 = Fixed(8, 2, 2)  # gas above G6 [P1-4.2.2 Table 5-3 note 2]
F5_3 = Fixed(5, 3, 3)  # power, kW, 1 W resolution
F6_2 = Fixed(6, 2, 2)  # DSMR 2.2 power, kW, 10 W resolution
F4_1 = Fixed(4, 1, 1)  # voltage, V
F3_0 = Fixed(3, 0, 0)  # current, A
DEVICE_TYPE = Count(3)  # M-Bus device type F3(0,0), tag 17
DEVICE_TYPE_22 = Count(1)  # DSMR 2.2 writes (3)
F5_0 = Count(5)  # counters
F10_0 = Count(10)  # power failure durations, s
I1 = Count(1, "I")
S2 = Text(2)
S4 = Digits(4)
S96_HEX = OctetString(96)
S16_HEX = OctetString(16)
S2048_HEX = OctetString(2048)
TST = Timestamp()
