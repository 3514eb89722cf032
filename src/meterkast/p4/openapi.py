"""The OpenAPI 3.1 document of the P4 API, built from the route table in ``routes.py``.

Nothing is written by hand per route: each :class:`Operation` gives its path, role (the security
scheme), fields (parameters and request body), answer schema and error statuses; every error answer
has the one ``Error`` schema whose ``error`` lists every code the API gives (``errors.ERROR_CODES``).
"""

from __future__ import annotations

from meterkast.p4.errors import ERROR_CODES
from meterkast.p4.fields import JSON, Field, body_schema
from meterkast.p4.routes import ROUTES, Operation, Role

OPENAPI_PATH = "/p4/openapi.json"
TITLE = "meterkast P4: third-party access to the central system's gas readings"

ERROR_SCHEMA: JSON = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": list(ERROR_CODES), "description": "a stable code"},
        "message": {"type": "string", "description": "what was refused, and why"},
        "field": {"type": "string", "description": "the field to blame, e.g. body.valid_from or query.scope"},
    },
    "required": ["error", "message"],
}
ERROR_MEANING = {
    400: "the request has both Transfer-Encoding and Content-Length (RFC 9112 §6.3); the connection is closed",
    401: "no token, a malformed Authorization header, a wrong token, or a token in the URL (refused unread)",
    403: "authenticated, but not allowed: the message says which rule refused it",
    404: "the connection or authorisation named in the path is unknown",
    405: "the path exists but not with this method",
    408: "the request body did not arrive within 10 s of the headers (the connection is closed)",
    413: "the request body is larger than 64 KiB",
    431: "the request line and headers are larger than 16 KiB",
    422: "a malformed request: the message and 'field' name the field and the rule",
}
SECURITY_SCHEMES: JSON = {
    Role.ADMIN.value: {"type": "http", "scheme": "bearer",
                       "description": "the grid operator's admin token, set when the app is created"},
    Role.CUSTOMER.value: {"type": "http", "scheme": "bearer",
                          "description": "the customer's token for one connection, issued by the grid operator"},
    Role.PARTY.value: {"type": "http", "scheme": "bearer",
                       "description": "a third party's token, returned once at registration"},
}


def _content(schema: JSON) -> JSON:
    return {"application/json": {"schema": schema}}


def _parameter(field: Field) -> JSON:
    return {"name": field.name, "in": field.where, "required": field.required or field.where == "path",
            "description": field.description, "schema": dict(field.schema)}


def _operation(op: Operation) -> JSON:
    out: JSON = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    if op.description:
        out["description"] = op.description
    parameters = [_parameter(f) for f in op.fields if f.where != "body"]
    if parameters:
        out["parameters"] = parameters
    body = body_schema(op.fields)
    if body is not None:
        out["requestBody"] = {"required": True, "content": _content(body)}
    out["security"] = [] if op.role is Role.PUBLIC else [{op.role.value: []}]
    error = {"$ref": "#/components/schemas/Error"}
    responses: JSON = {str(op.status): {"description": "the result", "content": _content(op.response)}}
    for status in op.errors:
        responses[str(status)] = {"description": ERROR_MEANING[status], "content": _content(error)}
    out["responses"] = responses
    return out


def openapi_document(server_url: str = "/") -> JSON:
    """The whole document; ``server_url`` is where the API is served."""
    paths: JSON = {}
    for op in ROUTES:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    error = {"$ref": "#/components/schemas/Error"}
    paths[OPENAPI_PATH] = {"get": {
        "operationId": "getOpenApi", "summary": "This document", "tags": ["meta"], "security": [],
        "responses": {"200": {"description": "OpenAPI 3.1", "content": _content({"type": "object"})},
                      "401": {"description": ERROR_MEANING[401], "content": _content(error)}},
    }}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": "1",
            "description": (
                "SYSTEM C3: a third party fetches a connection's gas readings only with the customer's "
                "authorisation for that connection, within its period and scope, not revoked, after proving the "
                "gas meter's number, within the history depth (10 days hourly, 40 days daily, 13 months monthly) "
                "and the customer's consent. Every attempt is audited; the customer reads the audit log. "
                "Tokens travel only in the Authorization header, never in a URL. Decimal values are strings."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": {"Error": ERROR_SCHEMA}, "securitySchemes": SECURITY_SCHEMES},
    }
