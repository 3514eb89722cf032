"""pyMeterBus (a peer, never imported by the package) reads golden frames to the values we read.

pyMeterBus scales through floats (0.26 comes out as 0.2600000000000000088…), so numbers are compared
to 9 significant digits; its text and date renderings are compared as strings. Frames are chosen where
pyMeterBus is right and uses our units (it turns minutes into seconds, e.g. landis+gyr averaging
duration 7 min = 420 s, so that frame is left out).
"""

from __future__ import annotations

from decimal import Decimal

import meterbus
import pytest

from meterkast.mbus.application import VariableData, decode_telegram
from meterkast.mbus.records import DataRecord, IdleFiller
from tests.mbus.corpus import CORPUS, read_hex

FRAMES = ["itron_cyble_m-bus_v1.4_gas.hex", "kamstrup_382_005.hex", "EMU_EMU-Professional-375-M-Bus.hex",
          "abb_delta.hex"]


def close(ours: Decimal, theirs: Decimal) -> bool:
    return abs(ours - theirs) <= abs(ours) * Decimal("1e-9") + Decimal("1e-9")


@pytest.mark.parametrize("name", FRAMES)
def test_numeric_values_agree(name: str) -> None:
    raw = read_hex(CORPUS / "test-frames" / name)
    payload = decode_telegram(raw).payload
    assert isinstance(payload, VariableData)
    ours = [r for r in payload.records if not isinstance(r, IdleFiller)]
    theirs = meterbus.load(raw).records
    assert len(theirs) == len(ours)
    compared = 0
    for mine, peer in zip(ours, theirs, strict=True):
        if isinstance(mine, DataRecord) and isinstance(mine.value, Decimal) and isinstance(peer.value, Decimal):
            assert close(mine.value, peer.value), (name, mine, peer.value)
            compared += 1
    assert compared >= 2


def test_itron_gas_meter_text_and_date() -> None:
    raw = read_hex(CORPUS / "test-frames" / "itron_cyble_m-bus_v1.4_gas.hex")
    theirs = meterbus.load(raw).records
    payload = decode_telegram(raw).payload
    assert isinstance(payload, VariableData)
    ours = payload.records
    assert isinstance(ours[1], DataRecord) and ours[1].value == theirs[1].value
    assert isinstance(ours[2], DataRecord) and ours[2].value.isoformat()[:16] == theirs[2].value  # type: ignore[union-attr]
