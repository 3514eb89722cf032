"""The P1 test corpus: dsmr_parser's real telegrams (../shared/testdata/p1-dsmr_parser) and the
verbatim real telegrams quoted in DSMR-FACTS §1.6, with the dialect and dsmr_parser spec of each."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SHARED

CORPUS = SHARED / "testdata" / "p1-dsmr_parser"
FACTS = SHARED / "DSMR-FACTS.md"


@dataclass(frozen=True)
class Sample:
    name: str
    data: bytes
    dialect: str  # meterkast's version/dialect name (obis.py)
    dsmr_spec: str  # attribute of dsmr_parser.telegram_specifications that dsmr_parser's tests use


# Which spec dsmr_parser's own tests parse each telegram with (test/test_parse_*.py).
_FILES = {
    "esy5q3da1004_v304": ("q3d", "Q3D"),
    "esy5q3db1024_v304": ("q3d", "Q3D"),
    "fluvius_v171": ("fluvius", "BELGIUM_FLUVIUS"),
    "fluvius_v171_alt": ("fluvius", "BELGIUM_FLUVIUS"),
    "iskra_ie": ("iskra-ie", "ISKRA_IE"),
    "sagemcom_t210_d_r": ("sagemcom-t210", "SAGEMCOM_T210_D_R"),
    "unpadded_crc": ("5", "V5"),
    "v2_2": ("2.2", "V2_2"),
    "v3": ("3", "V3"),
    "v4_2": ("4.2", "V4"),
    "v5": ("5", "V5"),
    "v5_eon_hu": ("eon-hu", "EON_HUNGARY"),
    "v5_two_mbus": ("5", "V5"),
}


def samples() -> list[Sample]:
    found = []
    for path in sorted(CORPUS.glob("*.txt")):
        dialect, spec = _FILES[path.stem]
        found.append(Sample(path.stem, path.read_bytes(), dialect, spec))
    return found


def facts_telegrams() -> dict[str, bytes]:
    """The CRC-carrying real telegrams quoted verbatim in DSMR-FACTS §1.6, by their heading."""
    text = FACTS.read_text(encoding="utf-8")
    section = text[text.index("### 1.6") : text.index("## 2.")]
    found = {}
    for heading, block in re.findall(r"\*\*(.+?)\*\*.*?```\n(.*?)```", section, re.S):
        lines = block.rstrip("\n").split("\n")
        if lines[0].startswith("/") and re.fullmatch(r"![0-9A-F]{4}", lines[-1]):
            found[heading] = ("\r\n".join(lines) + "\r\n").encode("ascii")
    return found


def by_name(name: str) -> Sample:
    return next(s for s in samples() if s.name == name)


def paths() -> list[Path]:
    return sorted(CORPUS.glob("*.txt"))
