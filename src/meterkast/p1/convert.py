"""From a decoded ``Telegram`` back to ``TelegramData``: the other half of ``decode(encode(x)) == x``.

The same ``specs.FIELDS`` table that tells the encoder which line shows which field tells this module
where to find each field; the OBIS table gives the unit the field is in (kWh, kW, V, A), and units
other dialects use for the same quantity are scaled (Sagemcom T210-D-R: Wh, W; ``formats.UNIT_SCALE``).

Rules it keeps:
- an M-Bus channel showing the emptied form (``(700101010000W)(00000000)``, no unit) gives
  ``value=None, capture_time=None``; one with no reading line at all gives that with ``awaiting_first``
  (an installed device that has sent no value yet, [P1-5.0.2 §7.3], ``data.py``);
- the resolution of a reading is the number of decimals it was sent with (F8(3,3) → 0.001);
- a value of the wrong kind for its field raises RecordError naming the OBIS code.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meterkast.errors import RecordError
from meterkast.p1.data import G4_G6_RESOLUTION, MbusChannel, TelegramData
from meterkast.p1.formats import decode_octets
from meterkast.p1.obis import BY_CODE
from meterkast.p1.specs import FIELDS
from meterkast.p1.telegram import MbusDevice, Telegram
from meterkast.p1.timestamps import EPOCH
from meterkast.p1.values import PowerFailure


def to_telegram_data(telegram: Telegram) -> TelegramData:
    """The TelegramData a telegram shows (fields the telegram lacks stay None or empty)."""
    scalars: dict[str, Any] = {}
    phases: dict[str, dict[int, Any]] = {}
    for field in FIELDS:
        value = telegram.values.get(field.code)
        if value is None:
            continue
        converted = _field_value(field.code, value)
        if field.index is None:
            scalars[field.name] = converted
        else:
            phases.setdefault(field.name, {})[field.index] = converted
    for name, by_index in phases.items():
        scalars[name] = tuple(by_index[i] for i in range(len(by_index)) if i in by_index)
    channels = tuple(_channel(device) for device in telegram.mbus.values())
    return TelegramData(
        header=f"{telegram.header.flag}{telegram.header.baud}{telegram.header.ident}", mbus=channels, **scalars
    )


def _field_value(code: str, value: Any) -> Any:
    obj = BY_CODE[code]
    if code == "1-0:99.97.0":
        if not isinstance(value, tuple) or not all(isinstance(v, PowerFailure) for v in value):
            raise RecordError(f"{code}: expected a power failure log, got {value!r}")
        return value
    if obj.fmt is None:
        raise RecordError(f"{code} has no format in the OBIS table")
    try:
        return obj.fmt.from_value(value, obj.unit)
    except RecordError as exc:
        raise RecordError(f"{code}: {exc.reason}") from exc


def _channel(device: MbusDevice) -> MbusChannel:
    reading = device.reading
    raw_id = device.equipment_id
    value: Decimal | None = None
    capture = None
    unit = "m3"
    resolution = G4_G6_RESOLUTION
    if reading is not None and not _emptied(reading.time, reading.value, reading.unit):
        value, capture = reading.value, reading.time
        unit = reading.unit or unit
        resolution = Decimal(1).scaleb(int(reading.value.as_tuple().exponent))
    return MbusChannel(
        device.channel,
        device_type=device.device_type if device.device_type is not None else 0,
        equipment_id=decode_octets(raw_id) if raw_id else "",
        value=value,
        capture_time=capture,
        unit=unit,
        resolution=resolution,
        valve=device.valve,
        awaiting_first=reading is None,
    )


def _emptied(time: object, value: Decimal, unit: str | None) -> bool:
    return unit is None and value == 0 and (time is None or time == EPOCH)
