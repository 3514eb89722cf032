"""The P4 API as one table: each route with its role, fields, answers and the store call (SYSTEM C3).

Rules this module keeps:
- every route is one :class:`Operation` in ``ROUTES``; ``app.py`` builds the Starlette routes and
  ``openapi.py`` the OpenAPI document from this same table, so they cannot drift (tests/p4/test_openapi.py);
- the rules of P4 (token, authorisation, scope, period, revocation, meter number, history depth, consent,
  audit) are the store's (``meterkast.central``); a handler only picks the arguments and shapes the answer;
- handlers are synchronous (the store blocks on its database); ``app.py`` runs them in a worker thread;
- time and randomness come in through :class:`Call` (``now``, ``new_token``): a handler reads no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from meterkast.central.model import (
    AuditEntry,
    Authorisation,
    AuthScope,
    Connection,
    P4AccessRefused,
    P4Refusal,
    Reading,
)
from meterkast.central.store import Store
from meterkast.emeter.amr import AmrStatus
from meterkast.errors import InvalidInput
from meterkast.p4.customers import CustomerTokens
from meterkast.p4.errors import ApiRefusal
from meterkast.p4.fields import JSON, Field, choice, ean, header_text, instant, positive_int, text
from meterkast.supplier import IndexReading, supplier_view
from meterkast.supplier.schema import SUPPLIER_VIEW

METER_NUMBER_HEADER = "X-Meter-Number"


class Role(Enum):
    """Who may call a route, and how the bearer token is checked."""

    ADMIN = "adminToken"  # the grid operator: the token given at app creation
    CUSTOMER = "customerToken"  # the connection's customer: a token issued by the admin for that connection
    PARTY = "partyToken"  # a registered third party: checked by the store, which audits every attempt
    PUBLIC = "public"


class PartyKind(Enum):
    SUPPLIER = "supplier"
    INDEPENDENT = "independent"  # processes data on the customer's own instruction (SYSTEM, market parties)


@dataclass(frozen=True, slots=True)
class Call:
    """One request as a handler sees it: checked arguments, the instant, and the app's collaborators."""

    store: Store
    customers: CustomerTokens
    new_token: Callable[[], str]
    now: datetime
    args: dict[str, Any]
    bearer: str | None  # the party's token; None when absent or malformed
    bearer_problem: ApiRefusal | None  # why there is no usable bearer token


@dataclass(frozen=True, slots=True)
class Operation:
    method: Literal["GET", "POST", "DELETE"]
    path: str
    operation_id: str
    tag: str
    summary: str
    role: Role
    handler: Callable[[Call], Any]
    response: JSON
    fields: tuple[Field, ...] = ()
    status: int = 200
    errors: tuple[int, ...] = ()  # the error statuses this route answers with (documented, tested)
    description: str = ""


# ---- schemas ----------------------------------------------------------------------------------------------

ISO = {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset"}
EAN_SCHEMA = {"type": "string", "pattern": "^[0-9]{18}$", "description": "18-digit EAN code with GS1 check digit"}
SCOPES = [s.value for s in AuthScope]
SCOPE_SCHEMA = {"type": "string", "enum": SCOPES}


def obj(properties: JSON, required: list[str] | None = None) -> JSON:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def arr(items: JSON) -> JSON:
    return {"type": "array", "items": items}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
TOKEN_NOTE = "a bearer token, shown this once: only its SHA-256 is kept"
PARTY = obj({"party_id": STRING, "name": STRING, "kind": {"type": "string", "enum": [k.value for k in PartyKind]},
             "registered_at": ISO, "token": {**STRING, "description": TOKEN_NOTE},
             "token_type": {"type": "string", "enum": ["Bearer"]}})
CUSTOMER_TOKEN = obj({"connection": EAN_SCHEMA, "token": {**STRING, "description": TOKEN_NOTE},
                      "token_type": {"type": "string", "enum": ["Bearer"]}, "issued_at": ISO})
AUTHORISATION = obj({
    "authorisation_id": INTEGER, "party_id": STRING, "connection": EAN_SCHEMA, "scope": SCOPE_SCHEMA,
    "valid_from": ISO, "valid_to": ISO, "granted_at": ISO, "revoked_at": {"type": ["string", "null"]},
    "in_force": {**BOOLEAN, "description": "whether it allows access now"},
})
AUDIT_ENTRY = obj({
    "entry_id": INTEGER, "at": ISO, "party_id": {"type": ["string", "null"], "description": "null: unknown token"},
    "connection": STRING, "scope": SCOPE_SCHEMA, "data_from": ISO, "data_to": ISO, "granted": BOOLEAN,
    "reason": {**STRING, "description": "'granted', or why it was refused"}, "readings": INTEGER,
})
READING = obj({
    "capture_time": ISO, "value_m3": {"type": "string", "description": "m³ as a decimal string, never a float"},
    "gas_meter": STRING, "channel": INTEGER, "amr_status": INTEGER,
    "status": arr({"type": "string", "enum": [flag.name for flag in AmrStatus]}),
})
READINGS = obj({"connection": EAN_SCHEMA, "scope": SCOPE_SCHEMA, "from": ISO, "to": ISO, "readings": arr(READING),
                "supplier": {**SUPPLIER_VIEW, "description": "only to a supplier: " + SUPPLIER_VIEW["description"]}},
               ["connection", "scope", "from", "to", "readings"])
AUTHORISATIONS = obj({"connection": EAN_SCHEMA, "authorisations": arr(AUTHORISATION)})
AUDIT_LOG = obj({"connection": EAN_SCHEMA, "entries": arr(AUDIT_ENTRY)})


# ---- fields -------------------------------------------------------------------------------------------

EAN = Field("ean", "path", EAN_SCHEMA, "the connection (aansluiting)", ean)
FIELD_PARTY_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"


def _scope(value: str) -> AuthScope:
    return AuthScope(value)


def _kind(value: str) -> PartyKind:
    return PartyKind(value)


MAX_NAME = 200
SCOPE = "hourly (gas per hour, 10 days back), daily (40 days) or monthly (13 months)"


# ---- JSON answers ---------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def authorisation_json(auth: Authorisation, now: datetime) -> JSON:
    return {"authorisation_id": auth.authorisation_id, "party_id": auth.party_id, "connection": auth.connection.ean,
            "scope": auth.scope.value, "valid_from": _iso(auth.valid_from), "valid_to": _iso(auth.valid_to),
            "granted_at": _iso(auth.granted_at), "revoked_at": _iso(auth.revoked_at), "in_force": auth.in_force(now)}


def audit_json(entry: AuditEntry) -> JSON:
    return {"entry_id": entry.entry_id, "at": _iso(entry.at), "party_id": entry.party_id,
            "connection": entry.connection, "scope": entry.scope.value, "data_from": _iso(entry.data_from),
            "data_to": _iso(entry.data_to), "granted": entry.granted, "reason": entry.reason,
            "readings": entry.readings}


def reading_json(reading: Reading) -> JSON:
    status = AmrStatus(reading.amr_status)
    return {"capture_time": _iso(reading.capture_time), "value_m3": str(reading.value_m3),
            "gas_meter": reading.gas_meter, "channel": reading.channel, "amr_status": int(status),
            "status": [flag.name for flag in AmrStatus if flag in status]}


# ---- handlers ---------------------------------------------------------------------------------------------


def require_connection(store: Store, connection: Connection, now: datetime) -> None:
    """404 unless the central system knows ``connection`` (admin and customer routes only; a party's
    read never learns whether an EAN exists, the store answers it as 'no authorisation')."""
    try:
        store.consent_at(connection, now)  # its arguments are checked: InvalidInput means unknown connection
    except InvalidInput:
        raise ApiRefusal(404, "unknown_connection", f"connection {connection} is unknown to the central "
                                                    "system; check the EAN code") from None


def register_party(call: Call) -> JSON:
    kind: PartyKind = call.args["kind"]
    token = call.new_token()
    party = call.store.register_party(f"{kind.value}-{call.new_token()[:16]}", call.args["name"], token, call.now)
    return {"party_id": party.party_id, "name": party.name, "kind": kind.value,
            "registered_at": _iso(party.registered_at), "token": token, "token_type": "Bearer"}


def issue_customer_token(call: Call) -> JSON:
    connection: Connection = call.args["ean"]
    require_connection(call.store, connection, call.now)
    token = call.new_token()
    call.customers.issue(connection, token, call.now)
    return {"connection": connection.ean, "token": token, "token_type": "Bearer", "issued_at": _iso(call.now)}


def grant(call: Call) -> JSON:
    a = call.args
    auth = call.store.authorise(a["party_id"], a["ean"], a["scope"], valid_from=a["valid_from"],
                                valid_to=a["valid_to"], at=call.now)
    return authorisation_json(auth, call.now)


def list_authorisations(call: Call) -> JSON:
    connection: Connection = call.args["ean"]
    return {"connection": connection.ean,
            "authorisations": [authorisation_json(a, call.now) for a in call.store.authorisations(connection)]}


def revoke(call: Call) -> JSON:
    connection: Connection = call.args["ean"]
    auth_id: int = call.args["authorisation_id"]
    if not any(a.authorisation_id == auth_id for a in call.store.authorisations(connection)):
        raise ApiRefusal(404, "unknown_authorisation",
                         f"connection {connection} has no authorisation {auth_id}", field="path.authorisation_id")
    return authorisation_json(call.store.revoke(auth_id, call.now), call.now)


def audit(call: Call) -> JSON:
    connection: Connection = call.args["ean"]
    return {"connection": connection.ean, "entries": [audit_json(e) for e in call.store.audit_log(connection)]}


def party_readings(call: Call) -> JSON:
    a = call.args
    try:
        readings = call.store.readings_for_party(
            call.bearer or "", a["ean"], a["scope"], a["from"], a["to"], now=call.now,
            meter_number=a[METER_NUMBER_HEADER],
        )
    except P4AccessRefused as exc:  # audited by the store already
        if exc.refusal is P4Refusal.UNKNOWN_TOKEN and call.bearer_problem is not None:
            raise call.bearer_problem from exc
        raise
    answer = {"connection": a["ean"].ean, "scope": a["scope"].value, "from": _iso(a["from"]), "to": _iso(a["to"]),
              "readings": [reading_json(r) for r in readings]}
    party = call.store.party_for_token(call.bearer or "")
    if party is not None and party_kind(party.party_id) is PartyKind.SUPPLIER:
        answer["supplier"] = supplier_json(readings)
    return answer


def party_kind(party_id: str) -> PartyKind | None:
    """The kind is the prefix of the party id (``register_party``; docs/p4.md, "Choices")."""
    return next((kind for kind in PartyKind if party_id.startswith(f"{kind.value}-")), None)


def supplier_json(readings: list[Reading]) -> JSON:
    """What the supplier invoices from these readings, one period between each two (SYSTEM G4; manual §9,
    Drukaanpassing: "De correctie wordt administratief via de factuur van uw energieleverancier verwerkt")."""
    return supplier_view(IndexReading(r.capture_time, r.value_m3, r.gas_meter) for r in readings).to_json()


ROUTES: tuple[Operation, ...] = (
    Operation(
        "POST", "/p4/parties", "registerParty", "admin",
        "The grid operator registers a third party; its bearer token is returned this once", Role.ADMIN,
        register_party, PARTY, status=201, errors=(401, 413, 422),
        fields=(
            Field("name", "body", STRING, "the party's name, e.g. 'Energie BV'",
                  text(MAX_NAME, hint="the party's name")),
            Field("kind", "body", {"type": "string", "enum": [k.value for k in PartyKind]},
                  "supplier or independent party", choice([k.value for k in PartyKind], _kind)),
        ),
        description=f"The party id starts with its kind. Names have at most {MAX_NAME} characters.",
    ),
    Operation(
        "POST", "/p4/admin/connections/{ean}/customer-token", "issueCustomerToken", "admin",
        "The grid operator issues the customer's token for one connection; an earlier one stops working",
        Role.ADMIN, issue_customer_token, CUSTOMER_TOKEN, fields=(EAN,), status=201, errors=(401, 404, 413, 422),
    ),
    Operation(
        "POST", "/p4/connections/{ean}/authorisations", "grantAuthorisation", "customer",
        "The customer authorises a party to fetch one scope of this connection's data over a period",
        Role.CUSTOMER, grant, AUTHORISATION, status=201, errors=(401, 403, 413, 422),
        fields=(
            EAN,
            Field("party_id", "body", STRING, "the party, as registered",
                  text(64, FIELD_PARTY_ID, "a party id (letters, digits, '.', '_', '-')")),
            Field("scope", "body", SCOPE_SCHEMA, SCOPE, choice(SCOPES, _scope)),
            Field("valid_from", "body", ISO, "from this instant on", instant),
            Field("valid_to", "body", ISO, "until this instant (exclusive)", instant),
        ),
        description="Hourly covers daily and monthly; daily covers monthly.",
    ),
    Operation(
        "GET", "/p4/connections/{ean}/authorisations", "listAuthorisations", "customer",
        "The customer lists the authorisations of this connection, revoked ones included", Role.CUSTOMER,
        list_authorisations, AUTHORISATIONS, fields=(EAN,), errors=(401, 403, 422),
    ),
    Operation(
        "DELETE", "/p4/connections/{ean}/authorisations/{authorisation_id}", "revokeAuthorisation", "customer",
        "The customer revokes an authorisation; it stops working at once (revoking again keeps the first time)",
        Role.CUSTOMER, revoke, AUTHORISATION, errors=(401, 403, 404, 422),
        fields=(EAN, Field("authorisation_id", "path", {"type": "integer", "minimum": 1}, "the authorisation",
                           positive_int)),
    ),
    Operation(
        "GET", "/p4/connections/{ean}/audit", "getAuditLog", "customer",
        "The customer reads every P4 access attempt on this connection, granted or refused, oldest first",
        Role.CUSTOMER, audit, AUDIT_LOG, fields=(EAN,), errors=(401, 403, 422),
    ),
    Operation(
        "GET", "/p4/connections/{ean}/readings", "getReadings", "party",
        "A party fetches gas readings it is authorised for; every attempt is audited; a supplier also gets "
        "the supplier view (pressure-corrected volume and energy per period, SYSTEM G4)", Role.PARTY,
        party_readings, READINGS, errors=(401, 403, 422),
        fields=(
            EAN,
            Field("scope", "query", SCOPE_SCHEMA, SCOPE, choice(SCOPES, _scope)),
            Field("from", "query", ISO, "first capture time wanted (inclusive)", instant),
            Field("to", "query", ISO, "last capture time wanted (inclusive), not after now", instant),
            Field(METER_NUMBER_HEADER, "header", {"type": "string", "maxLength": 64},
                  "the 17-character number printed on the gas meter (spaces and case ignored): the party "
                  "proves it knows the meter", header_text, required=False, default=""),
        ),
        description="An unknown connection is answered like one without authorisation (403), so EAN codes "
                    "cannot be probed. A party registered as a supplier also gets `supplier`: per period between "
                    "two readings the metered volume, the volume corrected to the legal air pressure (1015.5 "
                    "mbar from 2015) and the energy at 35.17 MJ/m³(n), with every parameter and its source.",
    ),
)
