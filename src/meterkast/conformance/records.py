"""The record a P1 consumer should report per telegram, and readers of what consumers did report.

A record is a flat mapping of field name to text (docs/conformance.md, "The consumer report"):

==================  =================================================================  ============
field               from                                                               kind
==================  =================================================================  ============
timestamp           0-0:1.0.0, in UTC by its S/W flag [P1-4.2.2 §5.12 note]            time
equipment_id        0-0:96.1.1, decoded to text [P1-4.2.2 §5.5]                        text
import_t1_kwh …     1-0:1.8.1, 1-0:1.8.2, 1-0:2.8.1, 1-0:2.8.2 (``export_t2_kwh``)       number
tariff              0-0:96.14.0                                                        number
power_import_kw     1-0:1.7.0 (``power_export_kw``: 1-0:2.7.0)                          number
power_failures      0-0:96.7.21 (``long_power_failures``: 0-0:96.7.9)                  number
gas_m3, gas_time    0-n:24.2.1 of the house's gas meter (device type 3) [P1-4.2.2 §6.3]  number, time
gas_id              0-n:96.1.0 of that channel                                         text
water_m3 …          the same for the water meter (device type 7): water_time, water_id
==================  =================================================================  ============

An emptied channel (``0-n:24.2.1(700101010000W)(00000000)``, a decoupled device) and a channel without a
value line (a new meter before its first reading) have no value: the record leaves ``gas_m3`` and
``gas_time`` out. A consumer report may give ``null`` or
leave a field out for "no value"; ``0`` is a value.

Readers: ``from_json`` takes one consumer JSON object, either in this flat form or as ``meterkast p1
read --json`` prints it (OBIS codes and M-Bus channels), so meterkast's own reader is checked too;
``from_mqtt_states`` takes the JSON state payloads meterkast's MQTT bridge publishes (docs/mqtt.md);
``from_ha_states`` takes Home Assistant's ``GET /api/states`` list with an entity mapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from meterkast.errors import InvalidInput
from meterkast.p1.data import GAS, WATER, MbusChannel, TelegramData

Record = dict[str, str]

TIME, TEXT, NUMBER = "time", "text", "number"
FIELDS: dict[str, str] = {
    "timestamp": TIME, "equipment_id": TEXT,
    "import_t1_kwh": NUMBER, "import_t2_kwh": NUMBER, "export_t1_kwh": NUMBER, "export_t2_kwh": NUMBER,
    "tariff": NUMBER, "power_import_kw": NUMBER, "power_export_kw": NUMBER,
    "power_failures": NUMBER, "long_power_failures": NUMBER,
    "gas_m3": NUMBER, "gas_time": TIME, "gas_id": TEXT,
    "water_m3": NUMBER, "water_time": TIME, "water_id": TEXT,
}  # fmt: skip
_OBIS = {
    "timestamp": "0-0:1.0.0", "equipment_id": "0-0:96.1.1",
    "import_t1_kwh": "1-0:1.8.1", "import_t2_kwh": "1-0:1.8.2", "export_t1_kwh": "1-0:2.8.1",
    "export_t2_kwh": "1-0:2.8.2", "tariff": "0-0:96.14.0", "power_import_kw": "1-0:1.7.0",
    "power_export_kw": "1-0:2.7.0", "power_failures": "0-0:96.7.21", "long_power_failures": "0-0:96.7.9",
}  # fmt: skip


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _device(record: Record, prefix: str, channel: MbusChannel | None) -> None:
    if channel is None:
        return
    if channel.equipment_id:
        record[f"{prefix}_id"] = channel.equipment_id
    if channel.value is not None and channel.capture_time is not None:
        record[f"{prefix}_m3"] = str(channel.value)
        record[f"{prefix}_time"] = _time(channel.capture_time)


def truth(data: TelegramData, gas_channel: int | None) -> Record:
    """What a consumer should report for a telegram made from ``data``; ``gas_channel`` is the house's."""
    record: Record = {}
    if data.timestamp is not None:
        record["timestamp"] = _time(data.timestamp)
    for name in _OBIS:
        value = getattr(data, name, None)
        if name != "timestamp" and value is not None:
            record[name] = str(value)
    channels = {c.channel: c for c in data.mbus}
    _device(record, "gas", channels.get(gas_channel) if gas_channel is not None else None)
    _device(record, "water", next((c for c in data.mbus if c.device_type == WATER), None))
    return record


# -- reading consumer reports ---------------------------------------------------------------------------


def _text(value: Any, field: str, where: str) -> str | None:
    """A consumer's value as record text; None for "no value"."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):  # p1 read --json: {"value": ..., "unit": ...}
        return _text(value.get("value"), field, where)
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidInput(f"{where}: {field} is {value!r}, not a number, text or time")
    return str(value)


def _flat(obj: Mapping[str, Any], where: str) -> Record:
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    return {k: t for k, v in obj.items() if (t := _text(v, k, where)) is not None}


def _mbus_record(record: Record, prefix: str, device: Mapping[str, Any], where: str) -> None:
    if device.get("equipment_id"):
        record[f"{prefix}_id"] = str(device["equipment_id"])
    reading = device.get("reading")
    if isinstance(reading, dict) and reading.get("value") is not None and reading.get("time"):
        value = _text(reading["value"], f"{prefix}_m3", where)
        if value is not None and not str(reading["time"]).startswith("1970"):  # the emptied form
            record[f"{prefix}_m3"], record[f"{prefix}_time"] = value, str(reading["time"])


def _octets(text: str) -> str:
    """``p1 read --json`` keeps 0-0:96.1.1 as the meter sent it: hex octets [P1-4.2.2 §5.5]."""
    try:
        return bytes.fromhex(text).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return text


def _newest(devices: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The device whose reading is the most recent: a stale device keeps an old capture time."""
    def moment(device: Mapping[str, Any]) -> str:
        reading = device.get("reading")
        return str(reading.get("time") or "") if isinstance(reading, dict) else ""

    return max(devices, key=moment, default=None)


def _from_read_json(obj: Mapping[str, Any], where: str) -> Record:
    values = obj.get("values") or {}
    record: Record = {}
    for name, code in _OBIS.items():
        if (text := _text(values.get(code), name, where)) is not None:
            record[name] = _octets(text) if name == "equipment_id" else text
    mbus = obj.get("mbus") or {}
    for prefix, kind in (("gas", GAS), ("water", WATER)):
        devices = [d for _, d in sorted(mbus.items()) if isinstance(d, dict) and d.get("device_type") == kind]
        device = _newest(devices)
        if device is not None:
            _mbus_record(record, prefix, device, where)
    return record


def from_json(obj: Any, where: str = "report") -> Record:
    """One consumer record from a JSON object: the flat form, or ``p1 read --json`` output."""
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: a record must be a JSON object, not {type(obj).__name__}")
    if "values" in obj and "mbus" in obj:
        return _from_read_json(obj, where)
    return _flat(obj, where)


def number(text: str, field: str, where: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{where}: {field} {text!r} is not a number") from None


def moment(text: str, field: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{where}: {field} {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise InvalidInput(f"{where}: {field} {text!r} has no UTC offset")
    return value
