"""Malformed requests are refused with 4xx naming the field, never a 500; tokens never travel or get
logged in URLs (issue 6: "Tokens, not passwords in URLs"; SYSTEM C4)."""

from __future__ import annotations

import logging

import pytest

from meterkast.p4 import RedactQueryString
from tests.central.helpers import CONN, DAY, G_ID, T0
from tests.p4.helpers import ADMIN, World, bearer, iso, refused

READINGS = f"/p4/connections/{CONN.ean}/readings"


def test_a_token_in_the_query_string_is_refused_unread_and_not_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    party_id, party = world.register()
    customer = world.customer()
    world.grant(customer, party_id)
    query = {"scope": "hourly", "from": iso(T0), "to": iso(T0 + DAY)}
    with caplog.at_level(logging.DEBUG):
        for name in ("access_token", "token", "api_key", "Password", "bearer"):
            answer = world.call("GET", READINGS, params={**query, name: party}, headers={"X-Meter-Number": G_ID})
            refused(answer, 401, "token_in_url", "Authorization: Bearer", "leaked")
        # even with a good header beside it, and on any path
        refused(world.call("GET", READINGS, params={**query, "access_token": party},
                           headers={**bearer(party), "X-Meter-Number": G_ID}), 401, "token_in_url")
        refused(world.call("GET", "/p4/nowhere", params={"token": party}), 401, "token_in_url")
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]  # httpx: the client
    assert server_lines and not any(party in line for line in server_lines)
    assert world.audit(customer) == []  # refused before anything was read
    assert world.read(party).status_code == 200  # the header way works


def test_uvicorn_access_log_filter_drops_query_strings() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/p4/x?access_token=secret", "1.1", 401), None)
    assert RedactQueryString().filter(record)
    assert "secret" not in record.getMessage() and "/p4/x" in record.getMessage()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"name": "A", "name": "B", "kind": "supplier"}', "appears twice"),
        (b'{"name": NaN, "kind": "supplier"}', "NaN is not a JSON number"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[" * 100_00 + b"]" * 100_00, "not valid JSON"),
    ],
)
def test_malformed_json_is_422(world: World, raw: bytes, words: str) -> None:
    answer = world.call("POST", "/p4/parties", content=raw, headers={**ADMIN, "Content-Type": "application/json"})
    body = refused(answer, 422, "malformed_json", words)
    assert body["field"] == "body"


def test_json_that_is_not_an_object_or_lacks_fields_is_422(world: World) -> None:
    body = refused(world.call("POST", "/p4/parties", json=["a"], headers=ADMIN), 422, "invalid_field", "list")
    assert body["field"] == "body"
    refused(world.call("POST", "/p4/parties", headers=ADMIN), 422, "missing_field", "body.name")
    refused(world.call("POST", "/p4/parties", json={"name": " ", "kind": "supplier"}, headers=ADMIN), 422,
            "invalid_field", "body.name is empty")
    refused(world.call("POST", "/p4/parties", json={"name": "A" * 201, "kind": "supplier"}, headers=ADMIN), 422,
            "invalid_field", "at most 200")
    refused(world.call("POST", f"/p4/admin/connections/{CONN.ean}/customer-token", json={"x": 1}, headers=ADMIN),
            422, "unknown_field", "body.x")


def test_a_large_body_is_413(world: World) -> None:
    refused(world.call("POST", "/p4/parties", content=b" " * (64 * 1024 + 1), headers=ADMIN), 413, "body_too_large")


@pytest.mark.parametrize(
    ("query", "code", "field", "words"),
    [
        ({"scope": "weekly"}, "invalid_field", "query.scope", "hourly, daily, monthly"),
        ({"from": "2025-01-01T00:00:00"}, "invalid_field", "query.from", "no UTC offset"),
        ({"to": "2025-01-01"}, "invalid_field", "query.to", "no UTC offset"),
        ({"from": "yesterday"}, "invalid_field", "query.from", "ISO 8601"),
        ({"channel": "1"}, "unknown_field", "query.channel", "known: from, scope, to"),
        ({"scope": None}, "missing_field", "query.scope", "required"),
    ],
)
def test_malformed_read_parameters_are_422_naming_the_field(
    world: World, query: dict[str, str | None], code: str, field: str, words: str
) -> None:
    _, party = world.register()
    params = {"scope": "hourly", "from": iso(T0), "to": iso(T0 + DAY), **query}
    sent = {k: v for k, v in params.items() if v is not None}
    answer = world.call("GET", READINGS, params=sent, headers={**bearer(party), "X-Meter-Number": G_ID})
    assert refused(answer, 422, code, field, words)["field"] == field


def test_a_parameter_given_twice_or_a_bad_ean_is_422(world: World) -> None:
    _, party = world.register()
    twice = f"{READINGS}?scope=hourly&scope=daily&from={iso(T0)}&to={iso(T0 + DAY)}".replace("+", "%2B")
    refused(world.call("GET", twice, headers=bearer(party)), 422, "invalid_field", "more than once")
    bad = "/p4/connections/87168714000000001X/readings"
    body = refused(world.call("GET", bad, params={"scope": "hourly", "from": iso(T0), "to": iso(T0 + DAY)},
                              headers=bearer(party)), 422, "invalid_field", "18 digits")
    assert body["field"] == "path.ean"
    reversed_span = {"scope": "hourly", "from": iso(T0 + DAY), "to": iso(T0)}
    refused(world.call("GET", READINGS, params=reversed_span, headers=bearer(party)), 422, "invalid_input",
            "before it begins")


def test_unknown_routes_and_methods_answer_json(world: World) -> None:
    refused(world.call("GET", "/p4/nowhere"), 404, "not_found", "openapi.json")
    answer = refused(world.call("PUT", "/p4/parties", json={}), 405, "method_not_allowed")
    assert answer["message"]
