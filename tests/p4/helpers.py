"""A P4 world for the tests: a store with one installed connection, the app, and calls as each role makes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from starlette.routing import compile_path
from starlette.testclient import TestClient

from meterkast.central.model import AuthScope, Connection, ConsentLevel
from meterkast.central.store import Store
from meterkast.clock import SimClock
from meterkast.p4.app import create_p4_app
from meterkast.p4.errors import ERROR_CODES
from meterkast.p4.openapi import openapi_document
from tests.central.helpers import CONN, DAY, G_ID, OTHER, T0, hourly, install

ADMIN_TOKEN = "admin-" + "A" * 40
NOW = T0 + 5 * DAY
E_OTHER = "E0031003239456816"
G_OTHER = "G0019340315370721"


class FakeTokens:
    """A token source that counts: deterministic, and the test can see what was handed out."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def __call__(self) -> str:
        self.given.append(f"tok{len(self.given) + 1:05d}" + "q" * 40)
        return self.given[-1]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


def furnish(store: Store) -> None:
    """CONN: detailed consent, 72 hourly readings from T0; OTHER: its own meters and readings."""
    install(store, consent=ConsentLevel.DETAILED)
    store.store_readings(hourly(T0, 72))
    install(store, OTHER, emeter=E_OTHER, gas_meter=G_OTHER)
    store.store_readings(hourly(T0, 24, connection=OTHER, gas_meter=G_OTHER))


@dataclass
class Recorded:
    method: str
    path: str
    status: int
    body: Any


@dataclass
class World:
    store: Store
    clock: SimClock
    tokens: FakeTokens
    client: TestClient
    seen: list[Recorded] = field(default_factory=list)

    # ---- raw calls, recorded so the OpenAPI test can hold every answer to the document ------------------
    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        self.seen.append(Recorded(method, path.split("?", 1)[0], response.status_code, body))
        assert response.headers.get("cache-control") == "no-store", (method, path)
        return response

    # ---- the roles ------------------------------------------------------------------------------------
    def register(self, name: str = "Energie BV", kind: str = "supplier") -> tuple[str, str]:
        answer = self.call("POST", "/p4/parties", json={"name": name, "kind": kind}, headers=ADMIN)
        assert answer.status_code == 201, answer.text
        return answer.json()["party_id"], answer.json()["token"]

    def customer(self, connection: Connection = CONN) -> str:
        answer = self.call("POST", f"/p4/admin/connections/{connection.ean}/customer-token", headers=ADMIN)
        assert answer.status_code == 201, answer.text
        token: str = answer.json()["token"]
        return token

    def grant(
        self, customer: str, party_id: str, scope: AuthScope = AuthScope.HOURLY, *, connection: Connection = CONN,
        valid_from: datetime = T0, valid_to: datetime = T0 + 30 * DAY,
    ) -> Any:
        return self.call("POST", f"/p4/connections/{connection.ean}/authorisations", headers=bearer(customer),
                         json={"party_id": party_id, "scope": scope.value, "valid_from": iso(valid_from),
                               "valid_to": iso(valid_to)})

    def read(
        self, token: str | None, scope: str = "hourly", *, connection: Connection = CONN, start: datetime = T0,
        end: datetime = T0 + DAY, meter: str | None = G_ID, headers: dict[str, str] | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if token is not None:
            sent.update(bearer(token))
        if meter is not None:
            sent["X-Meter-Number"] = meter
        return self.call("GET", f"/p4/connections/{connection.ean}/readings", headers=sent,
                         params={"scope": scope, "from": iso(start), "to": iso(end)})

    def audit(self, customer: str, connection: Connection = CONN) -> list[dict[str, Any]]:
        answer = self.call("GET", f"/p4/connections/{connection.ean}/audit", headers=bearer(customer))
        assert answer.status_code == 200, answer.text
        entries: list[dict[str, Any]] = answer.json()["entries"]
        return entries


def make_world(store: Store) -> World:
    furnish(store)
    clock = SimClock(NOW)
    tokens = FakeTokens()
    app = create_p4_app(store, clock=clock, token_source=tokens, admin_token=ADMIN_TOKEN)
    return World(store, clock, tokens, TestClient(app))


def refused(answer: Any, status: int, code: str, *words: str) -> dict[str, Any]:
    """Assert a clear JSON refusal: the status, the code, and the words the message must name."""
    assert answer.status_code == status, (answer.status_code, answer.text)
    body: dict[str, Any] = answer.json()
    assert body["error"] == code, body
    assert body["error"] in ERROR_CODES
    for word in words:
        assert word in body["message"], (word, body["message"])
    return body


def main_flow(world: World) -> None:
    """Register, issue the customer token, grant, read, audit, revoke, and be refused at once (SYSTEM C3)."""
    party_id, party = world.register()
    assert party_id.startswith("supplier-")
    customer = world.customer()
    granted = world.grant(customer, party_id)
    assert granted.status_code == 201, granted.text
    auth = granted.json()
    assert (auth["scope"], auth["in_force"], auth["revoked_at"]) == ("hourly", True, None)

    answer = world.read(party)
    assert answer.status_code == 200, answer.text
    readings = answer.json()["readings"]
    assert len(readings) == 25
    assert readings[0] == {"capture_time": iso(T0), "value_m3": "100.000", "gas_meter": G_ID, "channel": 1,
                           "amr_status": 0, "status": []}
    assert readings[1]["value_m3"] == "100.123"  # a decimal string, never a float

    world.clock.jump(DAY / 24)
    revoked = world.call("DELETE", f"/p4/connections/{CONN.ean}/authorisations/{auth['authorisation_id']}",
                         headers=bearer(customer))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] == iso(NOW + DAY / 24)
    assert revoked.json()["in_force"] is False
    refused(world.read(party), 403, "authorisation_revoked", f"authorisation {auth['authorisation_id']}", "revoked")

    log = world.audit(customer)
    assert [(e["granted"], e["party_id"], e["readings"]) for e in log] == [(True, party_id, 25),
                                                                          (False, party_id, 0)]
    assert log[0]["at"] == iso(NOW) and log[1]["at"] == iso(NOW + DAY / 24)
    assert all(party not in str(e) for e in log)


def route_template(method: str, path: str) -> tuple[str, str] | None:
    """The documented (method, template) a concrete request went to, or None if no route matches."""
    # The HTTP client removes "." and ".." segments (RFC 3986 §5.2.4) before sending, and the router sees
    # the decoded path: match what the server really received.
    received = unquote(urlsplit(urljoin("http://p4.test", path)).path)
    for template, item in DOCUMENT["paths"].items():
        regex, _, _ = compile_path(template)
        if regex.match(received) and method.lower() in item:
            return method.lower(), template
    return None


DOCUMENT = openapi_document()
