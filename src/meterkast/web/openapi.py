"""The OpenAPI 3.1 document of the dashboard's API, built from the route table in ``api.py``.

Nothing here is written by hand per route: each :class:`Operation` gives its path, parameters, request
body and response schema, and every route documents the two error answers the app gives (``app.py``):
400 for invalid input, 409 for what the installation refuses.
"""

from __future__ import annotations

from typing import Any

from meterkast.web.api import ERROR, ROUTES, Operation, Param

JSON = dict[str, Any]
OPENAPI_PATH = "/api/openapi.json"
TITLE = "meterkast installation API"


def _content(schema: JSON) -> JSON:
    return {"application/json": {"schema": schema}}


def _parameter(param: Param, where: str) -> JSON:
    out: JSON = {"name": param.name, "in": where, "required": param.required or where == "path",
                 "description": param.description, "schema": dict(param.schema)}
    if param.default is not None:
        out["schema"]["default"] = param.default
    return out


def _operation(op: Operation) -> JSON:
    out: JSON = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    parameters = [_parameter(p, "path") for p in op.path_params] + [_parameter(p, "query") for p in op.query]
    if parameters:
        out["parameters"] = parameters
    if op.body:
        out["requestBody"] = {"required": any(p.required for p in op.body), "content": _content(op.body_schema)}
    error = {"$ref": "#/components/schemas/Error"}
    responses: JSON = {
        str(op.status): {"description": "the result" if op.status == 200 else "the refusal",
                         "content": _content(op.response)},
        "400": {"description": "invalid input: the message names the field and the rule", "content": _content(error)},
    }
    responses.setdefault("409", {"description": "refused by the installation", "content": _content(error)})
    out["responses"] = responses
    return out


def openapi_document(server_url: str = "/") -> JSON:
    """The whole document; ``server_url`` is where the API is served."""
    paths: JSON = {}
    for op in ROUTES:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    paths[OPENAPI_PATH] = {"get": {
        "operationId": "getOpenApi", "summary": "This document", "tags": ["meta"],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": _content({"type": "object"})}},
    }}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": "1",
            "description": (
                "Drive a simulated Dutch meter cupboard: the Itron gas meter (button, seal, valve, battery, "
                "gas temperature), the clock, and faults on P2 and P1; read the E-meter's gas profiles, "
                "events, the P1 telegram stream and the ground truth; with meterkast run --cs, see what the central "
                "system read over P3 and what it refused for want of consent, and change the consent. "
                "Decimal values are strings."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": {"Error": ERROR}},
    }
