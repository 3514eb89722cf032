"""A decoded P1 telegram: header, values by OBIS, M-Bus devices by channel, CRC status.

[P1-4.2.2 §5.2] "/XXX5Ident CR LF CR LF Data ! CRC CR LF": ``XXX`` is the manufacturer's FLAG id,
``5`` the baud rate character, then the identification. [P1-4.2.2 §5.12]: "The OBIS reference
Channel number (n) will be defined by the installing order of the M-Bus devices … the Device-Type is
sent first to identify the medium"; so M-Bus objects are grouped by channel, whatever their order.

Rules this module keeps:
- the CRC status is a value, not an exception: ``crc_ok`` is None when the telegram has no CRC
  (DSMR 2.2/3, EasyMeter), else whether it matched; ``decode_telegram(strict=True)`` raises instead;
- unknown OBIS codes are kept as ``RawValue`` and listed in ``unknown``; lines that could not be read
  (and text around the lines: before ``/``, after the CRC) are listed in ``errors`` with their line
  number, raw text and reason, beside the values of the lines that could (the decoders' default,
  ``lenient=True``; docs/p1.md, "What the decoder tolerates"); odd but meaningful fields read
  leniently (a vendor placeholder time stamp) keep their raw text in ``notes``, which are no problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterkast.p1.formats import decode_octets
from meterkast.p1.obis import READING_CODES
from meterkast.p1.values import CapturedValue, GasProfile, Quantity, Value


@dataclass(frozen=True, slots=True)
class Header:
    """``/XXX5ident``: FLAG id, baud rate character and identification [P1-4.2.2 §5.2]."""

    flag: str
    baud: str
    ident: str

    def __str__(self) -> str:
        return f"/{self.flag}{self.baud}{self.ident}"


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that could not be read, or text around the lines that was ignored (a problem, not fatal)."""

    line: int  # 1-based, the header is line 1; 0 = before the header
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class MbusDevice:
    """The objects of one M-Bus channel (``0-n:…``), n = order of installation (SYSTEM M3)."""

    channel: int
    values: Mapping[str, Value]  # by reduced ID, e.g. "0-1:24.2.1"

    def _get(self, suffix: str) -> Value | None:
        return self.values.get(f"0-{self.channel}:{suffix}")

    @property
    def device_type(self) -> int | None:
        value = self._get("24.1.0")
        return value if isinstance(value, int) else None

    @property
    def equipment_id(self) -> str | None:
        """As sent (hex); NL sends it on 96.1.0, Belgium on 96.1.1."""
        for suffix in ("96.1.0", "96.1.1"):
            value = self._get(suffix)
            if isinstance(value, str):
                return value
        return None

    @property
    def equipment_text(self) -> str | None:
        raw = self.equipment_id
        return None if raw is None else decode_octets(raw)

    @property
    def reading(self) -> CapturedValue | None:
        """The last reading with its capture time: 24.2.1, else 24.2.3 (BE), else 24.3.0 (2.2/3)."""
        for suffix in READING_CODES:
            value = self._get(suffix)
            if isinstance(value, CapturedValue):
                return value
            if isinstance(value, GasProfile):
                return CapturedValue(value.time, value.value, value.unit)
        return None

    @property
    def valve(self) -> int | None:
        value = self._get("24.4.0")
        return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class Telegram:
    header: Header
    values: Mapping[str, Value]  # every object by reduced ID, M-Bus objects included
    mbus: Mapping[int, MbusDevice]
    crc: int | None  # as transmitted; None for telegrams without CRC
    crc_ok: bool | None
    unknown: tuple[str, ...] = ()
    errors: tuple[LineError, ...] = ()  # problems: lines that could not be read
    notes: tuple[LineError, ...] = ()  # odd but meaningful fields read leniently, with their raw text

    def __getitem__(self, code: str) -> Value:
        return self.values[code]

    def get(self, code: str) -> Value | None:
        return self.values.get(code)

    def quantity(self, code: str) -> Quantity | None:
        value = self.values.get(code)
        return value if isinstance(value, Quantity) else None

    def decimal(self, code: str) -> Decimal | None:
        value = self.values.get(code)
        return value.value if isinstance(value, Quantity) else None

    @property
    def p1_version(self) -> str | None:
        value = self.values.get("1-3:0.2.8")
        return value if isinstance(value, str) else None

    @property
    def timestamp(self) -> datetime | None:
        value = self.values.get("0-0:1.0.0")
        return value if isinstance(value, datetime) else None

    @property
    def equipment_id(self) -> str | None:
        value = self.values.get("0-0:96.1.1")
        return value if isinstance(value, str) else None
