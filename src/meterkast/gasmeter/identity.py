"""Identity and nameplate of the gas meter (SYSTEM G13).

The meter number printed under the barcode is the DSMR equipment identifier: 17 ASCII characters,
"composed of three parts: meter type, serial number and year of manufacturing" [MAIN-4.2.2 definitions]:
a 5-character KIWA family code (``G0001``), a 10-digit serial number and a 2-digit year. "If the meter code
is shorter than 5 characters, leading spaces (coded as 20h) shall be added. If the serial number is
shorter than 10 characters, leading zeroes" [P2-4.0.7 §6.4.1]. The M-Bus identification number is the
last 8 digits of the serial, BCD [P2-4.0.7 §4.2.2].

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

    def to_json(self) -> dict[str, str | int]:
        return {
            "meter_number": str(self),
            "kiwa_code": self.kiwa_code.strip(),
            "serial": self.serial,
            "year": self.year,
            "mbus_identification": f"{self.mbus_identification:08d}",
        }


def parse_meter_number(text: str) -> MeterNumber:
    """Split and validate a meter number such as ``G0001123456789012``."""
    if len(text) != METER_NUMBER_LENGTH:
        raise InvalidIdentity(
            f"meter number {text!r} has {len(text)} characters; it must have {METER_NUMBER_LENGTH}: "
            "5 for the KIWA code, 10 for the serial number, 2 for the year"
        )
    kiwa, serial, year = text[:5], text[5:15], text[15:]
    if not _KIWA.fullmatch(kiwa) or kiwa.strip() != kiwa.lstrip():
        raise InvalidIdentity(
            f"KIWA code {kiwa!r} (characters 1–5 of {text!r}) must be letters and digits, "
            "padded with leading spaces only (e.g. 'G0001')"
        )
    if not (serial.isascii() and serial.isdigit()):
        raise InvalidIdentity(
            f"serial number {serial!r} (characters 6–15 of {text!r}) must be 10 digits, "
            "padded with leading zeroes"
        )
    if not (year.isascii() and year.isdigit()):
        raise InvalidIdentity(
            f"year of manufacture {year!r} (characters 16–17 of {text!r}) must be 2 digits"
        )
    return MeterNumber(kiwa, serial, year)


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
