"""Telegram specifications: which objects each DSMR version writes, in which order and format.

Versions are data, not code paths: a ``TelegramSpec`` lists its lines (OBIS code, the TelegramData
field it shows, the format) and its M-Bus channel lines; ``encode.py`` walks that list. Sources:
- "4" = DSMR 4.0.5/4.0.7: [P1-4.0.7 Table 5-3] and its example telegram [§5.13], version info 40;
- "4.2" = DSMR 4.2.2: [P1-4.2.2 Table 5-3, §5.13], version info 42 (same objects as 4.0.7);
- "5" = DSMR 5.0.2: [P1-5.0.2 Table 6-3, §6.13], version info 50, voltages added, text code gone;
- "2.2" = DSMR 2.2: there is no 2.2 companion standard among the specs; [P1-3.0] ("2.2 plus
  fixes") and real Iskra MT382 telegrams (DSMR-FACTS §1.6) fix the layout: no version line, no time
  stamp, no CRC, F8(3,3) registers, F6(2,2) power in 10 W steps, limiter in kW, breaker, device type
  ``(3)``, and the two-line ``0-n:24.3.0`` hourly gas profile with the valve after it.
The order of lines follows the standards' example telegrams (which real meters follow too); the
companion standards say order is not fixed, so the decoder never relies on it.

``profile(version)`` lists, for any version or foreign dialect, the OBIS objects the table says it
carries: the decode-side profile of dialects meterkast only reads (Fluvius, EasyMeter Q3D, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from meterkast.errors import InvalidInput
from meterkast.p1 import formats as f
from meterkast.p1.formats import Format
from meterkast.p1.obis import BY_CODE, TABLE, V4, V5, V22, V42, ObisObject


@dataclass(frozen=True, slots=True)
class Field:
    """A TelegramData attribute shown by one OBIS object (``index`` for per-phase tuples)."""

    name: str
    code: str
    index: int | None = None


FIELDS: tuple[Field, ...] = (
    Field("timestamp", "0-0:1.0.0"),
    Field("equipment_id", "0-0:96.1.1"),
    Field("import_t1_kwh", "1-0:1.8.1"),
    Field("import_t2_kwh", "1-0:1.8.2"),
    Field("export_t1_kwh", "1-0:2.8.1"),
    Field("export_t2_kwh", "1-0:2.8.2"),
    Field("tariff", "0-0:96.14.0"),
    Field("power_import_kw", "1-0:1.7.0"),
    Field("power_export_kw", "1-0:2.7.0"),
    Field("limiter_threshold_kw", "0-0:17.0.0"),
    Field("breaker_state", "0-0:96.3.10"),
    Field("power_failures", "0-0:96.7.21"),
    Field("long_power_failures", "0-0:96.7.9"),
    Field("power_failure_log", "1-0:99.97.0"),
    *(Field("voltage_sags", code, i) for i, code in enumerate(("1-0:32.32.0", "1-0:52.32.0", "1-0:72.32.0"))),
    *(Field("voltage_swells", code, i) for i, code in enumerate(("1-0:32.36.0", "1-0:52.36.0", "1-0:72.36.0"))),
    Field("text_code", "0-0:96.13.1"),
    Field("text_message", "0-0:96.13.0"),
    *(Field("voltage_v", code, i) for i, code in enumerate(("1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0"))),
    *(Field("current_a", code, i) for i, code in enumerate(("1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0"))),
    *(Field("power_import_phase_kw", c, i) for i, c in enumerate(("1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0"))),
    *(Field("power_export_phase_kw", c, i) for i, c in enumerate(("1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0"))),
)
FIELD_BY_CODE: dict[str, Field] = {field.code: field for field in FIELDS}
VERSION_INFO = "1-3:0.2.8"


class ChannelLine(Enum):
    """The lines of one M-Bus channel, each written by its own function in ``encode.py``."""

    DEVICE_TYPE = "0-n:24.1.0"
    EQUIPMENT_ID = "0-n:96.1.0"
    READING = "0-n:24.2.1"  # (TST)(value*unit), F8(3,3) or F8(2,2) from the channel's resolution
    GAS_PROFILE = "0-n:24.3.0"  # DSMR 2.2/3 two-line form
    VALVE = "0-n:24.4.0"


@dataclass(frozen=True, slots=True)
class SpecLine:
    code: str
    field: Field | None  # None: a constant line (the version information)
    fmt: Format
    unit: str | None
    constant: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    line: ChannelLine
    fmt: Format


@dataclass(frozen=True, slots=True)
class TelegramSpec:
    name: str
    title: str
    crc: bool
    lines: tuple[SpecLine, ...]
    channel: tuple[ChannelSpec, ...]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(line.field.name for line in self.lines if line.field is not None)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(line.code for line in self.lines) + tuple(c.line.value for c in self.channel)


def _line(code: str, fmt: Format | None = None, unit: str | None = "table") -> SpecLine:
    obj = BY_CODE[code]
    chosen = fmt if fmt is not None else obj.fmt
    if chosen is None:
        raise ValueError(f"OBIS table entry {code} has no format to encode with")
    return SpecLine(code, FIELD_BY_CODE[code], chosen, obj.unit if unit == "table" else unit)


def _version(info: str) -> SpecLine:
    return SpecLine(VERSION_INFO, None, f.S2, None, info)


_HEAD_4 = ("0-0:1.0.0", "0-0:96.1.1", "1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2", "0-0:96.14.0")
_QUALITY_4 = (
    "1-0:1.7.0", "1-0:2.7.0", "0-0:96.7.21", "0-0:96.7.9", "1-0:99.97.0",
    "1-0:32.32.0", "1-0:52.32.0", "1-0:72.32.0", "1-0:32.36.0", "1-0:52.36.0", "1-0:72.36.0",
)  # fmt: skip
_PHASES = (
    "1-0:31.7.0", "1-0:51.7.0", "1-0:71.7.0", "1-0:21.7.0", "1-0:41.7.0", "1-0:61.7.0",
    "1-0:22.7.0", "1-0:42.7.0", "1-0:62.7.0",
)  # fmt: skip
_CHANNEL_4 = (
    ChannelSpec(ChannelLine.DEVICE_TYPE, f.DEVICE_TYPE),
    ChannelSpec(ChannelLine.EQUIPMENT_ID, f.S96_HEX),
    ChannelSpec(ChannelLine.READING, f.F8_3),
)


def _dsmr4(name: str, title: str, info: str) -> TelegramSpec:
    codes = (*_HEAD_4, *_QUALITY_4, "0-0:96.13.1", "0-0:96.13.0", *_PHASES)
    return TelegramSpec(name, title, True, (_version(info), *map(_line, codes)), _CHANNEL_4)


DSMR_4 = _dsmr4(V4, "DSMR 4.0.5/4.0.7 P1 [P1-4.0.7 Table 5-3]", "40")
DSMR_42 = _dsmr4(V42, "DSMR 4.2.2 P1 [P1-4.2.2 Table 5-3]", "42")
DSMR_5 = TelegramSpec(
    V5,
    "DSMR 5.0.2 P1 [P1-5.0.2 Table 6-3]",
    True,
    (
        _version("50"),
        *map(_line, (*_HEAD_4, *_QUALITY_4, "0-0:96.13.0", "1-0:32.7.0", "1-0:52.7.0", "1-0:72.7.0", *_PHASES)),
    ),
    _CHANNEL_4,
)
DSMR_22 = TelegramSpec(
    V22,
    "DSMR 2.2 P1 (Iskra MT382; [P1-3.0 §5.11] for the layout)",
    False,
    (
        _line("0-0:96.1.1"),
        *(_line(code, f.F8_3) for code in ("1-0:1.8.1", "1-0:1.8.2", "1-0:2.8.1", "1-0:2.8.2")),
        _line("0-0:96.14.0"),
        _line("1-0:1.7.0", f.F6_2),
        _line("1-0:2.7.0", f.F6_2),
        _line("0-0:17.0.0"),
        _line("0-0:96.3.10"),
        _line("0-0:96.13.1"),
        _line("0-0:96.13.0"),
    ),
    (
        ChannelSpec(ChannelLine.DEVICE_TYPE, f.DEVICE_TYPE_22),
        ChannelSpec(ChannelLine.EQUIPMENT_ID, f.S96_HEX),
        ChannelSpec(ChannelLine.GAS_PROFILE, f.F8_3),
        ChannelSpec(ChannelLine.VALVE, f.I1),
    ),
)

SPECS: dict[str, TelegramSpec] = {spec.name: spec for spec in (DSMR_4, DSMR_42, DSMR_5, DSMR_22)}
# Spellings people use for the same versions.
ALIASES = {"4.0": V4, "4.0.5": V4, "4.0.7": V4, "40": V4, "4.2.2": V42, "42": V42, "5.0": V5, "5.0.2": V5, "50": V5}


def spec_for(version: str | TelegramSpec) -> TelegramSpec:
    """The spec for "4" (default), "4.2", "5" or "2.2" (and spellings like "4.0.7", "50")."""
    if isinstance(version, TelegramSpec):
        return version
    try:
        return SPECS[ALIASES.get(version, version)]
    except KeyError:
        raise InvalidInput(f"no P1 telegram spec for version {version!r}; choose one of {sorted(SPECS)}") from None


def profile(version: str) -> tuple[ObisObject, ...]:
    """The OBIS objects the table lists for a version or dialect (e.g. "5", "fluvius", "q3d")."""
    return tuple(obj for obj in TABLE if version in obj.versions)
