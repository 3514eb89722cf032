"""Request fields of the P4 API as data: where each comes from, its JSON Schema, and how it is parsed.

One :class:`Field` drives both the parsing of a request (``parse_request``) and its OpenAPI description
(``openapi.py``), so the two cannot drift. Rules this module keeps:
- every value is checked before the store sees it; a bad one raises :class:`FieldError` naming the field
  as ``where.name`` (``body.valid_from``, ``query.scope``, ``path.ean``, ``header.X-Meter-Number``);
- instants are ISO 8601 with a UTC offset; a naive time is refused (it would silently mean some zone);
- a body is one JSON object: malformed JSON, duplicate keys, NaN/Infinity, unknown or missing fields,
  and wrong JSON types are refused; query parameters may appear once and must be known;
- nothing here touches the store, the clock or randomness.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from meterkast.central.model import Connection
from meterkast.errors import InvalidInput
from meterkast.p4.errors import FieldError

JSON = dict[str, Any]
Where = Literal["path", "query", "header", "body"]
Parser = Callable[[object, str], object]
MAX_TEXT = 200


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    where: Where
    schema: JSON
    description: str
    parse: Parser
    required: bool = True
    default: object = None

    @property
    def label(self) -> str:
        return f"{self.where}.{self.name}"


def _string(raw: object, label: str, max_chars: int = MAX_TEXT) -> str:
    if not isinstance(raw, str):
        raise FieldError(label, f"{label} is {type(raw).__name__} {_short(raw)}; expected a JSON string")
    if len(raw) > max_chars:
        raise FieldError(label, f"{label} has {len(raw)} characters; at most {max_chars} are allowed")
    return raw


def _short(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 40 else f"{text[:37]}..."


def text(max_chars: int = MAX_TEXT, pattern: str | None = None, hint: str = "") -> Parser:
    compiled = re.compile(pattern) if pattern else None

    def parse(raw: object, label: str) -> str:
        value = _string(raw, label, max_chars)
        if not value.strip():
            raise FieldError(label, f"{label} is empty; give {hint or 'a text'}")
        if compiled is not None and not compiled.fullmatch(value):
            raise FieldError(label, f"{label} {_short(value)} is not {hint}")
        return value

    return parse


def choice(values: Sequence[str], convert: Callable[[str], object] = str) -> Parser:
    def parse(raw: object, label: str) -> object:
        value = _string(raw, label)
        if value not in values:
            raise FieldError(label, f"{label} is {_short(value)}; expected one of {', '.join(values)}")
        return convert(value)

    return parse


def instant(raw: object, label: str) -> datetime:
    """ISO 8601 with an offset, e.g. ``2025-01-01T00:00:00+01:00`` or ``…Z``; returned in UTC."""
    value = _string(raw, label, 64)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(label, f"{label} {_short(value)} is not an ISO 8601 time such as "
                                "2025-01-01T00:00:00+01:00") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FieldError(label, f"{label} {_short(value)} has no UTC offset; add one (e.g. +01:00 or Z): "
                                "a time without an offset does not name an instant")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise FieldError(label, f"{label} {_short(value)} lies outside the years 1–9999 in UTC") from None


def ean(raw: object, label: str) -> Connection:
    value = _string(raw, label, 64)
    try:
        return Connection(value)
    except InvalidInput as exc:
        raise FieldError(label, f"{label}: {exc}") from None


def positive_int(raw: object, label: str) -> int:
    value = _string(raw, label, 18)
    if not (value.isascii() and value.isdigit() and int(value) >= 1):
        raise FieldError(label, f"{label} is {_short(value)}; expected a whole number from 1 up")
    return int(value)


def header_text(raw: object, label: str) -> str:
    return _string(raw, label, 64)


# ---- requests -------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> JSON:
    out: JSON = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def decode_body(raw: bytes) -> JSON:
    """The request body as a JSON object; an empty body is an empty object."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        raise FieldError("body", f"the request body is not valid JSON ({reason[:80]}); send one JSON object",
                         "malformed_json") from None
    if not isinstance(value, dict):
        raise FieldError("body", f"the request body is a JSON {type(value).__name__}; send one JSON object")
    return value


def _collect(fields: Sequence[Field], given: Mapping[str, object], where: Where) -> dict[str, object]:
    ours = [f for f in fields if f.where == where]
    known = {f.name for f in ours}
    unknown = sorted(name for name in given if name not in known)
    if unknown and where in ("query", "body"):
        listed = ", ".join(sorted(known)) or "none"
        raise FieldError(f"{where}.{unknown[0]}", f"{where}.{unknown[0]} is not a field of this request "
                                                  f"(known: {listed})", "unknown_field")
    args: dict[str, object] = {}
    for f in ours:
        if f.name in given:
            args[f.name] = f.parse(given[f.name], f.label)
        elif f.required:
            raise FieldError(f.label, f"{f.label} is missing; it is required ({f.description})", "missing_field")
        else:
            args[f.name] = f.default
    return args


def parse_request(
    fields: Sequence[Field],
    path: Mapping[str, str],
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    body: JSON,
) -> dict[str, object]:
    """The checked arguments of one request, by field name; raises FieldError naming the first bad one."""
    seen: dict[str, str] = {}
    for name, value in query:
        if name in seen:
            raise FieldError(f"query.{name}", f"query.{name} is given more than once; give it once")
        seen[name] = value
    header_values = {f.name: headers[f.name] for f in fields if f.where == "header" and f.name in headers}
    return {
        **_collect(fields, path, "path"),
        **_collect(fields, seen, "query"),
        **_collect(fields, header_values, "header"),
        **_collect(fields, body, "body"),
    }


def body_schema(fields: Sequence[Field]) -> JSON | None:
    """The closed JSON object schema of the body fields, or None if the request has no body."""
    ours = [f for f in fields if f.where == "body"]
    if not ours:
        return None
    return {
        "type": "object",
        "properties": {f.name: {**f.schema, "description": f.description} for f in ours},
        "required": [f.name for f in ours if f.required],
        "additionalProperties": False,
    }
