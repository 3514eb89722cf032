"""Identity and nameplate of the gas meter (SYSTEM G13; seed §10 item 1).

The meter number printed under the barcode is the DSMR equipment identifier, 17 characters in three parts
(seed §10 item 1; DSMR-M 4.6.2; [P2-4.0.7 §6.4.1]). What each part may hold is the table ``PARTS``:

- characters 1–5, the KIWA meter code ("de eerste vijf karakters de KIWA-code"; Itron's family is
  ``G0001``): upper-case ASCII letters A–Z and digits 0–9, right-aligned, a shorter code padded with
  leading spaces (20h);
- characters 6–15, the serial number ("tien cijfers voor het serienummer"): 10 digits, leading zeroes;
- characters 16–17, the year of manufacture ("de laatste twee cijfers staan voor het bouwjaar"): 2 digits,
  the year of century, read as 20yy.

The code is a registration code, not a word: DSMR-M 4.6.2 asks for 5 characters, and the P2 companion's
own example is ``XXXXX110123456789`` [P2-4.0.7 App. B]. So any upper-case letter is accepted, not only the
manual's ``G``. Lower case is refused, not folded. The barcode (Code 128) and the M-Bus/P1 equipment
identifier carry the exact characters, and "the internal digital ID number must match the number shown on
the type plate" (DSMR-M 4.3.3), so ``g0019…`` is not the meter ``G0019…``. The error names the character
and proposes the upper-case number. The M-Bus identification number is the serial's last 8 digits, BCD
[P2-4.0.7 §4.2.2].

Parsers raise :class:`InvalidIdentity` naming the part that is wrong and the rule it breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meterkast.errors import InvalidIdentity

METER_NUMBER_LENGTH = 17
_KIWA = re.compile(r" {0,4}[A-Z0-9]+")
_CERTIFICATE = re.compile(r"([A-Z]{2})-(\d{4})-(MI-?0\d\d)-(\d{1,4})", re.IGNORECASE)
_CE_MARKING = re.compile(r"CE\s+M(\d\d)\s+(\d{4})")


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the meter number: its characters (1-based, as the manual counts) and what it may hold."""

    name: str
    first: int
    last: int
    holds: str

    def of(self, text: str) -> str:
        return text[self.first - 1 : self.last]


PARTS: tuple[Part, ...] = (
    Part("KIWA code", 1, 5, "upper-case letters A–Z and digits 0–9, right-aligned with leading spaces"),
    Part("serial number", 6, 15, "10 digits, padded with leading zeroes"),
    Part("year of manufacture", 16, 17, "2 digits, the year of century (20yy)"),
)
KIWA, SERIAL, YEAR = PARTS


@dataclass(frozen=True, slots=True)
class MeterNumber:
    """A parsed 17-character equipment identifier."""

    kiwa_code: str
    serial: str
    year_2digit: str

    @property
    def year(self) -> int:
        # DSMR meters date from 2008 on; a two-digit year is therefore 20yy.
        return 2000 + int(self.year_2digit)

    @property
    def mbus_identification(self) -> int:
        """The 8-digit M-Bus identification number: the serial's last 8 digits [P2-4.0.7 §4.2.2]."""
        return int(self.serial[-8:])

    def __str__(self) -> str:
        return f"{self.kiwa_code}{self.serial}{self.year_2digit}"

    def to_json(self) -> dict[str, object]:
        text = str(self)
        return {
            "meter_number": text,
            "kiwa_code": self.kiwa_code.strip(),
            "serial": self.serial,
            "year": self.year,
            "mbus_identification": f"{self.mbus_identification:08d}",
            "parts": [
                {"part": p.name, "characters": f"{p.first}-{p.last}", "value": p.of(text), "holds": p.holds}
                for p in PARTS
            ],
        }


def parse_meter_number(text: str) -> MeterNumber:
    """Split and validate a meter number such as ``G0001123456789012`` (seed §10 item 1, ``PARTS``)."""
    if len(text) != METER_NUMBER_LENGTH:
        raise InvalidIdentity(
            f"meter number {text!r} has {len(text)} characters; it must have {METER_NUMBER_LENGTH}: "
            "5 for the KIWA code, 10 for the serial number, 2 for the year of manufacture"
        )
    kiwa, serial, year = (part.of(text) for part in PARTS)
    if not _KIWA.fullmatch(kiwa):
        raise InvalidIdentity(_kiwa_problem(text, kiwa))
    if not (serial.isascii() and serial.isdigit()):
        raise InvalidIdentity(
            f"serial number {serial!r} (characters 6–15 of {text!r}) must be {SERIAL.holds}"
        )
    if not (year.isascii() and year.isdigit()):
        raise InvalidIdentity(
            f"year of manufacture {year!r} (characters 16–17 of {text!r}) must be {YEAR.holds}"
        )
    return MeterNumber(kiwa, serial, year)


def _kiwa_problem(text: str, kiwa: str) -> str:
    where = f"KIWA code {kiwa!r} (characters 1–5 of {text!r})"
    rule = f"it holds {KIWA.holds} (e.g. 'G0001')"
    if kiwa.strip() and kiwa.upper() != kiwa and _KIWA.fullmatch(kiwa.upper()):
        lower = next(c for c in kiwa if c.islower())
        return (
            f"{where} has the lower-case letter {lower!r}; {rule}. The number on the meter and in its "
            f"barcode is upper case: did you mean {kiwa.upper() + text[5:]!r}?"
        )
    if not kiwa.strip():
        return f"{where} is blank; {rule}"
    if " " in kiwa.lstrip():
        return f"{where} has a space after its first character; {rule}: only leading spaces pad a short code"
    bad = next(c for c in kiwa.lstrip() if not ("A" <= c <= "Z" or "0" <= c <= "9"))
    return f"{where} has {bad!r}; {rule}"


@dataclass(frozen=True, slots=True)
class CertificateNumber:
    """An MID certificate such as ``DK-0200-MI002-019`` (seed §10 item 8)."""

    country: str
    notified_body: str
    instrument: str
    document: str

    def __str__(self) -> str:
        return f"{self.country}-{self.notified_body}-{self.instrument}-{self.document}"


def parse_certificate(text: str) -> CertificateNumber:
    match = _CERTIFICATE.fullmatch(text.strip())
    if match is None:
        raise InvalidIdentity(
            f"certificate number {text!r} must read COUNTRY-BODY-MI00x-DOCUMENT, "
            "e.g. 'DK-0200-MI002-019' (2 letters, 4-digit notified body, MID annex, document number)"
        )
    country, body, instrument, document = match.groups()
    instrument = instrument.upper().replace("-", "")
    if instrument != "MI002":
        raise InvalidIdentity(
            f"certificate {text!r} names {instrument}; a gas meter is certified under MID annex MI-002"
        )
    return CertificateNumber(country.upper(), body, instrument, document)


@dataclass(frozen=True, slots=True)
class CeMarking:
    """``CE M12 0102``: CE, the metrology mark with the year of affixing, the notified body (seed §10.7)."""

    year: int
    notified_body: str

    def __str__(self) -> str:
        return f"CE M{self.year % 100:02d} {self.notified_body}"


def parse_ce_marking(text: str) -> CeMarking:
    match = _CE_MARKING.fullmatch(text.strip())
    if match is None:
        raise InvalidIdentity(
            f"CE marking {text!r} must read 'CE Myy nnnn', e.g. 'CE M12 0102' "
            "(metrology mark M + 2-digit year, 4-digit notified body)"
        )
    return CeMarking(2000 + int(match.group(1)), match.group(2))
