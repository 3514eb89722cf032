"""The dashboard's JSON API as one table: each route with its parameters, its schemas and its Control call.

Rules this module keeps:
- every API route is one :class:`Operation` in ``ROUTES``, next to its request and response schemas;
  ``app.py`` builds the Starlette routes and ``openapi.py`` the OpenAPI document from this same table,
  so the two cannot drift (tests/web/test_openapi.py checks both directions);
- arguments are checked against their schemas here (types, enums, ranges, no unknown fields) and
  refused with ``InvalidInput`` (HTTP 400) before the Control sees them; the Control keeps the rules of
  the installation itself, and its ``InvalidInput``/``CommandRefused`` pass through (400/409);
- the valve route answers 409 with the meter's refusal: the meter always refuses (SYSTEM G12), and
  that refusal must be visible, so it is never dressed up as a success;
- ``/api/cs`` shows the central system next to the installation (``meterkast run --cs``, docs/cs.md):
  what it read and what it refused to read for want of consent (SYSTEM C2); without ``--cs`` it answers
  ``{"enabled": false}``, and a consent change answers 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from meterkast.errors import InvalidInput
from meterkast.live.control import JSON, MAX_JUMP_S, Control
from meterkast.supplier.invoice import Granularity
from meterkast.supplier.schema import SUPPLIER_VIEW
from meterkast.web.schema import check
from meterkast.web.supplier import supplier_for_profile

Args = dict[str, Any]


def obj(properties: JSON, required: list[str] | None = None, *, closed: bool = False) -> JSON:
    schema: JSON = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if closed:
        schema["additionalProperties"] = False
    return schema


def arr(items: JSON) -> JSON:
    return {"type": "array", "items": items}


def text(description: str = "") -> JSON:
    return {"type": "string", "description": description} if description else {"type": "string"}


def maybe(schema: JSON) -> JSON:
    """``schema`` or JSON null."""
    names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {**schema, "type": [*names, "null"]}


ISO = {"type": "string", "description": "ISO 8601 with offset"}
DECIMAL = {"type": "string", "description": "a decimal number as a string (a reading is never a float)"}
ANY_OBJECT: JSON = {"type": "object"}

LCD = obj(
    {
        "text": text("the 8 cells with their decimal points, e.g. '00391.391'; spaces for dark cells"),
        "segments": {"type": "object", "description": "symbol segments by name (arrow, triangle, unit_m3...)"},
    },
    ["text", "segments"],
)
GAS_METER = obj(
    {
        "meter_number": text("17 characters: KIWA code, serial, year (SYSTEM G13)"),
        "type": text(),
        "index_m3": DECIMAL,
        "lcd": LCD,
        "display_state": text(),
        "battery": obj({"fraction": {"type": "number"}, "low": {"type": "boolean"}, "empty": {"type": "boolean"}},
                       ["fraction", "low", "empty"]),
        "seal_broken": {"type": "boolean"},
        "valve": text(),
        "alarm": {"type": "boolean"},
        "flowing": {"type": "boolean"},
        "flow_regime": text("still, below-start, below-qmin, legal or above-qmax (SYSTEM G1, EN 1359 §5.3)"),
        "starting_flow_m3h": DECIMAL,
        "display_locked_until": maybe(ISO),
        "firmware": obj({"legal": obj({"version": text(), "checksum": text()}, ["version", "checksum"]),
                         "functional": obj({"version": text()}, ["version"])}, ["legal", "functional"]),
        "nameplate": ANY_OBJECT,
    },
    ["meter_number", "type", "index_m3", "lcd", "display_state", "battery", "seal_broken", "valve", "alarm",
     "flowing", "firmware", "nameplate"],
)
CHANNEL = obj(
    {"channel": {"type": "integer"}, "equipment_id": maybe(text()), "value_m3": maybe(DECIMAL),
     "capture_time": maybe(ISO),
     # which M-Bus device (manual §8): 0-n:24.1.0, its kind and the unit of value_m3 (m3 gas/water, GJ heat)
     "device_type": {"type": "integer"}, "kind": maybe(text()), "unit": text()},
    ["channel", "equipment_id", "value_m3", "capture_time"],
)
EVENT = obj(
    {"seq": {"type": "integer"}, "at": ISO, "source": text(), "kind": text(),
     "detail": {"description": "what happened, as text or an object"}},
    ["seq", "at", "source", "kind", "detail"],
)
STATE = obj(
    {
        "clock": obj({"now": ISO, "local": ISO, "speed": maybe({"type": "number"})}, ["now", "local", "speed"]),
        "gas_meter": maybe(GAS_METER),  # null while no gas meter is coupled
        "emeter": obj({"id": text(), "channels": arr(CHANNEL), "power_kw": {"type": ["string", "number", "null"]}},
                      ["id", "channels"]),
        "p1": obj({"version": text(), "port": maybe({"type": "integer"}), "last_telegram": maybe(text()),
                   "crc_ok": maybe({"type": "boolean"})}, ["version", "port", "last_telegram", "crc_ok"]),
        "truth": obj({"last_hour": maybe(obj({"hour": ISO, "consumed_m3": DECIMAL}, ["hour", "consumed_m3"])),
                      "total_m3": DECIMAL}, ["last_hour", "total_m3"]),
        "events": arr(EVENT),
    },
    ["clock", "gas_meter", "emeter", "p1", "truth", "events"],
)
PROFILE_ENTRY = obj(
    {"clock": ISO, "capture_time": maybe(ISO), "value_m3": maybe(DECIMAL), "status": arr(text())},
    ["clock", "capture_time", "value_m3", "status"],
)
TELEGRAM = obj(
    {"seq": {"type": "integer"}, "at": ISO, "text": text("the telegram from '/' to the CRC line"),
     "crc_ok": maybe({"type": "boolean"})},
    ["seq", "at", "text", "crc_ok"],
)
TRUTH_HOUR = obj(
    {"hour": ISO, "consumed_m3": maybe(DECIMAL), "index_m3": maybe(DECIMAL), "p1_value_m3": maybe(DECIMAL)},
    ["hour", "consumed_m3", "index_m3", "p1_value_m3"],
)
ERROR = obj({"error": text("the error's class, e.g. InvalidInput"), "message": text()}, ["error", "message"])
VALVE_REFUSAL = obj(
    {**ERROR["properties"], "refusal": {"type": "object", "description": "what the Control returned"}},
    ["error", "message", "refusal"],
)

CONSENT_LEVELS = ["none", "standard", "detailed"]  # SYSTEM C2, central.model.ConsentLevel
CONSENT_LEVEL = {"type": "string", "enum": CONSENT_LEVELS}
CS_READ = obj(
    {"at": ISO, "emeter": text(), "connection": text("EAN"),
     "period_type": text("monthly, daily or interval (hourly)"), "channel": {"type": "integer"},
     "gas_meter": text(), "first": ISO, "last": ISO, "planned": {"type": "integer"},
     "stored": {"type": "integer", "description": "rows new to the store"}, "repeated": {"type": "integer"},
     "unavailable": {"type": "integer", "description": "planned instants the meter had no value for"}},
    ["at", "period_type", "channel", "first", "last", "planned", "stored", "repeated", "unavailable"],
)
CS_REFUSAL = obj(
    {"connection": text("EAN"), "emeter": text(), "period_type": text(), "consent": CONSENT_LEVEL,
     "required": CONSENT_LEVEL, "first_at": ISO, "last_at": ISO,
     "times": {"type": "integer", "description": "rounds in a row this read was refused"}},
    ["period_type", "consent", "required", "first_at", "last_at", "times"],
)
CS_ALARM = obj(
    {"id": {"type": "integer"}, "emeter": text(), "channel": maybe({"type": "integer"}), "kind": text(),
     "raised_at": ISO, "acknowledged_at": maybe(ISO)},
    ["id", "emeter", "channel", "kind", "raised_at", "acknowledged_at"],
)
CS_STATS = obj(
    {name: {"type": "integer"} for name in ("steps", "rounds", "contacts", "failures", "profile_reads",
                                            "rows_stored", "rows_repeated", "unavailable", "refusals",
                                            "alarms_raised", "alarms_closed", "filing_errors")},
    ["contacts", "failures", "profile_reads", "rows_stored", "refusals"],
)
CS_PROPERTIES: JSON = {
    "enabled": {"type": "boolean", "description": "false: no central system runs (start with meterkast run --cs)"},
    "p3": text("where the CS reads the E-meter, tcp://host:port"),
    "store": text("the CS store (password redacted)"),
    "emeter": text(), "connection": text("EAN"),
    "consent": {**CONSENT_LEVEL, "description": "the consent in force now (SYSTEM C2)"},
    "consent_history": arr(obj({"level": CONSENT_LEVEL, "valid_from": ISO}, ["level", "valid_from"])),
    "now": maybe(ISO), "next_round": ISO,
    "stats": CS_STATS,
    "last_reads": {**arr(CS_READ), "description": "profile reads, newest first"},
    "refused": {**arr(CS_REFUSAL), "description": "reads refused for want of consent, newest first"},
    "refused_total": {"type": "integer"},
    "open_alarms": arr(CS_ALARM),
    "meters": arr(ANY_OBJECT),
    "p3_server": obj({"connections": {"type": "integer"}, "apdus": {"type": "integer"},
                      "replies": {"type": "integer"}}),
    "last_filing_error": maybe(text("what the store refused of the meter's answer, last time")),
}
CS_STATUS = obj(CS_PROPERTIES, ["enabled"])  # without --cs: {"enabled": false} and nothing else
CS_RUNNING = obj(CS_PROPERTIES, ["enabled", "p3", "emeter", "connection", "consent", "consent_history", "stats",
                                 "last_reads", "refused", "refused_total", "open_alarms"])
CONSENT = obj({"connection": text("EAN"), "level": CONSENT_LEVEL, "valid_from": ISO},
              ["connection", "level", "valid_from"])

FAULTS = ["p2_no_reply", "p2_flip_bit", "p2_wrong_key", "p1_crc_error", "p1_truncate"]
PROFILE_KINDS = ["hourly", "daily", "monthly"]
AFTER_SEQ_DOC = "only entries with a higher seq (for polling)"


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    schema: JSON
    description: str
    required: bool = True
    default: Any = None


@dataclass(frozen=True, slots=True)
class Operation:
    method: Literal["GET", "POST"]
    path: str
    operation_id: str
    tag: str
    summary: str
    call: Callable[[Control, Args], Any]
    response: JSON
    path_params: tuple[Param, ...] = ()
    query: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()
    status: int = 200
    description: str = ""

    @property
    def body_schema(self) -> JSON:
        return obj({p.name: {**p.schema, "description": p.description} for p in self.body},
                   [p.name for p in self.body if p.required], closed=True)

    def arguments(self, path: dict[str, str], query: dict[str, str], body: Any) -> Args:
        """The checked arguments of one request; raises ``InvalidInput`` naming the bad one."""
        args: Args = {}
        for p in self.path_params:
            args[p.name] = check(_from_text(path[p.name], p, "path"), p.schema, f"path.{p.name}")
        for p in self.query:
            if p.name in query:
                args[p.name] = check(_from_text(query[p.name], p, "query"), p.schema, f"query.{p.name}")
            else:
                args[p.name] = p.default
        if not self.body:
            return args
        check(body, self.body_schema, "body")
        for p in self.body:
            args[p.name] = body.get(p.name, p.default)
        return args


def _from_text(raw: str, param: Param, where: str) -> Any:
    if param.schema.get("type") != "integer":
        return raw
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{where}.{param.name} is {raw!r}; expected an integer") from None


def _valve(control: Control, args: Args) -> JSON:
    refusal = control.command_valve(args["action"])
    reason = next((refusal[k] for k in ("reason", "message", "detail") if isinstance(refusal.get(k), str)), None)
    message = reason or "the gas meter refused the valve command (SYSTEM G12)"
    return {"error": "ValveOperationRefused", "message": message, "refusal": refusal}


AFTER_SEQ = Param("after_seq", {"type": "integer", "minimum": 0}, AFTER_SEQ_DOC, required=False, default=0)

ROUTES: tuple[Operation, ...] = (
    Operation(
        "GET", "/api/state", "getState", "installation", "Everything the dashboard shows now",
        lambda c, a: c.state(), STATE,
    ),
    Operation(
        "GET", "/api/emeter/profiles/{kind}", "getProfile", "emeter",
        "The E-meter's gas profile (hourly 10 days, daily 40 days, monthly 13 months), oldest first",
        lambda c, a: c.profile(a["kind"], a["channel"]), arr(PROFILE_ENTRY),
        path_params=(Param("kind", {"type": "string", "enum": PROFILE_KINDS}, "which profile"),),
        query=(Param("channel", {"type": "integer", "minimum": 1, "maximum": 4}, "M-Bus channel",
                     required=False, default=1),),
    ),
    Operation(
        "GET", "/api/events", "getEvents", "installation", "Events above after_seq, oldest first",
        lambda c, a: c.events(a["after_seq"]), arr(EVENT), query=(AFTER_SEQ,),
    ),
    Operation(
        "GET", "/api/p1/telegrams", "getTelegrams", "p1",
        "Recent P1 telegrams above after_seq, each with its CRC verdict (a bounded window)",
        lambda c, a: c.telegrams(a["after_seq"]), arr(TELEGRAM), query=(AFTER_SEQ,),
    ),
    Operation(
        "GET", "/api/truth", "getTruth", "installation",
        "Ground truth per simulated hour beside what the P1 stream showed, newest last",
        lambda c, a: c.truth(a["hours"]), arr(TRUTH_HOUR),
        query=(Param("hours", {"type": "integer", "minimum": 1, "maximum": 24 * 400}, "how many hours back",
                     required=False, default=48),),
    ),
    Operation(
        "POST", "/api/meter/button", "pressButton", "gas meter",
        "Press the red button for hold_s seconds (above 10 s: long press, test mode; SYSTEM G7, G8)",
        lambda c, a: c.press_button(float(a["hold_s"])), ANY_OBJECT,
        body=(Param("hold_s", {"type": "number", "minimum": 0, "maximum": 3600}, "how long the button is held",
                    required=False, default=0.2),),
    ),
    Operation(
        "POST", "/api/meter/seal/break", "breakSeal", "gas meter",
        "Break the seal at the side of the display: alarm to the grid operator, triangle on the LCD (G11)",
        lambda c, a: c.break_seal(), ANY_OBJECT,
    ),
    Operation(
        "POST", "/api/meter/seal/restore", "reseal", "gas meter", "The grid operator reseals the meter (G11)",
        lambda c, a: c.reseal(a["operator"]), ANY_OBJECT,
        body=(Param("operator", {"type": "string", "minLength": 1}, "the grid operator's name"),),
    ),
    Operation(
        "POST", "/api/meter/valve", "commandValve", "gas meter",
        "Command the valve: always refused, 409 with the meter's refusal (SYSTEM G12)",
        _valve, VALVE_REFUSAL, status=409,
        body=(Param("action", {"type": "string", "enum": ["open", "close", "release"]}, "valve action"),),
    ),
    Operation(
        "POST", "/api/meter/gas-temperature", "setGasTemperature", "gas meter",
        "Override the gas temperature (null: back to the household's; SYSTEM G3)",
        lambda c, a: c.set_gas_temperature(a["celsius"]), ANY_OBJECT,
        body=(Param("celsius", {"type": ["number", "null"], "minimum": -40, "maximum": 70}, "gas temperature"),),
    ),
    Operation(
        "POST", "/api/meter/battery/drain", "drainBattery", "gas meter",
        "Take a fraction of the full capacity out of the battery (SYSTEM G10)",
        lambda c, a: c.drain_battery(float(a["fraction"])), ANY_OBJECT,
        body=(Param("fraction", {"type": "number", "minimum": 0, "maximum": 1}, "share of full capacity"),),
    ),
    Operation(
        "POST", "/api/clock/speed", "setSpeed", "clock",
        "Simulated seconds per real second (null: as fast as possible)",
        lambda c, a: c.set_speed(a["speed"]), ANY_OBJECT,
        body=(Param("speed", {"type": ["number", "null"], "exclusiveMinimum": 0}, "speed factor"),),
    ),
    Operation(
        "POST", "/api/clock/jump", "jumpClock", "clock",
        "Move simulated time forward; the installation catches up at once",
        lambda c, a: c.jump_clock(float(a["seconds"])), ANY_OBJECT,
        body=(Param("seconds", {"type": "number", "minimum": 0, "maximum": MAX_JUMP_S},
                    "how far forward, at most 31 days per request (the catch-up runs on the server's loop)"),),
    ),
    Operation(
        "POST", "/api/faults", "injectFault", "faults",
        "Inject a fault: probabilities for p2_no_reply, p2_flip_bit, p1_crc_error, p1_truncate; "
        "a boolean for p2_wrong_key; 0 or false clears it",
        lambda c, a: c.inject_fault(a["kind"], a["value"]), ANY_OBJECT,
        body=(
            Param("kind", {"type": "string", "enum": FAULTS}, "which fault"),
            Param("value", {"type": ["number", "boolean"], "minimum": 0, "maximum": 1},
                  "probability per exchange or telegram, or on/off", required=False, default=True),
        ),
    ),
    Operation(
        "GET", "/api/cs", "getCentralSystem", "central system",
        "The central system reading the E-meter over P3 (meterkast run --cs): consent in force, last reads, "
        "rows stored, reads refused for want of consent, open alarms; {\"enabled\": false} without --cs",
        lambda c, a: c.cs_status(), CS_STATUS,
    ),
    Operation(
        "POST", "/api/cs/consent", "setConsent", "central system",
        "The customer's new consent, in force from now on, never backdated (SYSTEM C2); 409 without --cs",
        lambda c, a: c.set_consent(a["level"]), CONSENT,
        body=(Param("level", CONSENT_LEVEL, "none: no consumption data; standard: monthly; "
                    "detailed: daily and hourly too"),),
    ),
    Operation(
        "GET", "/api/supplier/{kind}", "getSupplierView", "supplier",
        "What the supplier invoices from a gas profile: per period metered m³, m³(n) at the legal air pressure "
        "(1015.5 mbar from 2015), energy in MJ and kWh, with the cited parameters (SYSTEM G4; manual §9)",
        supplier_for_profile, SUPPLIER_VIEW,
        path_params=(Param("kind", {"type": "string", "enum": PROFILE_KINDS}, "which profile"),),
        query=(Param("channel", {"type": "integer", "minimum": 1, "maximum": 4},
                     "M-Bus channel (default: the gas meter's; a water or heat meter's is refused, 409)",
                     required=False),
               Param("by", {"type": "string", "enum": [g.value for g in Granularity]},
                     "period boundaries: every reading, local midnight, or the 1st of the month",
                     required=False, default="reading")),
    ),
)
