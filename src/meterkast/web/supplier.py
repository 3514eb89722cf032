"""``/api/supplier/{kind}``: what the supplier invoices from the E-meter's gas profile (SYSTEM G4; manual §9).

The dashboard shows the supplier's side next to the meter: the same profile values the central system
reads over P3 and passes on over P4 (``p4/routes.py`` gives a supplier the same view), turned into
metered volume, pressure-corrected volume and energy by ``meterkast.supplier``. Entries without a
value (the meter had none at that capture) are passed over; their neighbours make a longer period.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from meterkast.errors import CommandRefused
from meterkast.live.control import JSON, Control
from meterkast.supplier import IndexReading, supplier_view
from meterkast.supplier.invoice import parse_granularity

GAS_DEVICE_TYPE = 3  # EN 13757-3; P1 0-n:24.1.0(003) [P1-4.2.2 Table 5-3]


def _channels(control: Control) -> list[JSON]:
    return list(control.state().get("emeter", {}).get("channels", []))


def _gas_channel(channels: list[JSON], asked: int | None) -> int:
    """The channel asked for, if it holds gas; without one, the first gas channel (1 while none is known).

    A water or heat meter may hang on any channel [P1-4.2.2 §6.3–6.5]; its register (m³ water, GJ) is no
    gas and gets no pressure correction or calorific value (SYSTEM G4), so it is refused, never invoiced.
    """
    if asked is None:
        return next((int(c["channel"]) for c in channels if c.get("device_type", GAS_DEVICE_TYPE) == GAS_DEVICE_TYPE),
                    1)
    entry = next((c for c in channels if c.get("channel") == asked), None)
    if entry is not None and entry.get("device_type", GAS_DEVICE_TYPE) != GAS_DEVICE_TYPE:
        kind = entry.get("kind") or f"device type {entry.get('device_type')}"
        raise CommandRefused(f"M-Bus channel {asked} holds a {kind} meter, not a gas meter: the supplier's view "
                             "(pressure correction, calorific value) is of gas only (SYSTEM G4)")
    return asked


def _gas_meter(channels: list[JSON], channel: int) -> str:
    """The equipment id on ``channel`` now, or the channel's name while none is known."""
    for entry in channels:
        if entry.get("channel") == channel and entry.get("equipment_id"):
            return str(entry["equipment_id"])
    return f"channel {channel}"


def supplier_for_profile(control: Control, args: dict[str, Any]) -> JSON:
    """The supplier view of profile ``kind`` on ``channel`` (default: the gas meter's), periods by ``by``."""
    channels = _channels(control)
    channel = _gas_channel(channels, args.get("channel"))
    meter = _gas_meter(channels, channel)
    readings = [IndexReading(datetime.fromisoformat(e["clock"]), Decimal(e["value_m3"]), meter)
                for e in control.profile(args["kind"], channel) if e.get("value_m3") is not None]
    return supplier_view(readings, parse_granularity(args["by"], "query.by")).to_json()
