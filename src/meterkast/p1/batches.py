"""Read the changed lines of a meter's next telegram in bulk ([P1-4.2.2 §5.12]; lines.py, issue 14).

``LineState`` (lines.py) knows, per line of the last telegram, how it decodes again: its *slot*
(code, kind, literal prefix up to "(", literal suffix after the number, unit, M-Bus channel). Two
readers here use the slots to turn many changed lines into values with a few calls into C:

- ``Batch``: the lines that changed together (a set of line indices), each a number or a time
  stamp. The changed lines, joined by LF, are matched in full by one pattern: each slot's literal
  prefix, the number (``decode.LINE``'s) or stamp, the literal suffix. A line that is not
  ``prefix + number + suffix`` fails the match exactly as it fails the checks of the line-by-line
  loop, which then takes over and says why.
- ``WholeBody``: one pattern for the whole body: the lines that never changed as literal text, the
  lines that ever changed as their slot's pattern (a line of any other layout as
  ``prefix([^\\r\\n]*)``, decoded through the OBIS table only when its text moved). A full match
  means the body splits into the same lines as the last one, with only those lines' values new;
  so one ``fullmatch`` replaces splitting, comparing and matching line by line.

Numbers become Quantities in C (``map(Decimal, …)``, ``tuple.__new__``). Every value equals the one
``decode_framed`` gives for the same text (tests/p1/test_batches.py, test_lines.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from itertools import repeat
from operator import itemgetter
from typing import TypeVar

from meterkast.p1.decode import DECODERS, LINE, raw_value
from meterkast.p1.timestamps import decode_tst
from meterkast.p1.values import Quantity, Value

NUM = re.compile(r"-?\d{1,24}(?:\.\d{1,24})?", re.ASCII)  # decode.LINE's number
STAMP = r"(\d{12}[SWsw])\)"  # a time stamp slot: the stamp, then the line's ")" and nothing more
DEC, TIME, OTHER = 0, 1, 2  # how a line is decoded again: number (*unit), time stamp, via LINE
# (code, kind, prefix, suffix, unit, channel). prefix: the line up to and including "(", e.g.
# "1-0:1.8.1("; DEC lines: suffix is what follows the number ("*kWh)" or ")") and unit its unit;
# channel: the code's M-Bus channel, or 0.
Slot = tuple[str, int, str, str, str | None, int]
new_quantity = partial(tuple.__new__, Quantity)  # one Quantity from (value, unit), in C
_new_tuple = tuple.__new__
T = TypeVar("T")
Updates = list[tuple[str, Value]]


def getter(indices: Sequence[int]) -> Callable[[Sequence[T]], tuple[T, ...]]:
    """``itemgetter`` that gives a tuple for one index too."""
    if len(indices) == 1:
        only = indices[0]
        return lambda items: (items[only],)
    return itemgetter(*indices)


def decode_line(line: str) -> Value:
    """One whole line through decode.LINE and the OBIS table, exactly as ``decode_framed`` reads it."""
    match = LINE.match(line)
    if match is None or match.end() != len(line) or match.group(5) is not None:
        raise ValueError("not a whole OBIS line")
    code, num, unit, groups, _ = match.groups()
    return DECODERS.get(code, raw_value)(num, unit, groups)


def stamp_value(previous: Value, stamp: str, old: str) -> Value:
    """``YYMMDDhhmmssX`` (checked); when only the seconds moved since ``old``, ``previous`` with new seconds."""
    if stamp[:10] == old[:10] and stamp[12:] == old[12:] and isinstance(previous, datetime):
        # Same minute and DST letter: decode_tst would build these very fields (fold included).
        return previous.replace(second=int(stamp[10:12]))
    return decode_tst(stamp)


def slot_pattern(slot: Slot) -> str:
    """The pattern of one line of this slot, with one group: the number, the stamp or the rest."""
    _, kind, prefix, suffix, _, _ = slot
    if kind == DEC:
        return f"{re.escape(prefix)}({NUM.pattern}){re.escape(suffix)}"
    if kind == TIME:
        return re.escape(prefix) + STAMP
    return re.escape(prefix) + r"([^\r\n]*)"


def slot_text(slot: Slot, line: str) -> str:
    """What ``slot_pattern``'s group holds for ``line`` (a line that fits the slot)."""
    _, kind, prefix, suffix, _, _ = slot
    if kind == DEC:
        return line[len(prefix) : len(line) - len(suffix)]
    if kind == TIME:
        return line[len(prefix) : -1]
    return line[len(prefix) :]


class Batch:
    """The lines that changed together, all numbers or time stamps, read by one pattern."""

    __slots__ = ("channels", "codes", "getter", "numbers", "regex", "times", "units")

    def __init__(self, changed: tuple[int, ...], slots: list[Slot]) -> None:
        numbers: list[int] = []
        codes: list[str] = []
        units: list[str | None] = []
        self.times: list[tuple[str, int, int]] = []  # (code, line index, where the stamp starts)
        for group, (index, slot) in enumerate(zip(changed, slots, strict=True)):
            if slot[1] == DEC:
                numbers.append(group)
                codes.append(slot[0])
                units.append(slot[4])
            else:
                self.times.append((slot[0], index, len(slot[2])))
        self.codes, self.units = tuple(codes), tuple(units)
        self.regex = re.compile("\n".join(map(slot_pattern, slots)), re.ASCII)
        self.getter = getter(changed)
        self.numbers = getter(numbers) if numbers else None
        self.channels = {slot[5] for slot in slots if slot[5]}

    def run(self, values: dict[str, Value], lines: list[str], old: list[str]) -> Updates | None:
        """(code, value) of the changed ``lines``, or None when one does not fit its slot."""
        match = self.regex.fullmatch("\n".join(self.getter(lines)))
        if match is None:
            return None
        updates: Updates = []
        if self.numbers is not None:
            # Lengths agree by construction (one group per slot), so no strict zip: this runs per telegram.
            texts: tuple[str, ...] = self.numbers(match.groups())
            quantities = map(_new_tuple, repeat(Quantity), zip(map(Decimal, texts), self.units))  # noqa: B905
            updates += zip(self.codes, quantities)  # noqa: B905
        for code, index, start in self.times:
            updates.append((code, stamp_value(values[code], lines[index][start:-1], old[index][start:-1])))
        return updates


class WholeBody:
    """The whole body as one pattern: literal lines, and a group for each line that ever changed."""

    __slots__ = ("channels", "codes", "last", "numbers", "others", "regex", "times", "units")

    def __init__(self, lines: list[str], slots: dict[int, Slot]) -> None:
        """``slots``: the lines that ever changed (each a lone entry); the others stay literal."""
        parts: list[str] = []
        numbers: list[int] = []
        codes: list[str] = []
        units: list[str | None] = []
        self.times: list[tuple[str, int]] = []  # (code, group)
        self.others: list[tuple[str, int, str, int]] = []  # (code, group, prefix, channel)
        last: list[str] = []
        for index, line in enumerate(lines):
            slot = slots.get(index)
            if slot is None:
                parts.append(re.escape(line))
                continue
            group = len(last)
            parts.append(slot_pattern(slot))
            last.append(slot_text(slot, line))
            code, kind, prefix, _, unit, channel = slot
            if kind == DEC:
                numbers.append(group)
                codes.append(code)
                units.append(unit)
            elif kind == TIME:
                self.times.append((code, group))
            else:
                self.others.append((code, group, prefix, channel))
        self.regex = re.compile("\r\n".join(parts), re.ASCII)
        self.codes, self.units = tuple(codes), tuple(units)
        self.numbers = getter(numbers) if numbers else None
        self.channels = frozenset(s[5] for s in slots.values() if s[5] and s[1] != OTHER)
        self.last: Sequence[str] = tuple(last)  # the group texts of the last telegram

    def refresh(self, lines: list[str], slots: dict[int, Slot]) -> None:
        """Take the group texts of ``lines`` (a telegram decoded by another path) as the last ones."""
        self.last = tuple(slot_text(slot, lines[index]) for index, slot in sorted(slots.items()))

    def read(
        self, text: str, start: int, end: int, values: dict[str, Value]
    ) -> tuple[Updates, set[int], Sequence[str]] | None:
        """(updates, M-Bus channels touched, group texts) for the body ``text[start:end]``, or None
        when it is not the last body with new values in the changing lines."""
        match = self.regex.fullmatch(text, start, end)
        if match is None:
            return None
        found = match.groups()
        updates: Updates = []
        if self.numbers is not None:
            texts: tuple[str, ...] = self.numbers(found)
            quantities = map(_new_tuple, repeat(Quantity), zip(map(Decimal, texts), self.units))  # noqa: B905
            updates += zip(self.codes, quantities)  # noqa: B905
        last = self.last
        for code, group in self.times:
            updates.append((code, stamp_value(values[code], found[group], last[group])))
        channels = set(self.channels)
        for code, group, prefix, channel in self.others:
            if found[group] != last[group]:
                updates.append((code, decode_line(prefix + found[group])))
                if channel:
                    channels.add(channel)
        return updates, channels, found
