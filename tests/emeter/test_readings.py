from __future__ import annotations

from decimal import Decimal

import pytest

from meterkast.emeter import MbusDeviceIdentity, MbusReading
from meterkast.errors import InvalidInput
from tests.emeter.conftest import utc


def test_identity_from_meter_number_takes_last_8_serial_digits() -> None:
    identity = MbusDeviceIdentity.for_meter_number("G0001123456789012")
    assert identity.identification_number == 34567890
    assert identity.device_type == 3
    assert identity.manufacturer == "ITG"
    assert identity.equipment_identifier == "G0001123456789012"


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"manufacturer": "it"}, "3 capital letters"),
        ({"identification_number": 123456789}, "8 digits"),
        ({"version": 256}, "one byte"),
        ({"equipment_identifier": "G0001"}, "17 printable"),
    ],
)
def test_identity_rejects_bad_fields(fields: dict[str, object], words: str) -> None:
    base: dict[str, object] = {
        "manufacturer": "ITG",
        "identification_number": 1,
        "version": 0x40,
        "device_type": 3,
        "equipment_identifier": "G0001123456789012",
    }
    with pytest.raises(InvalidInput, match=words):
        MbusDeviceIdentity(**(base | fields))  # type: ignore[arg-type]


def test_reading_rules() -> None:
    MbusReading(Decimal("12.34"), utc(2024, 1, 1, 10), 0, Decimal("0.01"))
    with pytest.raises(InvalidInput, match="no time zone"):
        MbusReading(Decimal(1), utc(2024, 1, 1).replace(tzinfo=None), 0)
    with pytest.raises(InvalidInput, match="more digits"):
        MbusReading(Decimal("1.234"), utc(2024, 1, 1), 0, Decimal("0.01"))
    with pytest.raises(InvalidInput, match=r"0\.001"):
        MbusReading(Decimal(1), utc(2024, 1, 1), 0, Decimal("0.1"))
    with pytest.raises(InvalidInput, match="non-negative"):
        MbusReading(Decimal(-1), utc(2024, 1, 1), 0)
    with pytest.raises(InvalidInput, match="one byte"):
        MbusReading(Decimal(1), utc(2024, 1, 1), 256)
