"""The central system's list of E-meters to read: where each one answers, and what hangs on it (SYSTEM C1, M3).

A ``MeterEntry`` is what an installation work order gives the CS: the E-meter, its connection (EAN), its
P3 address (host, port 4059 by default, DSMR-FACTS §3.5), optionally its DLMS system title (then the CS
checks that the meter answering is that one), when it was installed, and the gas meters on its channels
with the instant each was coupled. Enrolment writes it into the store (connection, E-meter, couplings;
SYSTEM M3), with the meter's keys sealed at rest (SYSTEM C4) when the entry brings them.

The meters file is TOML (``parse_meters``/``format_meters``)::

    [[meter]]
    emeter = "E0031003239456716"
    connection = "871687140000000017"
    host = "127.0.0.1"
    port = 4059
    system_title = "4D4B450000BC614E"            # optional
    installed_at = "2026-01-01T00:00:00+00:00"
    consent = "standard"                          # optional: recorded at enrolment if there is no history
    encryption_key = "000102…0F"                  # optional, hex: sealed into the store at enrolment
    authentication_key = "D0D1…DF"
    gas = [{ channel = 1, meter = "G0001123456789012", coupled_at = "2026-01-01T00:00:00+00:00" }]

Keys in a file are for enrolment only: once in the store they are kept sealed, and the file can lose them.
Rules this module keeps: parsing is a pure function of the text (the command reads the file); every
error names the entry and the key; nothing here opens a socket or a file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterkast.central.model import Connection, ConsentLevel, meter_id
from meterkast.dlms import SecurityKeys
from meterkast.dlms.wrapper import DLMS_TCP_PORT
from meterkast.emeter.obis import check_channel
from meterkast.errors import InvalidInput, MeterkastError
from meterkast.timeutil import require_utc

SYSTEM_TITLE_BYTES = 8


@dataclass(frozen=True, slots=True)
class GasCoupling:
    channel: int
    gas_meter: str
    coupled_at: datetime

    def __post_init__(self) -> None:
        check_channel(self.channel)
        object.__setattr__(self, "gas_meter", meter_id(self.gas_meter, "gas meter"))
        object.__setattr__(self, "coupled_at", require_utc(self.coupled_at, "coupled_at"))


@dataclass(frozen=True, slots=True)
class MeterEntry:
    emeter: str
    connection: Connection
    host: str
    port: int
    installed_at: datetime
    gas: tuple[GasCoupling, ...] = ()
    system_title: bytes | None = None
    consent: ConsentLevel | None = None
    keys: SecurityKeys | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "emeter", meter_id(self.emeter, "E-meter"))
        object.__setattr__(self, "installed_at", require_utc(self.installed_at, "installed_at"))
        if not 0 < self.port < 65536:
            raise InvalidInput(f"E-meter {self.emeter}: P3 port {self.port} must lie in 1..65535")
        if self.system_title is not None and len(self.system_title) != SYSTEM_TITLE_BYTES:
            raise InvalidInput(f"E-meter {self.emeter}: a system title has {SYSTEM_TITLE_BYTES} bytes")
        channels = [g.channel for g in self.gas]
        if len(set(channels)) != len(channels):
            raise InvalidInput(f"E-meter {self.emeter}: channels {channels} name one channel twice")


def system_title_for(equipment_id: str, manufacturer: str = "MKE") -> bytes:
    """A DLMS system title for a simulated E-meter: 3-letter FLAG id + the serial as 5 bytes."""
    number = meter_id(equipment_id, "E-meter")
    return manufacturer.encode("ascii") + int(number[5:15]).to_bytes(5, "big")


# ---- the meters file ------------------------------------------------------------------------------------

_KEYS = {"emeter", "connection", "host", "port", "system_title", "installed_at", "consent",
         "encryption_key", "authentication_key", "gas"}


def _instant(value: object, where: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{where}: {value!r} is not an ISO 8601 instant") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{where}: {value!r} must be an instant with a UTC offset")
    return require_utc(value, where)


def _hex(value: object, where: str, size: int) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise InvalidInput(f"{where}: must be {size} bytes in hex ({2 * size} hex digits)")
    return raw


def _entry(raw: dict[str, Any]) -> MeterEntry:
    unknown = set(raw) - _KEYS
    if unknown:
        raise InvalidInput(f"unknown keys {sorted(unknown)}; known: {sorted(_KEYS)}")
    for key in ("emeter", "connection", "installed_at"):
        if key not in raw:
            raise InvalidInput(f"'{key}' is missing")
    keys = None
    if "encryption_key" in raw or "authentication_key" in raw:
        keys = SecurityKeys(_hex(raw.get("encryption_key"), "encryption_key", 16),
                            _hex(raw.get("authentication_key"), "authentication_key", 16))
    gas = []
    for n, item in enumerate(raw.get("gas", [])):
        if not isinstance(item, dict) or set(item) - {"channel", "meter", "coupled_at"}:
            raise InvalidInput(f"gas[{n}] must be {{channel, meter, coupled_at}}")
        gas.append(GasCoupling(item.get("channel", 0), str(item.get("meter", "")),
                               _instant(item.get("coupled_at", raw["installed_at"]), f"gas[{n}].coupled_at")))
    try:
        consent = None if "consent" not in raw else ConsentLevel(raw["consent"])
    except ValueError:
        raise InvalidInput(f"consent {raw['consent']!r} is not one of none, standard, detailed") from None
    port = raw.get("port", DLMS_TCP_PORT)
    if not isinstance(port, int):
        raise InvalidInput(f"port {port!r} is not a number")
    return MeterEntry(
        str(raw["emeter"]), Connection(str(raw["connection"])), str(raw.get("host", "127.0.0.1")), port,
        _instant(raw["installed_at"], "installed_at"), tuple(gas),
        None if "system_title" not in raw else _hex(raw["system_title"], "system_title", 8),
        consent, keys,
    )


def parse_meters(text: str, source: str = "meters file") -> list[MeterEntry]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: not TOML: {exc}") from exc
    meters = document.get("meter", [])
    if set(document) - {"meter"} or not isinstance(meters, list):
        raise InvalidInput(f"{source}: expected only [[meter]] tables")
    entries = []
    for n, raw in enumerate(meters):
        try:
            entries.append(_entry(raw))
        except MeterkastError as exc:
            raise InvalidInput(f"{source}: meter[{n}]: {exc}") from exc
    seen = [e.emeter for e in entries]
    if len(set(seen)) != len(seen):
        raise InvalidInput(f"{source}: an E-meter is listed twice")
    return entries


def format_meters(entries: Sequence[MeterEntry], *, with_keys: bool = True) -> str:
    """The TOML text ``parse_meters`` reads back (keys only with ``with_keys``)."""
    lines: list[str] = []
    for e in entries:
        lines += ["[[meter]]", f'emeter = "{e.emeter}"', f'connection = "{e.connection.ean}"',
                  f'host = "{e.host}"', f"port = {e.port}", f'installed_at = "{e.installed_at.isoformat()}"']
        if e.system_title is not None:
            lines.append(f'system_title = "{e.system_title.hex().upper()}"')
        if e.consent is not None:
            lines.append(f'consent = "{e.consent.value}"')
        if with_keys and e.keys is not None:
            lines.append(f'encryption_key = "{e.keys.encryption_key.hex().upper()}"')
            lines.append(f'authentication_key = "{e.keys.authentication_key.hex().upper()}"')
        gas = ", ".join(
            f'{{ channel = {g.channel}, meter = "{g.gas_meter}", coupled_at = "{g.coupled_at.isoformat()}" }}'
            for g in e.gas
        )
        lines += [f"gas = [{gas}]", ""]
    return "\n".join(lines)
