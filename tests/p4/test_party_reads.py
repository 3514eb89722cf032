"""A party's read is refused with a clear error, and audited, for every rule of SYSTEM C3 (issue 6's
security tests: wrong key, expired/revoked authorisation, wrong meter number, another connection)."""

from __future__ import annotations

import logging

import pytest

from meterkast.central.model import AuthScope, Connection, ConsentLevel
from tests.central.helpers import CONN, DAY, G_ID, HOUR, OTHER, T0, local
from tests.p4.helpers import NOW, World, bearer, refused

HOURLY, DAILY, MONTHLY = AuthScope.HOURLY, AuthScope.DAILY, AuthScope.MONTHLY


def authorised(world: World, scope: AuthScope = HOURLY, **kw: object) -> tuple[str, str, str]:
    """(party id, party token, customer token) with one authorisation granted."""
    party_id, party = world.register()
    customer = world.customer()
    assert world.grant(customer, party_id, scope, **kw).status_code == 201  # type: ignore[arg-type]
    return party_id, party, customer


def test_missing_and_wrong_tokens_are_401_and_audited(world: World) -> None:
    _, _, customer = authorised(world)
    answer = world.read(None)
    refused(answer, 401, "missing_token", "Authorization")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    refused(world.read("w" * 43), 401, "invalid_token", "matches no registered third party")
    refused(world.read(None, headers={"Authorization": "Basic dXNlcjpwYXNzd29yZA=="}), 401,
            "invalid_authorization", "Bearer")
    refused(world.read(customer), 401, "invalid_token")  # a customer token is not a party token
    log = world.audit(customer)
    assert [(e["granted"], e["party_id"]) for e in log] == [(False, None)] * 4
    assert all(customer not in e["reason"] for e in log)


def test_wrong_or_missing_meter_number_is_403_and_audited(world: World) -> None:
    party_id, party, customer = authorised(world)
    refused(world.read(party, meter="G0019340315370617"), 403, "wrong_meter_number", "printed on the meter")
    body = refused(world.read(party, meter=None), 403, "wrong_meter_number", "no meter number was given")
    assert body["field"] == "header.X-Meter-Number"
    assert world.read(party, meter="g0019 3403153706 16").status_code == 200  # as typed off the meter
    log = world.audit(customer)
    assert [(e["granted"], e["party_id"]) for e in log] == [(False, party_id), (False, party_id), (True, party_id)]


def test_a_party_reading_another_connection_is_refused_and_audited_there(world: World) -> None:
    party_id, party, _ = authorised(world)
    refused(world.read(party, connection=OTHER, meter="G0019340315370721"), 403, "not_authorised",
            f"holds no authorisation for connection {OTHER.ean}")
    other_customer = world.customer(OTHER)
    (entry,) = world.audit(other_customer, OTHER)
    assert (entry["party_id"], entry["granted"], entry["connection"]) == (party_id, False, OTHER.ean)


def test_an_unknown_connection_reads_like_one_without_authorisation(world: World) -> None:
    _, party, _ = authorised(world)
    stranger = Connection.from_body("87168714999999999")
    body = refused(world.read(party, connection=stranger), 403, "not_authorised", stranger.ean)
    known = refused(world.read(party, connection=OTHER), 403, "not_authorised", OTHER.ean)
    assert body["message"].replace(stranger.ean, "EAN") == known["message"].replace(OTHER.ean, "EAN")


def test_revocation_takes_effect_at_once(world: World) -> None:
    _, party, customer = authorised(world)
    auth_id = world.call("GET", f"/p4/connections/{CONN.ean}/authorisations",
                         headers=bearer(customer)).json()["authorisations"][0]["authorisation_id"]
    assert world.read(party).status_code == 200
    assert world.call("DELETE", f"/p4/connections/{CONN.ean}/authorisations/{auth_id}",
                      headers=bearer(customer)).status_code == 200
    refused(world.read(party), 403, "authorisation_revoked", "was revoked at")  # same instant: refused


def test_expired_and_not_yet_valid_authorisations(world: World) -> None:
    party_id, party, _ = authorised(world, valid_to=NOW + DAY)
    world.clock.jump(DAY)
    refused(world.read(party), 403, "authorisation_not_in_force", "not at")
    # A second customer token replaces the first: use the newest.
    other_id, other, customer = authorised(world, valid_from=NOW + 10 * DAY, valid_to=NOW + 20 * DAY)
    refused(world.read(other), 403, "authorisation_not_in_force", "holds from")
    assert [e["granted"] for e in world.audit(customer)] == [False, False]
    assert {party_id, other_id} == {e["party_id"] for e in world.audit(customer)}


def test_scope_must_be_covered(world: World) -> None:
    _, party, _ = authorised(world, DAILY)
    refused(world.read(party, "hourly"), 403, "not_authorised", "covering hourly data")
    assert world.read(party, "daily").status_code == 200
    assert world.read(party, "monthly").status_code == 200  # daily covers monthly


@pytest.mark.parametrize(("scope", "days"), [("hourly", 10), ("daily", 40)])
def test_history_depth_in_days(world: World, scope: str, days: int) -> None:
    _, party, _ = authorised(world, valid_to=T0 + 400 * DAY)
    world.clock.jump(60 * DAY)
    now = NOW + 60 * DAY
    assert world.read(party, scope, start=now - days * DAY, end=now).status_code == 200
    body = refused(world.read(party, scope, start=now - days * DAY - HOUR, end=now), 403, "history_depth",
                   f"{scope} data goes back to", "SYSTEM C3")
    assert body["field"] == "query.from"


def test_history_depth_monthly_is_13_months(world: World) -> None:
    _, party, _ = authorised(world, MONTHLY, valid_to=T0 + 800 * DAY)
    now = world.clock.advance_to(local(2026, 2, 15))
    assert world.read(party, "monthly", start=local(2025, 1, 15), end=now).status_code == 200
    refused(world.read(party, "monthly", start=local(2025, 1, 14), end=now), 403, "history_depth",
            "13 months monthly")


def test_future_data_is_a_field_error(world: World) -> None:
    _, party, _ = authorised(world)
    body = refused(world.read(party, end=NOW + HOUR), 422, "future_range", "after now")
    assert body["field"] == "query.to"


def test_without_consent_nothing_is_served(world: World) -> None:
    _, party, customer = authorised(world)
    world.store.set_consent(CONN, ConsentLevel.STANDARD, NOW + HOUR, NOW)  # the customer withdraws detail
    world.clock.jump(2 * HOUR)
    refused(world.read(party, start=NOW - DAY, end=NOW), 403, "no_consent", "detailed consent")
    world.store.set_consent(CONN, ConsentLevel.NONE, NOW + 3 * HOUR, NOW + 2 * HOUR)
    world.clock.jump(2 * HOUR)
    refused(world.read(party, "monthly", start=NOW - DAY, end=NOW), 403, "no_consent")
    assert [e["granted"] for e in world.audit(customer)] == [False, False]


def test_every_refusal_is_logged_without_credentials(world: World, caplog: pytest.LogCaptureFixture) -> None:
    _, party, customer = authorised(world)
    with caplog.at_level(logging.INFO, logger="meterkast.p4"):
        world.read(party, meter="G0000000000000000")
        world.read(party)
    lines = [r.getMessage() for r in caplog.records if r.name == "meterkast.p4"]
    assert lines == [f"P4 getReadings connection {CONN.ean} -> 403 wrong_meter_number",
                     f"P4 getReadings connection {CONN.ean} -> 200 ok"]
    assert not any(secret in line for line in lines for secret in (party, customer, G_ID))
