"""The libmbus frame corpus (../shared/testdata/mbus-libmbus) and its normalised XML, for the tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import SHARED

CORPUS = SHARED / "testdata" / "mbus-libmbus"


def read_hex(path: Path) -> bytes:
    """Space-separated hex; tolerant of a one-digit token (unsupported-frames/manual_frame1 has ``D``)."""
    return bytes(int(token, 16) for token in path.read_text().split())


def golden_frames() -> list[Path]:
    return sorted((CORPUS / "test-frames").glob("*.hex"))


def bad_frames() -> list[Path]:
    return sorted((CORPUS / "error-frames").glob("*.hex")) + sorted((CORPUS / "unsupported-frames").glob("*.hex"))


@dataclass(frozen=True)
class LibmbusRecord:
    function: str
    storage: int
    tariff: int | None
    device: int | None
    unit: str
    quantity: str
    value: str


def _utf8(text: str) -> str:
    """libmbus declares ISO-8859-1 but writes UTF-8 (°C); undo the double decoding."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def libmbus_records(hex_path: Path) -> list[LibmbusRecord]:
    root = ET.parse(hex_path.with_suffix(".norm.xml")).getroot()
    out = []
    for rec in root.iter("DataRecord"):
        def text(tag: str, rec: ET.Element = rec) -> str | None:
            node = rec.find(tag)
            return None if node is None else _utf8(node.text or "")

        tariff, device = text("Tariff"), text("Device")
        out.append(LibmbusRecord(
            text("Function") or "", int(text("StorageNumber") or 0),
            None if tariff is None else int(tariff), None if device is None else int(device),
            text("Unit") or "", text("Quantity") or "", text("Value") or "",
        ))
    return out
