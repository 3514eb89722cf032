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

from meterkast.live.control import JSON, Control
from meterkast.supplier import IndexReading, supplier_view
from meterkast.supplier.invoice import parse_granularity


def _gas_meter(control: Control, channel: int) -> str:
    """The equipment id on ``channel`` now, or the channel's name while none is known."""
    for entry in control.state().get("emeter", {}).get("channels", []):
        if entry.get("channel") == channel and entry.get("equipment_id"):
            return str(entry["equipment_id"])
    return f"channel {channel}"


def supplier_for_profile(control: Control, args: dict[str, Any]) -> JSON:
    """The supplier view of profile ``kind`` on ``channel``, periods by ``by`` (reading, day or month)."""
    channel: int = args["channel"]
    meter = _gas_meter(control, channel)
    readings = [IndexReading(datetime.fromisoformat(e["clock"]), Decimal(e["value_m3"]), meter)
                for e in control.profile(args["kind"], channel) if e.get("value_m3") is not None]
    return supplier_view(readings, parse_granularity(args["by"], "query.by")).to_json()
