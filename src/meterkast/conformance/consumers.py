"""Consumer reports that are not JSON lines: MQTT state messages and Home Assistant states (sans-I/O).

MQTT (docs/mqtt.md): the messages meterkast's bridge publishes, captured as ``mosquitto_sub -v`` prints
them, one ``<topic> <payload>`` per line. Each E-meter state (the one with ``time``, 0-0:1.0.0) starts a
telegram's record; the M-Bus device states after it add their channel's reading (``device_type`` 3: gas,
7: water; for two gas devices the one captured last, as ``records`` does). The node names are derived
from the identifiers (lower-cased), so identifiers cannot be compared: ``MQTT_UNCARRIED``.

Home Assistant: ``GET /api/states`` lists every entity's current state; ``--entity FIELD=ENTITY_ID``
says which entity holds which record field. A state is only the newest value, so the report is one
record, compared with the last intact telegram (``check(..., latest=True)``); ``unknown`` and
``unavailable`` are "no value".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meterkast.conformance.records import FIELDS, Record
from meterkast.errors import InvalidInput

MQTT_UNCARRIED = frozenset({"equipment_id", "gas_id", "water_id"})
_EMETER_KEYS = {
    "import_t1": "import_t1_kwh", "import_t2": "import_t2_kwh", "export_t1": "export_t1_kwh",
    "export_t2": "export_t2_kwh", "power_import": "power_import_kw", "power_export": "power_export_kw",
    "tariff": "tariff", "power_failures": "power_failures", "long_power_failures": "long_power_failures",
    "time": "timestamp",
}  # fmt: skip
_KINDS = {3: "gas", 7: "water"}
HA_NO_VALUE = frozenset({"unknown", "unavailable", ""})


def _payload(line: str, number: int, source: str) -> tuple[str, Any] | None:
    topic, _, text = line.strip().partition(" ")
    if not topic.endswith("/state"):
        return None
    try:
        return topic, json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{source} line {number}: the payload of {topic} is not JSON: {exc.msg}") from None


def from_mqtt_lines(lines: Iterable[str], source: str = "MQTT capture") -> list[Record]:
    """Per-telegram records from captured state messages (``<topic> <payload>`` lines)."""
    records: list[Record] = []
    captured: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        item = _payload(line, number, source)
        if item is None:
            continue
        topic, payload = item
        if not isinstance(payload, dict):
            raise InvalidInput(f"{source} line {number}: the state of {topic} is not a JSON object")
        if "time" in payload:
            records.append({f: str(payload[k]) for k, f in _EMETER_KEYS.items() if payload.get(k) is not None})
            captured = {}
            continue
        prefix = _KINDS.get(payload.get("device_type", -1))
        if prefix is None or not records or payload.get("reading") is None or not payload.get("captured"):
            continue
        when = str(payload["captured"])
        if when.startswith("1970") or when < captured.get(prefix, ""):
            continue  # the emptied form, or an older reading than a device already seen
        captured[prefix] = when
        records[-1][f"{prefix}_m3"], records[-1][f"{prefix}_time"] = str(payload["reading"]), when
    return records


def entity_map(pairs: Sequence[str]) -> dict[str, str]:
    """``["gas_m3=sensor.gas", …]`` → {field: entity id}; fields as in ``records.FIELDS``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, entity = pair.partition("=")
        if not sep or not entity:
            raise InvalidInput(f"--entity {pair!r}: give FIELD=ENTITY_ID, e.g. gas_m3=sensor.gas_meter_reading")
        if field not in FIELDS:
            raise InvalidInput(f"--entity {pair!r}: no field {field!r}; fields: {', '.join(FIELDS)}")
        mapping[field] = entity
    if not mapping:
        raise InvalidInput("a Home Assistant check needs at least one --entity FIELD=ENTITY_ID")
    return mapping


def from_ha_states(states: Any, mapping: Mapping[str, str], source: str = "Home Assistant") -> Record:
    """The one current record from ``GET /api/states`` (a JSON list of entity states)."""
    if not isinstance(states, list):
        raise InvalidInput(f"{source}: /api/states did not return a JSON list")
    by_id = {s.get("entity_id"): s for s in states if isinstance(s, dict)}
    record: Record = {}
    for field, entity in mapping.items():
        state = by_id.get(entity)
        if state is None:
            raise InvalidInput(f"{source}: no entity {entity!r} (for {field}) in /api/states")
        value = str(state.get("state", ""))
        if value not in HA_NO_VALUE:
            record[field] = value
    return record
