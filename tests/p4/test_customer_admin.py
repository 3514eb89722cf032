"""The customer's side (grant, list, revoke, audit) and the grid operator's (parties, customer tokens):
each role only with its own token, the customer only on their own connection (SYSTEM C3, C4)."""

from __future__ import annotations

import hashlib

from meterkast.central.model import Connection
from tests.central.helpers import CONN, DAY, OTHER, T0
from tests.p4.helpers import ADMIN, ADMIN_TOKEN, NOW, World, bearer, iso, refused

AUTHS = f"/p4/connections/{CONN.ean}/authorisations"


def test_registration_returns_the_token_once_and_keeps_only_its_hash(world: World) -> None:
    answer = world.call("POST", "/p4/parties", json={"name": "Inzicht BV", "kind": "independent"}, headers=ADMIN)
    assert answer.status_code == 201
    body = answer.json()
    assert body["party_id"].startswith("independent-") and body["token_type"] == "Bearer"
    assert body["token"] == world.tokens.given[0] and body["registered_at"] == iso(NOW)
    rows = world.store._db.run("SELECT token_sha256 FROM third_parties")  # type: ignore[attr-defined]  # peek
    assert rows == [(hashlib.sha256(body["token"].encode()).hexdigest(),)]


def test_admin_routes_need_the_admin_token(world: World) -> None:
    party_id, party = world.register()
    customer = world.customer()
    for token in (party, customer, "x" * 40):
        refused(world.call("POST", "/p4/parties", json={"name": "X", "kind": "supplier"}, headers=bearer(token)),
                401, "invalid_token", "admin token")
        refused(world.call("POST", f"/p4/admin/connections/{CONN.ean}/customer-token", headers=bearer(token)),
                401, "invalid_token")
    refused(world.call("POST", "/p4/parties", json={"name": "X", "kind": "supplier"}), 401, "missing_token")
    assert party_id


def test_customer_token_for_an_unknown_connection_is_404(world: World) -> None:
    stranger = Connection.from_body("87168714999999999")
    refused(world.call("POST", f"/p4/admin/connections/{stranger.ean}/customer-token", headers=ADMIN), 404,
            "unknown_connection", stranger.ean)
    body = refused(world.call("POST", "/p4/admin/connections/871687140000000010/customer-token", headers=ADMIN),
                   422, "invalid_field", "check digit")
    assert body["field"] == "path.ean"


def test_a_new_customer_token_replaces_the_old(world: World) -> None:
    first = world.customer()
    second = world.customer()
    refused(world.call("GET", AUTHS, headers=bearer(first)), 401, "invalid_token", "not a customer token")
    assert world.call("GET", AUTHS, headers=bearer(second)).status_code == 200


def test_customer_routes_need_that_connections_customer(world: World) -> None:
    party_id, party = world.register()
    mine, theirs = world.customer(), world.customer(OTHER)
    grant = {"party_id": party_id, "scope": "daily", "valid_from": iso(T0), "valid_to": iso(T0 + DAY)}
    refused(world.call("POST", AUTHS, json=grant, headers=bearer(theirs)), 403, "wrong_connection")
    refused(world.call("GET", f"/p4/connections/{CONN.ean}/audit", headers=bearer(theirs)), 403, "wrong_connection")
    refused(world.call("GET", f"/p4/connections/{CONN.ean}/audit", headers=bearer(party)), 401, "invalid_token")
    refused(world.call("GET", f"/p4/connections/{CONN.ean}/audit", headers=bearer(ADMIN_TOKEN)), 401,
            "invalid_token")
    refused(world.call("GET", f"/p4/connections/{CONN.ean}/audit"), 401, "missing_token")
    # Authenticated and authorised before the request is checked: a stranger learns nothing about the EAN.
    refused(world.call("GET", "/p4/connections/871687140000000010/audit", headers=bearer(mine)), 403,
            "wrong_connection")
    assert world.call("POST", AUTHS, json=grant, headers=bearer(mine)).status_code == 201


def test_grant_list_and_revoke(world: World) -> None:
    party_id, _ = world.register()
    customer = world.customer()
    first = world.grant(customer, party_id).json()
    second = world.grant(customer, party_id, valid_from=NOW + DAY, valid_to=NOW + 2 * DAY).json()
    listed = world.call("GET", AUTHS, headers=bearer(customer)).json()
    assert listed["authorisations"] == [first, second]
    assert (first["in_force"], second["in_force"]) == (True, False)
    path = f"{AUTHS}/{first['authorisation_id']}"
    revoked = world.call("DELETE", path, headers=bearer(customer)).json()
    world.clock.jump(DAY)
    again = world.call("DELETE", path, headers=bearer(customer)).json()
    assert again["revoked_at"] == revoked["revoked_at"] == iso(NOW)  # the first revocation stands


def test_revoking_what_is_not_this_connections_is_404(world: World) -> None:
    party_id, _ = world.register()
    mine, theirs = world.customer(), world.customer(OTHER)
    other_auth = world.grant(theirs, party_id, connection=OTHER).json()["authorisation_id"]
    body = refused(world.call("DELETE", f"{AUTHS}/{other_auth}", headers=bearer(mine)), 404,
                   "unknown_authorisation", f"no authorisation {other_auth}")
    assert body["field"] == "path.authorisation_id"
    refused(world.call("DELETE", f"{AUTHS}/999", headers=bearer(mine)), 404, "unknown_authorisation")
    refused(world.call("DELETE", f"{AUTHS}/0", headers=bearer(mine)), 422, "invalid_field", "path.authorisation_id")
    refused(world.call("DELETE", f"{AUTHS}/x1", headers=bearer(mine)), 422, "invalid_field")
    assert world.call("GET", f"/p4/connections/{OTHER.ean}/authorisations",
                      headers=bearer(theirs)).json()["authorisations"][0]["revoked_at"] is None


def test_grant_refusals_name_the_field(world: World) -> None:
    party_id, _ = world.register()
    customer = world.customer()
    good = {"party_id": party_id, "scope": "hourly", "valid_from": iso(T0), "valid_to": iso(T0 + DAY)}
    cases = [
        ({**good, "valid_from": "2025-01-01T00:00:00"}, "invalid_field", "body.valid_from", "no UTC offset"),
        ({**good, "valid_to": "tomorrow"}, "invalid_field", "body.valid_to", "ISO 8601"),
        ({**good, "scope": "weekly"}, "invalid_field", "body.scope", "hourly, daily, monthly"),
        ({**good, "scope": 1}, "invalid_field", "body.scope", "expected a JSON string"),
        ({**good, "party_id": None}, "invalid_field", "body.party_id", "NoneType"),
        ({**good, "party_id": "bad id!"}, "invalid_field", "body.party_id", "party id"),
        ({**good, "extra": 1}, "unknown_field", "body.extra", "known: party_id, scope, valid_from, valid_to"),
        ({k: v for k, v in good.items() if k != "scope"}, "missing_field", "body.scope", "required"),
        ({**good, "valid_from": "0001-01-01T00:00:00+01:00"}, "invalid_field", "body.valid_from", "outside"),
    ]
    for body, code, field, words in cases:
        answer = refused(world.call("POST", AUTHS, json=body, headers=bearer(customer)), 422, code, field, words)
        assert answer["field"] == field
    refused(world.call("POST", AUTHS, json={**good, "party_id": "supplier-nobody"}, headers=bearer(customer)), 422,
            "invalid_input", "'supplier-nobody' is not registered")
    refused(world.call("POST", AUTHS, json={**good, "valid_to": iso(T0)}, headers=bearer(customer)), 422,
            "invalid_input", "ends before it begins")
    assert world.call("GET", AUTHS, headers=bearer(customer)).json()["authorisations"] == []
