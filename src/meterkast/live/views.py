"""JSON views of the live installation, for the control surface that ``live.session.LiveSession`` serves.

Rules this module keeps:
- ``meterkast.jsonable`` conventions: Decimals as strings, instants ISO 8601 with offset;
- functions only, no state and no I/O: the session owns what is shown, these only shape it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.emeter import EMeter
from meterkast.errors import InvalidInput
from meterkast.gasmeter.identity import CeMarking, CertificateNumber
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import flow_regime
from meterkast.jsonable import to_jsonable
from meterkast.live.control import JSON
from meterkast.live.store import EventRecord
from meterkast.mbus.device_kinds import BY_DEVICE_TYPE, unit_for_device_type
from meterkast.sim.gaslink import GasMeterEvent
from meterkast.sim.installation import ZONE, CommandFailed, Event, Installation


def clock_json(now: datetime, speed: float | None) -> JSON:
    return {"now": now.isoformat(), "local": now.astimezone(ZONE).isoformat(), "speed": speed}


def event_record(seq: int, event: Event) -> EventRecord:
    if isinstance(event, GasMeterEvent):
        inner = event.event
        detail = {"channel": event.channel, "meter_number": event.meter_number, **_fields(inner)}
        return EventRecord(seq, event.at, "gas_meter", type(inner).__name__, detail)
    source = "installation" if isinstance(event, CommandFailed) else "e_meter"
    return EventRecord(seq, event.at, source, type(event).__name__, _fields(event))


def _fields(event: object) -> dict[str, Any]:
    return {f.name: to_jsonable(getattr(event, f.name)) for f in dataclasses.fields(event) if f.name != "at"}  # type: ignore[arg-type]


def gas_meter_json(meter: GasMeter, now: datetime) -> JSON:
    frame = meter.frame(now)
    segments = {"arrow": frame.arrow, "triangle": frame.triangle, "unit_m3": frame.unit_m3, "lit": frame.lit}
    nameplate = {
        f.name: str(value) if isinstance(value, CeMarking | CertificateNumber) else to_jsonable(value)
        for f in dataclasses.fields(meter.nameplate)
        if (value := getattr(meter.nameplate, f.name)) is not None
    }
    return {
        "meter_number": str(meter.meter_number),
        "type": meter.meter_type.value,
        "index_m3": str(meter.index_m3),
        "lcd": {"text": frame.text(), "segments": segments, "cells": frame.cells, "dots": sorted(frame.dots)},
        "display_state": meter.display_state.value,
        "battery": {
            "fraction": meter.battery.remaining_percent / 100,
            "low": meter.battery.is_low,
            "empty": meter.battery.is_empty,
        },
        "seal_broken": meter.seal_broken,
        "valve": meter.valve.name.lower(),
        "alarm": meter.alarm,
        "flowing": meter.flowing,
        "flow_m3h": str(meter.flow_m3h),
        # SYSTEM G1, EN 1359 §5.3: below Qmin the meter counts down to its starting flow (issue 11 item 3).
        "flow_regime": flow_regime(meter.metrology, meter.flow_m3h).value,
        "starting_flow_m3h": str(meter.metrology.starting_flow_m3h),
        # SYSTEM G7: a lockout lasts one Dutch local day (gasmeter/display_day.py, issue 11 item 4).
        "display_locked_until": None if meter.display_locked_until is None else meter.display_locked_until.isoformat(),
        "gas_temp_c": str(meter.gas_temp_c),
        "faults": sorted(f.value for f in meter.faults),
        "firmware": {
            "legal": {"version": meter.legal_firmware.version, "checksum": meter.legal_firmware.checksum},
            "functional": {
                "version": meter.functional_firmware.version,
                "checksum": meter.functional_firmware.checksum,
            },
        },
        "nameplate": {**nameplate, "lines": meter.nameplate.lines()},
    }


def emeter_json(installation: Installation) -> JSON:
    emeter = installation.emeter
    out: JSON = {"id": emeter.equipment_id, "powered": emeter.powered, "channels": [], "power_kw": None}
    if not emeter.powered:
        return out
    view = emeter.p1_view(installation.now)
    out["channels"] = [
        {
            "channel": c.channel,
            "equipment_id": c.equipment_id or None,
            "value_m3": None if c.value_m3 is None else str(c.value_m3),
            "capture_time": None if c.capture_time is None else c.capture_time.isoformat(),
            **device_json(c.device_type),
        }
        for c in view.mbus
    ]
    return out | {
        "power_kw": str(view.power_import_kw - view.power_export_kw),
        "power_import_kw": str(view.power_import_kw),
        "power_export_kw": str(view.power_export_kw),
        "import_kwh": [str(v) for v in view.import_kwh],
        "export_kwh": [str(v) for v in view.export_kwh],
        "tariff": view.tariff,
        "local_time": view.timestamp.isoformat(),
    }


def _flags(status: AmrStatus) -> list[str]:
    return [flag.name for flag in AmrStatus if flag & status and flag.name is not None]


def profile_json(emeter: EMeter, kind: str, channel: int) -> list[JSON]:
    if kind == "hourly":
        return [
            {"clock": e.clock.isoformat(), "capture_time": e.capture_time.isoformat(), "value_m3": str(e.value_m3),
             "status": _flags(e.status)}
            for e in emeter.hourly_profile(channel)
        ]
    if kind not in ("daily", "monthly"):
        raise InvalidInput(f"profile {kind!r} is not one of hourly, daily, monthly")
    entries = emeter.daily_profile if kind == "daily" else emeter.monthly_profile
    out = []
    for entry in entries:
        value = entry.channel(channel)
        out.append({
            "clock": entry.clock.isoformat(),
            "capture_time": None if value is None else value.capture_time.isoformat(),
            "value_m3": None if value is None else str(value.value_m3),
            "status": _flags(entry.status),
        })
    return out


def device_json(device_type: int) -> JSON:
    """Which kind of M-Bus device a channel carries: 0-n:24.1.0 and the unit of its value (manual §8,
    [P1-4.2.2 §6.3–6.5]); the value itself stays under ``value_m3`` for every kind."""
    kind = BY_DEVICE_TYPE.get(device_type)
    return {"device_type": device_type, "kind": kind.name if kind else None, "unit": unit_for_device_type(device_type)}


def gas_clock_json(installation: Installation) -> list[JSON]:
    """Per coupled gas meter: its clock against true time and the E-meter's, its drift, status bit 5, and
    the E-meter's last P2 synchronisation (DSMR-M 4.5.89; P2-4.0.7 §6.2.1, §6.2.4)."""
    emeter = installation.emeter
    e_clock = emeter.meter_time()
    out: list[JSON] = []
    for channel, meter in sorted(installation.gas_meters().items()):
        sync = emeter.mbus.channels[channel].clock
        now = installation.now
        out.append({
            "channel": channel,
            "meter_number": str(meter.meter_number),
            "drift_ppm": str(meter.clock.drift_ppm),
            "deviation_s": _seconds(meter.clock_offset),
            "vs_emeter_s": _seconds(meter.meter_time(now) - e_clock),
            "clock_sync_error": meter.clock_sync_error,
            "status": meter.status_byte(),
            "last_sync": None if sync.last_sync is None else sync.last_sync.isoformat(),
            "last_reason": None if sync.last_reason is None else sync.last_reason.value,
            "pending": None if sync.pending is None else sync.pending.value,
            "failures": sync.failures,
        })
    return out


def _seconds(delta: timedelta) -> str:
    return str(Decimal(delta // timedelta(microseconds=1)).scaleb(-6).quantize(Decimal("0.001")))
