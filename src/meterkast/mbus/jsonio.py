"""A telegram as one JSON-able dict and back, for ``meterkast mbus decode/encode --json`` (EN 13757-3).

``to_json_dict(telegram)`` gives the link fields, the header and every record with its value as text
(Decimal as a string, never a float; dates ISO 8601; raw bytes and text as ``value_type`` says), its
unit, quantity, function, storage, tariff and subunit. Each record also carries its DIB and VIB as hex,
which is what ``from_json_dict`` uses (with ``value`` and ``value_type``) to rebuild the frame bytes:
the descriptive fields are for people and are ignored on the way back.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from meterkast.errors import CodecError, RecordError
from meterkast.mbus.application import (
    Alarm,
    ApplicationError,
    Payload,
    RawPayload,
    Telegram,
    VariableData,
    encode_telegram,
)
from meterkast.mbus.dif import decode_dib, encode_dib
from meterkast.mbus.fixed import FixedData
from meterkast.mbus.header import Header, LongHeader, ShortHeader, medium_name
from meterkast.mbus.records import (
    DataRecord,
    GlobalReadout,
    IdleFiller,
    Item,
    ManufacturerData,
    Value,
)
from meterkast.mbus.vif import decode_vib, encode_vib

_VALUE_TYPES: dict[type, str] = {
    Decimal: "decimal", datetime: "datetime", date: "date", time: "time", str: "text", bytes: "hex",
    type(None): "none",
}


def to_json_dict(telegram: Telegram) -> dict[str, Any]:
    payload = telegram.payload
    out: dict[str, Any] = {"control": telegram.control, "address": telegram.address}
    if isinstance(payload, FixedData):
        out["ci"] = 0x73
        out["fixed"] = {
            "ident": payload.ident, "access": payload.access, "status": payload.status, "medium": payload.medium,
            "units": list(payload.units), "counters": list(payload.counters),
        }
        return out
    out["ci"] = payload.ci
    if isinstance(payload, ApplicationError):
        out["error"] = {"code": payload.code, "reason": payload.reason, "detail": payload.detail.hex()}
        return out
    out["header"] = _header_json(payload.header)
    if isinstance(payload, VariableData):
        if payload.encrypted:
            out["encrypted"] = payload.encrypted.hex()
        out["records"] = [_item_json(item) for item in payload.records]
    else:
        out["data"] = payload.data.hex()
        out["kind"] = "alarm" if isinstance(payload, Alarm) else "raw"
    return out


def _header_json(header: Header | None) -> dict[str, Any] | None:
    if header is None:
        return None
    base = {"access": header.access, "status": header.status, "configuration": header.configuration}
    if isinstance(header, ShortHeader):
        return base
    return {
        "ident": header.ident, "manufacturer": header.manufacturer, "version": header.version,
        "medium": header.medium, "medium_name": medium_name(header.medium), **base,
    }


def _item_json(item: Item) -> dict[str, Any]:
    if isinstance(item, IdleFiller):
        return {"type": "idle_filler"}
    if isinstance(item, GlobalReadout):
        return {"type": "global_readout"}
    if isinstance(item, ManufacturerData):
        return {"type": "manufacturer", "data": item.data.hex(), "more_records_follow": item.more_records_follow}
    m = item.meaning
    return {
        "type": "record", "dib": encode_dib(item.dib).hex(), "vib": encode_vib(item.vib).hex(),
        "value": _value_text(item.value), "value_type": _VALUE_TYPES[type(item.value)],
        "unit": m.unit, "quantity": m.quantity, "modifiers": list(m.modifiers),
        "function": item.function.value, "storage": item.storage, "tariff": item.tariff, "subunit": item.subunit,
    }


def _value_text(value: Value) -> str | None:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def from_json_dict(d: dict[str, Any]) -> bytes:
    """Frame bytes for a dict shaped like ``to_json_dict``'s output (extra keys are ignored)."""
    try:
        return encode_telegram(Telegram(int(d["control"]), int(d["address"]), _payload(d)))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        if isinstance(exc, CodecError):
            raise
        raise RecordError(f"JSON telegram is malformed: {exc!r}") from exc


def _payload(d: dict[str, Any]) -> Payload:
    ci = int(d["ci"])
    if "fixed" in d:
        f = d["fixed"]
        return FixedData(f["ident"], f["access"], f["status"], f["medium"], tuple(f["units"]), tuple(f["counters"]))
    if "error" in d:
        e = d["error"]
        return ApplicationError(ci, e.get("code"), bytes.fromhex(e.get("detail", "")))
    header = _header(d.get("header"))
    if "records" in d:
        records = tuple(_item(r) for r in d["records"])
        return VariableData(ci, header, records, bytes.fromhex(d.get("encrypted", "")))
    if d.get("kind") == "alarm":
        return Alarm(ci, header, bytes.fromhex(d["data"]))
    return RawPayload(ci, header, bytes.fromhex(d.get("data", "")))


def _header(h: dict[str, Any] | None) -> Header | None:
    if h is None:
        return None
    if "ident" not in h:
        return ShortHeader(h["access"], h["status"], h["configuration"])
    return LongHeader(h["ident"], h["manufacturer"], h["version"], h["medium"], h["access"], h["status"],
                      h["configuration"])


def _item(r: dict[str, Any]) -> Item:
    kind = r.get("type", "record")
    if kind == "idle_filler":
        return IdleFiller()
    if kind == "global_readout":
        return GlobalReadout()
    if kind == "manufacturer":
        return ManufacturerData(bytes.fromhex(r["data"]), bool(r.get("more_records_follow", False)))
    if kind != "record":
        raise RecordError(f"record type {kind!r} is not record, idle_filler, global_readout or manufacturer")
    dib_bytes, vib_bytes = bytes.fromhex(r["dib"]), bytes.fromhex(r["vib"])
    dib, end = decode_dib(dib_bytes, 0)
    vib, vend = decode_vib(vib_bytes, 0)
    if end != len(dib_bytes) or vend != len(vib_bytes):
        raise RecordError(f"record DIB {r['dib']!r} / VIB {r['vib']!r} has bytes left over")
    return DataRecord(dib, vib, _parse_value(r.get("value_type", "decimal"), r.get("value")))


def _parse_value(value_type: str, text: str | None) -> Value:  # noqa: PLR0911 - one return per value type
    if value_type == "none" or text is None:
        return None
    try:
        if value_type == "decimal":
            return Decimal(text)
        if value_type == "datetime":
            return datetime.fromisoformat(text)
        if value_type == "date":
            return date.fromisoformat(text)
        if value_type == "time":
            return time.fromisoformat(text)
    except (ValueError, InvalidOperation) as exc:
        raise RecordError(f"value {text!r} is not a valid {value_type}") from exc
    if value_type == "text":
        return text
    if value_type == "hex":
        return bytes.fromhex(text)
    raise RecordError(f"value_type {value_type!r} is not one of {sorted(set(_VALUE_TYPES.values()))}")
