"""``P1Decoder``: decode one meter's telegrams with a compiled plan of their shape ([P1-4.2.2 §5.12]).

A meter sends the same objects, in the same order and widths, every second (DSMR 5) or ten seconds
(DSMR 4): only the digits change, and most lines not even those (identifiers, tariff, counters, the
failure log, the gas reading within its hour, the text message). The first telegram of a shape goes
through the general decoder (``decode.py``); from it this module compiles a *plan*: one regular
expression that is the telegram body with every value replaced by a capture group (codes,
separators and units stay literal). The next telegram of that shape is checked and split by a single
``fullmatch``, and its value texts become values through *value memos*: the text of a value (with
its unit) → the value. A value depends on its text alone and values are immutable, so a text seen
before gives the same, equal object without converting it again; texts not seen before are converted
in bulk (``map(Decimal, …)``, ``tuple.__new__`` for the value tuples, all driven from C). Every
telegram is still framed, CRC-checked and matched in full; only identical value text is reused.

Before all this, a telegram (bytes) with the same header and line count as the meter's last one is
decoded line by line from it (``lines.py``: only lines whose text changed are decoded); the plan is
the path for the first telegram of a shape and whatever ``lines.py`` turns down.

Rules it keeps:
- the result equals ``decode_telegram``'s for the same input (tests/p1/test_plan.py and
  tests/p1/test_plan_streams.py check every corpus telegram, generated ones and changing streams);
- a telegram that does not fit its shape's plan, or whose values do not convert, goes through the
  general path, which reports what is wrong; plans are keyed by (header, body length) and at most
  ``max_shapes`` are kept, dropping the oldest; each memo holds at most ``MEMO_VALUES`` texts and is
  emptied when full, so a long stream pays the first-sight cost again now and then;
- strict/lenient behave as in ``decode_telegram``; results with errors or notes are never planned, and a
  telegram with problems around its lines (text before ``/`` or after the CRC) takes the general path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from itertools import filterfalse, repeat
from operator import itemgetter
from typing import TypeVar

from meterkast.p1.batches import decode_line
from meterkast.p1.decode import LAYOUTS, LINE, decode_framed
from meterkast.p1.frame_text import frame_telegram
from meterkast.p1.lines import LineState, new_device, new_telegram
from meterkast.p1.obis import Layout
from meterkast.p1.telegram import Header, Telegram
from meterkast.p1.timestamps import decode_tst
from meterkast.p1.values import CapturedValue, Quantity, Value

MEMO_VALUES = 4096  # a DSMR 5 meter shows ~10 new values a second: each memo emptied every few minutes

_NUM = r"-?\d{1,24}(?:\.\d{1,24})?"
_TST = r"\d{12}[SWsw]"
_GROUPS = r"((?:\([^()\r\n]*\))+(?:\r?\n\([^()\r\n]*\))*)"
_new_quantity = partial(tuple.__new__, Quantity)
_new_captured = partial(tuple.__new__, CapturedValue)
_UNIT_OR_NONE: dict[str, str | None] = {"": None}
T = TypeVar("T")


def _getter(indices: Sequence[int]) -> Callable[[Sequence[T]], Sequence[T]]:
    """``itemgetter`` that gives a tuple for one index too."""
    if len(indices) == 1:
        only = indices[0]
        return lambda items: (items[only],)
    return itemgetter(*indices)


def _quantities(texts: list[str]) -> list[Quantity]:
    """``num*unit`` / ``num`` texts (checked by the plan's pattern) → Quantity, converted in C."""
    numbers, _, units = zip(*map(str.partition, texts, repeat("*")), strict=True)
    return list(map(_new_quantity, zip(map(Decimal, numbers), map(_UNIT_OR_NONE.get, units, units), strict=True)))


def _captured(texts: list[str]) -> list[CapturedValue]:
    """``TST)(num*unit`` texts → CapturedValue (rare: a new reading every 5 minutes or hour)."""
    found = []
    for text in texts:
        quantity = _quantities([text[15:]])[0]
        found.append(_new_captured((decode_tst(text[:13]), quantity.value, quantity.unit)))
    return found


def _learn(
    memo: dict[str, Value], texts: Sequence[str], convert: Callable[[list[str]], Sequence[Value]]
) -> list[Value]:
    """The memo's values for ``texts``, converting (and remembering) the texts it lacks."""
    try:
        return list(map(memo.__getitem__, texts))
    except KeyError:
        pass
    if len(memo) > MEMO_VALUES:
        memo.clear()
    new = list(dict.fromkeys(filterfalse(memo.__contains__, texts)))
    memo.update(zip(new, convert(new), strict=True))
    return list(map(memo.__getitem__, texts))


class _Plan:
    """The compiled shape of one meter's telegrams."""

    def __init__(self, body: str, telegram: Telegram) -> None:
        if not telegram.values:
            raise ValueError("a telegram without data lines has nothing to plan")
        pattern: list[str] = []
        position = 0
        kinds: dict[str, tuple[list[str], list[int]]] = {
            k: ([], []) for k in ("dec", "int", "str", "tst", "cap", "line")
        }
        self.prefixes: list[str] = []  # literal line start of each "line" group, e.g. "1-0:99.97.0"
        for group, match in enumerate(LINE.finditer(body)):
            code, num, unit, _, bad = match.groups()
            if bad:
                raise ValueError("a bad line cannot be planned")
            line = match.group(0)
            prefix = line[: line.index("(")]
            pattern.append(re.escape(body[position : match.start()]))
            pattern.append(re.escape(prefix))
            layout = LAYOUTS.get(code)
            kind = "line"
            if layout is Layout.REGISTER and num:
                pattern.append(rf"\(({_NUM}{re.escape('*' + unit) if unit else ''})\)")
                kind = "dec"
            elif layout is Layout.COUNT and num and not unit:
                pattern.append(r"\((\d{1,24})\)")
                kind = "int"
            elif layout is Layout.TEXT and not unit:
                pattern.append(r"\(([^()\r\n]*)\)")
                kind = "str"
            elif layout is Layout.TIMESTAMP and not num:
                pattern.append(rf"\(({_TST})\)")
                kind = "tst"
            elif layout is Layout.CAPTURED and isinstance(captured := telegram.values[code], CapturedValue):
                unit_text = re.escape("*" + captured.unit) if captured.unit else ""
                pattern.append(rf"\(({_TST}\)\({_NUM}{unit_text})\)")
                kind = "cap"
            else:
                pattern.append(_GROUPS)
                self.prefixes.append(prefix)
            kinds[kind][0].append(code)
            kinds[kind][1].append(group)
            # Blanks after the last ")" and the CR belong to the separator (literal in the pattern).
            position = match.start() + len(line.rstrip(" \t\r"))
        pattern.append(re.escape(body[position:]))
        self.regex = re.compile("".join(pattern), re.ASCII)
        self.codes = tuple(telegram.values)
        self.unknown = telegram.unknown
        self.header: Header = telegram.header
        self.channels = tuple(
            (channel, tuple(device.values), itemgetter(*device.values) if len(device.values) > 1 else None)
            for channel, device in telegram.mbus.items()
        )
        columns = [kinds[k] for k in ("dec", "int", "str", "tst", "cap", "line")]
        self.dec, self.int, self.str, self.tst, self.cap, self.line = (
            _getter(indices) if indices else None for _, indices in columns
        )
        kind_order = [code for codes, _ in columns for code in codes]  # the order run() finds them in
        self.order = _getter([kind_order.index(code) for code in self.codes])
        if len(set(kind_order)) != len(kind_order) or tuple(kind_order) != tuple(
            sorted(self.codes, key=kind_order.index)
        ):
            raise ValueError("a code twice cannot be planned")

    def run(self, body: str, crc: int | None, crc_ok: bool | None, memos: _Memos) -> Telegram | None:
        match = self.regex.fullmatch(body)
        if match is None:
            return None
        g: tuple[str, ...] = match.groups()  # every group is in the pattern once and matched
        try:
            found: list[Value] = []
            if (get := self.dec) is not None:
                found += _learn(memos.dec, get(g), _quantities)
            if (get := self.int) is not None:
                found += _learn(memos.int, get(g), _ints)
            if (get := self.str) is not None:
                found += get(g)
            if (get := self.tst) is not None:
                found += _learn(memos.tst, get(g), _timestamps)
            if (get := self.cap) is not None:
                found += _learn(memos.cap, get(g), _captured)
            if (get := self.line) is not None:
                found += _learn(memos.line, list(map(str.__add__, self.prefixes, get(g))), _lines)
        except (ValueError, ArithmeticError):
            return None  # the general path will say which line is wrong
        values = dict(zip(self.codes, self.order(found), strict=True))  # back in telegram order
        mbus = {
            channel: new_device(
                channel, dict(zip(codes, get(values), strict=True)) if get else {codes[0]: values[codes[0]]}
            )
            for channel, codes, get in self.channels
        }
        return new_telegram(self.header, values, mbus, crc, crc_ok, self.unknown)


def _timestamps(texts: list[str]) -> list[Value]:
    return list(map(decode_tst, texts))


def _ints(texts: list[str]) -> list[Value]:
    return list(map(int, texts))


def _lines(lines: list[str]) -> list[Value]:
    return list(map(decode_line, lines))


class _Memos:
    """Value text → value, per kind of text; shared by the plans of one decoder."""

    __slots__ = ("cap", "dec", "int", "line", "tst")

    def __init__(self) -> None:
        self.dec: dict[str, Value] = {}
        self.int: dict[str, Value] = {}
        self.tst: dict[str, Value] = {}
        self.cap: dict[str, Value] = {}
        self.line: dict[str, Value] = {}


class P1Decoder:
    """Decodes one meter's telegrams, reusing the compiled shape and the values of telegrams it has seen."""

    def __init__(self, *, max_shapes: int = 8) -> None:
        self._plans: dict[tuple[str, int], _Plan | None] = {}
        self._max_shapes = max_shapes
        self._memos = _Memos()
        self._state: LineState | None = None  # the last telegram, line by line (lines.py)
        self.planned = 0  # telegrams decoded from an earlier one's shape: plan or lines (tests, diagnostics)

    def decode(
        self, data: bytes | bytearray | memoryview | str, *, strict: bool = False, lenient: bool = True
    ) -> Telegram:
        state = self._state
        if state is not None and type(data) is bytes:
            telegram = state.step(data, strict=strict)
            if telegram is not None:
                self.planned += 1
                return telegram
        framed = frame_telegram(data, strict=strict)
        key = (framed.header, len(framed.body))
        plan = None if framed.problems or framed.notes else self._plans.get(key)
        telegram = None if plan is None else plan.run(framed.body, framed.crc, framed.crc_ok, self._memos)
        if telegram is not None:
            self.planned += 1
        else:
            telegram = decode_framed(framed, lenient=lenient)
            if telegram.errors or telegram.notes:
                return telegram
            self._remember(key, framed.body, telegram)
        if type(data) is bytes:
            try:
                self._state = LineState(framed.text, framed, telegram)
            except ValueError:
                self._state = None  # e.g. a code sent twice: the plan alone decodes this shape
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
