"""dsmr_parser as a P1 consumer: its asyncio TCP reader through a situation, its telegrams as records.

The adapter reports what dsmr_parser offers, read the plain way (docs/conformance.md, "dsmr_parser"):
the named registers; the gas value from ``HOURLY_GAS_METER_READING`` and ``EQUIPMENT_IDENTIFIER_GAS``
where the version's specification has them (V4), else (V5) from the first channel in ``MBUS_DEVICES``
whose device type is 3; water from the first channel whose device type is 7. Identifiers are decoded
from hex to text. Values go through as dsmr_parser gives them (no filtering of its own).
"""

from __future__ import annotations

import asyncio
from typing import Any

from dsmr_parser.clients.protocol import create_tcp_dsmr_reader

from meterkast.clock import SimClock
from meterkast.conformance.play import Played
from meterkast.conformance.records import Record
from meterkast.conformance.serve import serve_situation
from meterkast.conformance.situations import ENCRYPTION_KEY_HEX, SMARTY_AUTHENTICATION_KEY_HEX, Situation
from meterkast.io.p1_server import InstantPacer, P1Server

REGISTERS = {
    "import_t1_kwh": "ELECTRICITY_USED_TARIFF_1", "import_t2_kwh": "ELECTRICITY_USED_TARIFF_2",
    "export_t1_kwh": "ELECTRICITY_DELIVERED_TARIFF_1", "export_t2_kwh": "ELECTRICITY_DELIVERED_TARIFF_2",
    "power_import_kw": "CURRENT_ELECTRICITY_USAGE", "power_export_kw": "CURRENT_ELECTRICITY_DELIVERY",
    "power_failures": "SHORT_POWER_FAILURE_COUNT", "long_power_failures": "LONG_POWER_FAILURE_COUNT",
}  # fmt: skip


def dsmr_version(situation: Situation) -> str:
    if situation.encrypted:
        return "MSn"  # the Luxembourg Smarty specification with general-global-cipher frames
    return "5" if situation.version == "5" else "4"


def _text(hex_id: Any) -> str | None:
    try:
        return bytes.fromhex(str(hex_id)).decode("ascii") or None
    except ValueError:
        return str(hex_id)


def _device_type(device: Any) -> int | None:
    for name in ("MBUS_DEVICE_TYPE", "DEVICE_TYPE"):
        obj = getattr(device, name, None)
        if obj is not None:
            return int(obj.value)
    return None


def _reading(record: Record, prefix: str, reading: Any, identifier: Any) -> None:
    if identifier is not None and (text := _text(identifier.value)):
        record[f"{prefix}_id"] = text
    if reading is not None and reading.value is not None:
        record[f"{prefix}_m3"] = str(reading.value)
        record[f"{prefix}_time"] = reading.datetime.isoformat()


def _channel(telegram: Any, kind: int) -> Any:
    return next((d for d in getattr(telegram, "MBUS_DEVICES", []) if _device_type(d) == kind), None)


def record(telegram: Any) -> Record:
    out: Record = {}
    stamp = getattr(telegram, "P1_MESSAGE_TIMESTAMP", None)
    if stamp is not None:
        out["timestamp"] = stamp.value.isoformat()
    ident = getattr(telegram, "EQUIPMENT_IDENTIFIER", None)
    if ident is not None and (text := _text(ident.value)):
        out["equipment_id"] = text
    for name, attr in REGISTERS.items():
        obj = getattr(telegram, attr, None)
        if obj is not None:
            out[name] = str(obj.value)
    tariff = getattr(telegram, "ELECTRICITY_ACTIVE_TARIFF", None)
    if tariff is not None:
        out["tariff"] = str(int(tariff.value))
    if _has_gas_fields(telegram):  # V4: the specification's own gas fields
        _reading(out, "gas", getattr(telegram, "HOURLY_GAS_METER_READING", None),
                 getattr(telegram, "EQUIPMENT_IDENTIFIER_GAS", None))
    elif (gas := _channel(telegram, 3)) is not None:
        _reading(out, "gas", *_device_values(gas))
    if (water := _channel(telegram, 7)) is not None:
        _reading(out, "water", *_device_values(water))
    return out


def _has_gas_fields(telegram: Any) -> bool:
    return hasattr(telegram, "HOURLY_GAS_METER_READING") or hasattr(telegram, "EQUIPMENT_IDENTIFIER_GAS")


def _device_values(device: Any) -> tuple[Any, Any]:
    """(reading, identifier) of one ``MBUS_DEVICES`` entry, under its V5 or V4 names."""
    reading = getattr(device, "MBUS_METER_READING", None) or getattr(device, "HOURLY_GAS_METER_READING", None)
    ident = getattr(device, "MBUS_EQUIPMENT_IDENTIFIER", None) or getattr(device, "EQUIPMENT_IDENTIFIER_GAS", None)
    return reading, ident


async def read_with_dsmr_parser(situation: Situation, played: list[Played]) -> list[Record]:
    """Serve ``played`` on a loopback port, read it with dsmr_parser's asyncio TCP reader until the server
    has sent everything and closed the connection; dsmr_parser's telegrams as records."""
    server = P1Server(None, InstantPacer(SimClock(played[0].at)))
    telegrams: list[Any] = []
    keys = {"encryption_key": ENCRYPTION_KEY_HEX, "authentication_key": SMARTY_AUTHENTICATION_KEY_HEX}
    _, port = await server.start_tcp("127.0.0.1", 0)
    try:
        _, protocol = await create_tcp_dsmr_reader(
            "127.0.0.1", port, dsmr_version(situation), telegrams.append, **(keys if situation.encrypted else {})
        )
        await server.wait_for_clients(1)
        await serve_situation(server, played, server.pacer)
    finally:
        await server.close()
    async with asyncio.timeout(30):  # a safety net only: the close above ends the connection
        await protocol.wait_closed()
    return [record(t) for t in telegrams]
