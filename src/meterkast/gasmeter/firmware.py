"""The two firmware parts (SYSTEM G6).

The legal (metrological) part must never change; the functional part (e.g. E-meter communication)
cannot be changed by the grid operator either. Both are frozen records; an update attempt is refused
with a reason and logged by the meter. The checksum is a CRC-32 over the image, shown with the version.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from meterkast.gasmeter.events import FirmwarePart

REFUSAL: dict[FirmwarePart, str] = {
    FirmwarePart.LEGAL: (
        "the legal (metrological) firmware may never change (SYSTEM G6, MID MI-002); "
        "a different legal version needs a new, certified meter"
    ),
    FirmwarePart.FUNCTIONAL: (
        "the functional firmware cannot be changed by the grid operator (SYSTEM G6); "
        "the meter accepts no firmware update over P2"
    ),
}


@dataclass(frozen=True, slots=True)
class Firmware:
    part: FirmwarePart
    version: str
    checksum: str

    @classmethod
    def from_image(cls, part: FirmwarePart, version: str, image: bytes) -> Firmware:
        return cls(part, version, f"{zlib.crc32(image):08X}")


def default_firmware(part: FirmwarePart, version: str) -> Firmware:
    """A stand-in image for the model: the checksum is that of a fixed label, stable across runs."""
    return Firmware.from_image(part, version, f"meterkast itron {part.value} firmware {version}".encode())
