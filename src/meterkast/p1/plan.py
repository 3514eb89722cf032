"""``P1Decoder``: decode a meter's telegrams with a compiled plan of their shape ([P1-4.2.2 §5.12]).

A meter sends the same objects, in the same order and widths, every second (DSMR 5) or ten seconds
(DSMR 4): only the digits change. The first telegram of a shape goes through the general decoder
(``decode.py``); from it this module compiles a *plan*: one regular expression that is the telegram
body with every value replaced by a capture group (code, separators and units stay literal), plus
the list of conversions to apply to the captured strings. The next telegram of that shape is checked
and split by a single ``fullmatch`` and converted in bulk: ``map(Decimal, …)``, ``map(int, …)``, the
TST decoder, and ``tuple.__new__`` for the value tuples, all driven from C. Every value is converted
on every telegram, exactly as the general path does; only the work of finding the values is reused.

Rules it keeps:
- the result equals ``decode_telegram``'s for the same input (tests/p1/test_plan.py checks every
  corpus telegram and generated ones);
- a telegram that does not fit its shape's plan, or whose values do not convert, goes through the
  general path, which reports what is wrong; plans are keyed by (header, body length) and at most
  ``max_shapes`` are kept, dropping the oldest;
- strict/lenient behave as in ``decode_telegram``; lenient results with errors are never planned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from operator import itemgetter
from typing import cast

from meterkast.p1.decode import (
    DECODERS,
    LAYOUT_DECODERS,
    LAYOUTS,
    LINE,
    Decoder,
    decode_framed,
    frame_telegram,
)
from meterkast.p1.obis import Layout
from meterkast.p1.telegram import Header, MbusDevice, Telegram
from meterkast.p1.timestamps import decode_tst
from meterkast.p1.values import CapturedValue, Quantity, Value

_NUM = r"(-?\d{1,24}(?:\.\d{1,24})?)"
_TST = r"(\d{12}[SW])"
_GROUPS = r"((?:\([^()\r\n]*\))+(?:\r?\n\([^()\r\n]*\))*)"
_new_quantity = partial(tuple.__new__, Quantity)
_new_captured = partial(tuple.__new__, CapturedValue)
Getter = Callable[[Sequence[str | None]], Sequence[str]]


def _getter(indices: list[int]) -> Getter:
    if len(indices) == 1:
        only = indices[0]
        return lambda groups: (groups[only],)  # type: ignore[return-value]  # regex groups matched
    return itemgetter(*indices)


def _unit(unit: str) -> str:
    return rf"\*{re.escape(unit)}\)" if unit else r"\)"


class _Plan:
    """The compiled shape of one meter's telegrams."""

    def __init__(self, body: str, telegram: Telegram) -> None:
        pattern: list[str] = []
        position = 0
        kinds: dict[str, list[tuple[str, int, str | None]]] = {k: [] for k in ("dec", "int", "str", "tst", "cap")}
        self.calls: list[tuple[str, Decoder, int]] = []
        group = 0
        for match in LINE.finditer(body):
            code, num, unit, groups, bad = match.groups()
            if bad:
                raise ValueError("a bad line cannot be planned")
            line = match.group(0)
            pattern.append(re.escape(body[position : match.start()]))
            pattern.append(re.escape(line[: line.index("(")]))
            layout = LAYOUTS.get(code)
            if layout is Layout.REGISTER and num:
                pattern.append(r"\(" + _NUM + _unit(unit))
                kinds["dec"].append((code, group, unit or None))
            elif layout is Layout.COUNT and num and not unit:
                pattern.append(r"\((\d{1,24})\)")
                kinds["int"].append((code, group, None))
            elif layout is Layout.TEXT and not unit:
                pattern.append(r"\(([^()\r\n]*)\)")
                kinds["str"].append((code, group, None))
            elif layout is Layout.TIMESTAMP:
                pattern.append(r"\(" + _TST + r"\)")
                kinds["tst"].append((code, group, None))
            elif layout is Layout.CAPTURED:
                captured = telegram.values[code]
                if not isinstance(captured, CapturedValue):
                    raise ValueError("captured value expected")
                pattern.append(r"\(" + _TST + r"\)\(" + _NUM + _unit(captured.unit or ""))
                kinds["cap"].append((code, group, captured.unit))
                group += 1
            else:
                if not groups:
                    raise ValueError("a one-number line of this layout stays on the general path")
                pattern.append(_GROUPS)
                self.calls.append((code, DECODERS.get(code, LAYOUT_DECODERS[Layout.RAW]), group))
            group += 1
            position = match.end() - line.endswith("\r")  # the CR belongs to the separator
        pattern.append(re.escape(body[position:]))
        self.regex = re.compile("".join(pattern), re.ASCII)
        self.codes = tuple(telegram.values)
        self.unknown = telegram.unknown
        self.header: Header = telegram.header
        self.channels = tuple((channel, tuple(device.values)) for channel, device in telegram.mbus.items())
        self.dec_codes, self.dec_get, self.dec_units = self._column(kinds["dec"])
        self.int_codes, self.int_get, _ = self._column(kinds["int"])
        self.str_codes, self.str_get, _ = self._column(kinds["str"])
        self.tst_codes, self.tst_get, _ = self._column(kinds["tst"])
        self.cap_codes, self.cap_time_get, self.cap_units = self._column(kinds["cap"])
        self.cap_value_get = _getter([i + 1 for _, i, _ in kinds["cap"]]) if kinds["cap"] else None

    @staticmethod
    def _column(
        items: list[tuple[str, int, str | None]],
    ) -> tuple[tuple[str, ...], Getter | None, tuple[str | None, ...]]:
        if not items:
            return (), None, ()
        return tuple(c for c, _, _ in items), _getter([i for _, i, _ in items]), tuple(u for _, _, u in items)

    def run(self, body: str, crc: int | None, crc_ok: bool | None) -> Telegram | None:
        match = self.regex.fullmatch(body)
        if match is None:
            return None
        g = match.groups()
        values = cast(dict[str, Value], dict.fromkeys(self.codes))  # telegram order; all filled below
        try:
            if self.dec_get is not None:
                quantities = zip(map(Decimal, self.dec_get(g)), self.dec_units, strict=True)
                values.update(zip(self.dec_codes, map(_new_quantity, quantities), strict=True))
            if self.int_get is not None:
                values.update(zip(self.int_codes, map(int, self.int_get(g)), strict=True))
            if self.str_get is not None:
                values.update(zip(self.str_codes, self.str_get(g), strict=True))
            if self.tst_get is not None:
                values.update(zip(self.tst_codes, map(decode_tst, self.tst_get(g)), strict=True))
            if self.cap_time_get is not None and self.cap_value_get is not None:
                times = map(decode_tst, self.cap_time_get(g))
                readings = zip(times, map(Decimal, self.cap_value_get(g)), self.cap_units, strict=True)
                values.update(zip(self.cap_codes, map(_new_captured, readings), strict=True))
            for code, decoder, index in self.calls:
                values[code] = decoder("", "", g[index] or "")
        except (ValueError, ArithmeticError):
            return None  # the general path will say which line is wrong
        mbus = {
            channel: MbusDevice(channel, {code: values[code] for code in codes}) for channel, codes in self.channels
        }
        return Telegram(self.header, values, mbus, crc, crc_ok, self.unknown, ())


class P1Decoder:
    """Decodes one meter's telegrams, reusing the compiled shape of telegrams it has seen."""

    def __init__(self, *, max_shapes: int = 8) -> None:
        self._plans: dict[tuple[str, int], _Plan | None] = {}
        self._max_shapes = max_shapes
        self.planned = 0  # telegrams decoded through a plan (for tests and diagnostics)

    def decode(
        self, data: bytes | bytearray | memoryview | str, *, strict: bool = False, lenient: bool = False
    ) -> Telegram:
        framed = frame_telegram(data, strict=strict)
        key = (framed.header, len(framed.body))
        plan = self._plans.get(key)
        if plan is not None:
            telegram = plan.run(framed.body, framed.crc, framed.crc_ok)
            if telegram is not None:
                self.planned += 1
                return telegram
        telegram = decode_framed(framed, lenient=lenient)
        if not telegram.errors:
            self._remember(key, framed.body, telegram)
        return telegram

    def _remember(self, key: tuple[str, int], body: str, telegram: Telegram) -> None:
        try:
            plan: _Plan | None = _Plan(body, telegram)
        except (ValueError, re.error):
            plan = None  # a shape the planner does not cover stays on the general path
        self._plans.pop(key, None)
        self._plans[key] = plan
        while len(self._plans) > self._max_shapes:
            del self._plans[next(iter(self._plans))]
