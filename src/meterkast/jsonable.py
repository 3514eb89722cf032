"""Turn core values (events, frozen dataclasses) into JSON-ready dicts, deterministically.

Decimals become strings (never floats: a meter reading is never a float), datetimes ISO 8601, enums their
value, dataclasses a dict with a ``type`` key naming the class (fields hidden from ``repr``, such as keys, are
left out).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def to_jsonable(value: Any) -> Any:  # noqa: PLR0911 - one return per JSON kind reads best
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, frozenset | set):
        return sorted(to_jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"type": type(value).__name__}
        for field in dataclasses.fields(value):
            if field.repr:  # a field hidden from repr (a key) is hidden from JSON too
                out[field.name] = to_jsonable(getattr(value, field.name))
        return out
    return value
