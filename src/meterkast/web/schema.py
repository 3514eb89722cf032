"""The small subset of JSON Schema (2020-12, as OpenAPI 3.1 uses it) that the API's table needs.

One function, :func:`check`, validates a decoded JSON value against a schema and returns it, raising
:class:`InvalidInput` that names the offending field and the rule. It understands ``type`` (a name or a
list of names), ``enum``, ``minimum``/``maximum``/``exclusiveMinimum``, ``minLength`` (counting the text
without surrounding blanks: a name of spaces is no name), ``properties`` with ``required`` and
``additionalProperties: false``, and ``items``. Anything else in a schema is documentation only. A full
validator would be a dependency for a dozen request fields; this is enough for the requests
(``api.py``) and lets the tests hold every response to its documented shape.
"""

from __future__ import annotations

from typing import Any

from meterkast.errors import InvalidInput

JSON = dict[str, Any]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False  # JSON true is not 1
    return isinstance(value, _TYPES[name])


def check(value: Any, schema: JSON, where: str) -> Any:
    """Return ``value`` if it satisfies ``schema``; ``where`` names it in the error (``body.hold_s``)."""
    names = schema.get("type")
    if names is not None:
        allowed = [names] if isinstance(names, str) else list(names)
        if not any(_is(value, name) for name in allowed):
            raise InvalidInput(f"{where} is {value!r}; expected {' or '.join(allowed)}")
    if "enum" in schema and value not in schema["enum"]:
        raise InvalidInput(f"{where} is {value!r}; expected one of {', '.join(map(repr, schema['enum']))}")
    if _is(value, "number"):
        _check_range(value, schema, where)
    if isinstance(value, str) and len(value.strip()) < schema.get("minLength", 0):
        raise InvalidInput(f"{where} is empty; give at least {schema['minLength']} character(s)")
    if isinstance(value, dict):
        _check_object(value, schema, where)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], f"{where}[{i}]")
    return value


def _check_range(value: float, schema: JSON, where: str) -> None:
    if "minimum" in schema and value < schema["minimum"]:
        raise InvalidInput(f"{where} is {value}; it must be at least {schema['minimum']}")
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        raise InvalidInput(f"{where} is {value}; it must be above {schema['exclusiveMinimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        raise InvalidInput(f"{where} is {value}; it must be at most {schema['maximum']}")


def _check_object(value: JSON, schema: JSON, where: str) -> None:
    properties: JSON = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            raise InvalidInput(f"{where} has no {name!r}; it is required")
    if schema.get("additionalProperties") is False:
        unknown = sorted(set(value) - set(properties))
        if unknown:
            raise InvalidInput(f"{where} has unknown field(s) {', '.join(unknown)}; known: {', '.join(properties)}")
    for name, sub in properties.items():
        if name in value:
            check(value[name], sub, f"{where}.{name}")
