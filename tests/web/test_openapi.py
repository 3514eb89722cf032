"""The OpenAPI document and the app's routes agree both ways (issue 5: "documented with OpenAPI")."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from meterkast.errors import InvalidInput
from meterkast.web.app import create_app
from meterkast.web.schema import check
from tests.web.fake_control import FakeControl

METHODS = {"get", "post", "put", "patch", "delete"}


def served_api_routes() -> set[tuple[str, str]]:
    app = create_app(FakeControl())
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api"):
            out |= {(m.lower(), route.path) for m in route.methods or () if m != "HEAD"}
    return out


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with TestClient(create_app(FakeControl())) as client:
        response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_every_route_is_documented_and_every_documented_route_exists(document: dict[str, Any]) -> None:
    served = served_api_routes()
    assert served == documented(document)
    assert {("get", "/api/state"), ("post", "/api/meter/button"), ("post", "/api/meter/seal/break"),
            ("post", "/api/meter/valve"), ("post", "/api/clock/jump")} <= served  # the minimum


def test_every_documented_route_answers(document: dict[str, Any]) -> None:
    """No documented route is a 404/405 (path parameters filled with an allowed value)."""
    with TestClient(create_app(FakeControl())) as client:
        for method, path in documented(document):
            operation = document["paths"][path][method]
            concrete = path
            for param in operation.get("parameters", []):
                if param["in"] == "path":
                    concrete = concrete.replace("{" + param["name"] + "}", param["schema"]["enum"][0])
            body = {}
            schema = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            for name in (schema or {}).get("required", []):
                body[name] = example(schema["properties"][name])
            response = client.request(method.upper(), concrete, json=body if schema else None)
            assert response.status_code in {int(code) for code in operation["responses"]}, (method, path)
            assert response.status_code not in (404, 405)


def example(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    return {"number": 1, "string": "Liander", "integer": 1, "boolean": True, "null": None}[kinds[0]]


def test_the_document_is_openapi_3_1_with_unique_operation_ids(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in item.values():
            in_path = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert in_path == names, path
            assert operation["responses"], path
            for answer in operation["responses"].values():
                assert answer["description"]
                assert "schema" in answer["content"]["application/json"]


def test_request_examples_validate_against_the_documented_schemas(document: dict[str, Any]) -> None:
    button = document["paths"]["/api/meter/button"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert check({"hold_s": 0.2}, button, "body") == {"hold_s": 0.2}
    with pytest.raises(InvalidInput, match="unknown field"):
        check({"hold_s": 0.2, "extra": 1}, button, "body")
    valve = document["paths"]["/api/meter/valve"]["post"]
    assert set(valve["responses"]) == {"409", "400"}  # SYSTEM G12: never a 200
