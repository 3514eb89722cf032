"""Hold an answer to its documented schema: the subset of JSON Schema the P4 document uses."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,), "boolean": (bool,),
    "null": (type(None),),
}


def conforms(value: Any, schema: dict[str, Any], document: dict[str, Any], where: str = "answer") -> None:
    """Raise AssertionError naming the first place where ``value`` breaks ``schema``."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else kinds
        ok = any(isinstance(value, TYPES[n]) and not (n == "integer" and isinstance(value, bool)) for n in names)
        assert ok, f"{where} is {value!r}, not {names}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where} is {value!r}, not one of {schema['enum']}"
    if isinstance(value, str) and schema.get("format") == "date-time":
        assert datetime.fromisoformat(value).tzinfo is not None, f"{where} {value!r} has no offset"
    if isinstance(value, str) and "pattern" in schema:
        assert re.search(schema["pattern"], value), f"{where} {value!r} does not match {schema['pattern']}"
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where} lacks {name!r}"
        properties = schema.get("properties", {})
        if properties:
            assert set(value) <= set(properties), f"{where} has undocumented {sorted(set(value) - set(properties))}"
        for name, sub in properties.items():
            if name in value:
                conforms(value[name], sub, document, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            conforms(item, schema["items"], document, f"{where}[{i}]")
