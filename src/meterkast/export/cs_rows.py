"""One row per stored reading: the schema of ``meterkast cs export`` (docs/cs.md, "Exports").

A reading is one gas profile entry as the central system stores it (SYSTEM C1): the connection's EAN,
the gas meter's equipment identifier, its M-Bus channel, the profile (interval = hourly, daily,
monthly), the entry's capture time on the profile grid, the register value in m³ [P3-4.2.2 §4.2.5],
the AMR profile status byte [P3-4.2.2 §4.2.5], and when the central system received it.
"""

from __future__ import annotations

from typing import Any

from meterkast.central.model import Reading
from meterkast.export.table import Column

CS_COLUMNS: tuple[Column, ...] = (
    Column("connection", "text", "the connection's 18-digit EAN code"),
    Column("gas_meter", "text", "the gas meter's equipment identifier (0-n:96.1.0)"),
    Column("channel", "int", "M-Bus channel 1..4 of the E-meter"),
    Column("period_type", "text", "profile: interval (hourly), daily or monthly"),
    Column("capture_time", "time", "the profile entry's clock, on the grid, UTC"),
    Column("value_m3", "decimal", "gas register at capture_time, m³, exact", 12, 3),
    Column("amr_status", "int", "AMR profile status byte, 0..255"),
    Column("log_time", "time", "when the central system received the reading, UTC"),
)


def reading_row(reading: Reading) -> dict[str, Any]:
    return {
        "connection": reading.connection.ean,
        "gas_meter": reading.gas_meter,
        "channel": reading.channel,
        "period_type": reading.period_type.value,
        "capture_time": reading.capture_time,
        "value_m3": reading.value_m3,
        "amr_status": int(reading.amr_status),
        "log_time": reading.log_time,
    }
