"""One row per P1 telegram: the flat schema of ``p1 parse`` and ``p1 read`` with ``--format csv|parquet``.

The values are those ``p1.convert.to_telegram_data`` reads from any dialect (Wh/W scaled to kWh/kW),
objects from [P1-5.0.2 Table 6-3] / [P1-4.2.2 Table 5-3]: electricity registers 1-0:1.8.1/2,
1-0:2.8.1/2 F9(3,3) kWh, power 1-0:1.7.0/2.7.0 F5(3,3) kW, and per M-Bus channel n (1..4) the device
type 0-n:24.1.0, identifier 0-n:96.1.0, last value 0-n:24.2.1 with its unit and capture time (SYSTEM E1).
Decimals have scale 7, as many as any known dialect sends (EasyMeter Q3D: ``00064463.5481862*kWh``); a
value that still does not fit is left empty and named in ``problem``, never rounded. A telegram the
converter cannot read keeps its time, header and CRC flag, and says why in ``problem``.
"""

from __future__ import annotations

from typing import Any

from meterkast.errors import MeterkastError
from meterkast.export.table import Column, ExportError
from meterkast.p1.convert import to_telegram_data
from meterkast.p1.telegram import Telegram

MBUS_CHANNELS = (1, 2, 3, 4)  # [P1-5.0.2 §7.3]: up to four M-Bus devices
SCALE = 7  # decimals kept (Q3D sends seven)
ENERGY = 18  # digits: F9(3,3) registers with room for seven decimals
POWER = 14

P1_COLUMNS: tuple[Column, ...] = (
    Column("time", "time", "0-0:1.0.0 telegram time stamp, UTC (empty in DSMR 2.2)"),
    Column("header", "text", "identification line after '/'"),
    Column("crc_ok", "bool", "CRC-16 checked and right; false: values not verified; empty: no CRC (2.2)"),
    Column("equipment_id", "text", "0-0:96.1.1 E-meter identifier, plain text"),
    Column("import_t1_kwh", "decimal", "1-0:1.8.1 delivered to the client, tariff 1, kWh", ENERGY, SCALE),
    Column("import_t2_kwh", "decimal", "1-0:1.8.2 delivered to the client, tariff 2, kWh", ENERGY, SCALE),
    Column("export_t1_kwh", "decimal", "1-0:2.8.1 delivered by the client, tariff 1, kWh", ENERGY, SCALE),
    Column("export_t2_kwh", "decimal", "1-0:2.8.2 delivered by the client, tariff 2, kWh", ENERGY, SCALE),
    Column("tariff", "int", "0-0:96.14.0 tariff indicator"),
    Column("power_import_kw", "decimal", "1-0:1.7.0 actual power delivered, kW", POWER, SCALE),
    Column("power_export_kw", "decimal", "1-0:2.7.0 actual power received, kW", POWER, SCALE),
    *(
        column
        for n in MBUS_CHANNELS
        for column in (
            Column(f"mbus{n}_device_type", "int", f"0-{n}:24.1.0 device type (3 gas, 7 water, 4 heat)"),
            Column(f"mbus{n}_equipment_id", "text", f"0-{n}:96.1.0 equipment identifier, plain text"),
            Column(f"mbus{n}_value", "decimal", f"0-{n}:24.2.1 last value (empty: emptied channel)", ENERGY, SCALE),
            Column(f"mbus{n}_unit", "text", f"0-{n}:24.2.1 unit (m3, GJ)"),
            Column(f"mbus{n}_time", "time", f"0-{n}:24.2.1 capture time of the value, UTC"),
        )
    ),
    Column("problem", "text", "why a value is empty (wrong kind, more than 7 decimals), else empty"),
)


def telegram_row(telegram: Telegram) -> dict[str, Any]:
    """The row of one decoded telegram."""
    row: dict[str, Any] = {
        "time": telegram.timestamp,
        "header": str(telegram.header).lstrip("/"),
        "crc_ok": telegram.crc_ok,
    }
    try:
        data = to_telegram_data(telegram)
    except MeterkastError as exc:
        row["problem"] = str(exc)
        return row
    row.update(
        equipment_id=data.equipment_id,
        import_t1_kwh=data.import_t1_kwh,
        import_t2_kwh=data.import_t2_kwh,
        export_t1_kwh=data.export_t1_kwh,
        export_t2_kwh=data.export_t2_kwh,
        tariff=data.tariff,
        power_import_kw=data.power_import_kw,
        power_export_kw=data.power_export_kw,
    )
    for channel in data.mbus:
        n = channel.channel
        if n not in MBUS_CHANNELS:
            continue
        row[f"mbus{n}_device_type"] = channel.device_type
        row[f"mbus{n}_equipment_id"] = channel.equipment_id or None
        row[f"mbus{n}_value"] = channel.value
        row[f"mbus{n}_unit"] = channel.unit if channel.value is not None else None
        row[f"mbus{n}_time"] = channel.capture_time
    return _fitted(row)


def _fitted(row: dict[str, Any]) -> dict[str, Any]:
    """Empty every decimal its column cannot hold exactly, and say so in ``problem``."""
    problems = []
    for column in P1_COLUMNS:
        if column.kind == "decimal" and row.get(column.name) is not None:
            try:
                column.cell(row[column.name])
            except ExportError as exc:
                problems.append(str(exc))
                row[column.name] = None
    if problems:
        row["problem"] = "; ".join(problems)
    return row
