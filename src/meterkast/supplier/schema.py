"""JSON Schema of the supplier view (``SupplierView.to_json``), shared by the P4 API and the dashboard API.

Plain data, so that both OpenAPI documents describe the one shape ``invoice.py`` writes, and the tests of
both hold every answer to it. Every figure is a decimal string, never a JSON number (STYLE 13).
"""

from __future__ import annotations

from typing import Any

from meterkast.supplier.invoice import Granularity

JSON = dict[str, Any]


def _obj(properties: JSON) -> JSON:
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _decimal(what: str) -> JSON:
    return {"type": "string", "description": f"{what}, a decimal string (never a float)"}


ISO = {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset"}
TEXT = {"type": "string"}
FIGURES: JSON = {
    "metered_m3": _decimal("index difference in m³ as the register counts it (0 °C, the meter's assumed pressure)"),
    "corrected_m3": _decimal("metered × pressure factor: m³(n) at the legal air pressure (ACM, from 2015)"),
    "energy_mj": _decimal("corrected × calorific value, MJ"),
    "energy_kwh": _decimal("energy in kWh (MJ / 3.6)"),
}
PERIOD = _obj({
    "start": ISO, "end": ISO, "gas_meter": TEXT,
    "index_start_m3": _decimal("register at the start"), "index_end_m3": _decimal("register at the end"),
    "pressure_factor": _decimal("the factor in force at the start, 9 decimals shown"), **FIGURES,
})
TOTAL = {**_obj({"start": ISO, "end": ISO, "periods": {"type": "integer"}, **FIGURES}),
         "type": ["object", "null"], "description": "the whole range (exact sums, rounded once); null: no period"}
PARAMETER = _obj({
    "name": TEXT, "value": _decimal("the parameter"), "unit": TEXT, "source": {**TEXT, "description": "its citation"},
    "valid_from": {"type": ["string", "null"], "description": "from when it applies; null: always / before the next"},
})
SKIPPED = _obj({"start": ISO, "end": ISO, "gas_meter": TEXT, "reason": TEXT})
SUPPLIER_VIEW = {
    **_obj({
        "granularity": {"type": "string", "enum": [g.value for g in Granularity]},
        "parameters": {"type": "array", "items": PARAMETER},
        "rounding": TEXT,
        "periods": {"type": "array", "items": PERIOD},
        "total": TOTAL,
        "skipped": {"type": "array", "items": SKIPPED, "description": "stretches not invoiced, with the reason"},
    }),
    "description": "The supplier's view (SYSTEM G4; manual §9 Drukaanpassing): per period the metered volume, "
                   "the pressure-corrected volume and the energy, with the cited parameters",
}
