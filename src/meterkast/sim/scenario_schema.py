"""Reading a scenario's TOML with key paths: typed values, refused unknown keys, durations and aware times.

The schema itself (which tables and keys a scenario has) is in ``meterkast.sim.scenario`` and
``docs/scenarios.md``; this module only hands out checked values from the parsed TOML.

Rules this module keeps:
- every rule broken raises ``InvalidInput`` naming the source, the key path (``timeline[2].probability``)
  and the rule; a table refuses the keys nobody took (``Table.done``: a typo must not silently do nothing);
- times are aware: a TOML offset date-time, an ISO 8601 string with an offset, or ``"+2d3h"`` after the
  start; a time without an offset is refused (it would silently mean some zone);
- no I/O: the text is parsed by the caller.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from meterkast.errors import InvalidInput
from meterkast.timeutil import require_utc
from meterkast.units import to_decimal

_DURATION = re.compile(r"(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")
_MISSING: Any = object()


class Table:
    """A TOML table that knows its key path, hands out typed values and refuses keys nobody took."""

    def __init__(self, data: dict[str, Any], path: str, source: str) -> None:
        self.data, self.path, self.source = data, path, source
        self._taken: set[str] = set()

    def fail(self, key: str | None, rule: str) -> InvalidInput:
        where = f"{self.path}.{key}" if key and self.path else (key or self.path or "top level")
        return InvalidInput(f"{self.source}: {where}: {rule}")

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._taken.add(key)
        if key in self.data:
            return self.data[key]
        if default is _MISSING:
            raise self.fail(key, "is required")
        return default

    def text(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is not default and not isinstance(value, str):
            raise self.fail(key, f"must be a string, not {value!r}")
        return value

    def number(self, key: str, default: Any = _MISSING, *, low: float | None = None, high: float | None = None) -> Any:
        value = self.raw(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"must be a number, not {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.fail(key, f"{value} must lie between {low} and {high}")
        return float(value)

    def integer(self, key: str, default: Any = _MISSING, *, low: int, high: int) -> Any:
        value = self.raw(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(key, f"must be a whole number from {low} to {high}, not {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, not {value!r}")
        return value

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING) -> Any:
        value = self.text(key, default)
        if value is not default and value not in options:
            raise self.fail(key, f"{value!r} is not one of {', '.join(options)}")
        return value

    def decimal(self, key: str, default: Decimal) -> Decimal:
        value = self.raw(key, default)
        if isinstance(value, Decimal):
            return value
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"must be a number or a decimal string, not {value!r}")
        try:
            result = to_decimal(value, key)
        except InvalidInput as exc:
            raise self.fail(key, str(exc)) from exc
        if result < 0:
            raise self.fail(key, f"{result} must not be negative")
        return result

    def key16(self, key: str) -> bytes | None:
        value = self.text(key, None)
        if value is None:
            return None
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) != 16:
            raise self.fail(key, "must be 32 hex digits (an AES-128 key)")
        return raw

    def table(self, key: str) -> Table:
        value = self.raw(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return Table(value, f"{self.path}.{key}" if self.path else key, self.source)

    def tables(self, key: str) -> list[Table]:
        value = self.raw(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, f"must be an array of tables ([[{key}]])")
        return [Table(v, f"{key}[{i}]", self.source) for i, v in enumerate(value)]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self._taken)
        if unknown:
            raise self.fail(unknown[0], f"unknown key (known here: {', '.join(sorted(self._taken))})")


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"4m"``, ``"2h30m"``, ``"1d 6h"``: days, hours, minutes, seconds, in that order."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise InvalidInput(f"duration {text!r} must look like '1d2h30m10s' (any of the parts, in that order)")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def aware_time(value: Any, table: Table, key: str, start: datetime | None) -> datetime:
    if isinstance(value, str) and value.strip().startswith("+") and start is not None:
        try:
            return start + parse_duration(value.strip()[1:])
        except InvalidInput as exc:
            raise table.fail(key, str(exc)) from exc
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise table.fail(key, f"{value!r} is neither an ISO 8601 time with offset nor '+<duration>'") from None
    if not isinstance(value, datetime):
        raise table.fail(key, f"must be a date-time with offset (2025-10-26T00:30:00Z) or '+2h', not {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise table.fail(key, f"{value.isoformat()} has no offset; write Z or +01:00 so the instant is unambiguous")
    return require_utc(value)
