"""The OpenAPI document and the app's routes agree both ways; the refusal table is total (issue 6)."""

from __future__ import annotations

import re
from typing import Any

from starlette.routing import Route

from meterkast.central.model import P4Refusal
from meterkast.p4.app import _credential_in_query
from meterkast.p4.errors import API_CODES, ERROR_CODES, REFUSAL_ANSWERS
from meterkast.p4.openapi import ERROR_MEANING, OPENAPI_PATH
from meterkast.p4.routes import ROUTES
from tests.central.helpers import CONN
from tests.p4.helpers import World

METHODS = {"get", "post", "put", "patch", "delete"}


def served(world: World) -> set[tuple[str, str]]:
    app: Any = world.client.app
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Route):
            out |= {(m.lower(), route.path) for m in route.methods or () if m != "HEAD"}
    return out


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_every_route_is_documented_and_every_documented_route_exists(world: World) -> None:
    answer = world.call("GET", OPENAPI_PATH)
    assert answer.status_code == 200
    document = answer.json()
    assert served(world) == documented(document)
    assert {("post", "/p4/parties"), ("post", "/p4/connections/{ean}/authorisations"),
            ("delete", "/p4/connections/{ean}/authorisations/{authorisation_id}"),
            ("get", "/p4/connections/{ean}/audit"), ("get", "/p4/connections/{ean}/readings")} <= served(world)


def test_every_documented_route_answers_as_documented(world: World) -> None:
    """No documented route is a 404/405 (``world`` holds every answer to the document at the end)."""
    document = world.call("GET", OPENAPI_PATH).json()
    for method, path in documented(document):
        concrete = path.replace("{ean}", CONN.ean).replace("{authorisation_id}", "1")
        answer = world.call(method.upper(), concrete)
        assert answer.status_code not in (404, 405) or answer.json()["error"].startswith("unknown_"), (method, path)


def test_the_document_is_openapi_3_1_and_well_formed(world: World) -> None:
    document = world.call("GET", OPENAPI_PATH).json()
    assert document["openapi"] == "3.1.0"
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    schemes = set(document["components"]["securitySchemes"])
    for path, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            assert {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"} == names, path
            assert {name for rule in operation["security"] for name in rule} <= schemes
            for status, answer in operation["responses"].items():
                assert answer["description"], (path, status)
                assert "schema" in answer["content"]["application/json"]
    readings = document["paths"]["/p4/connections/{ean}/readings"]["get"]
    assert {(p["name"], p["in"]) for p in readings["parameters"]} == {
        ("ean", "path"), ("scope", "query"), ("from", "query"), ("to", "query"), ("X-Meter-Number", "header")}
    assert readings["security"] == [{"partyToken": []}]


def test_no_query_parameter_looks_like_a_credential() -> None:
    """The credentials-in-URL guard must not refuse a documented parameter (and none is a credential)."""
    for op in ROUTES:
        for field in op.fields:
            if field.where == "query":
                assert _credential_in_query(f"{field.name}=x".encode()) is None, (op.path, field.name)
    assert _credential_in_query(b"scope=hourly&Access_Token=x") == "Access_Token"


def test_refusal_table_is_total_and_codes_are_listed() -> None:
    assert set(REFUSAL_ANSWERS) == set(P4Refusal)
    for status, code, _ in REFUSAL_ANSWERS.values():
        assert status in ERROR_MEANING and code in ERROR_CODES
    assert set(API_CODES) <= set(ERROR_CODES)
    for op in ROUTES:
        assert set(op.errors) <= set(ERROR_MEANING), op.operation_id
