"""Read the changed lines of a meter's next telegram in bulk ([P1-4.2.2 §5.12]; lines.py, issue 14).

``LineState`` (lines.py) knows, per line of the last telegram, how it decodes again: its *slot*
(code, kind, literal prefix up to "(", literal suffix after the number, unit, M-Bus channel). Two
readers here use the slots to turn many changed lines into values with a few calls into C:

- ``Batch``: the lines that changed together (a set of line indices), each a number or a time
  stamp. Each must start with its slot's literal prefix and end with its literal suffix
  (``map(str.startswith, …)``), and the texts between, joined, must fullmatch ``NUMS`` (every one
  ``decode.LINE``'s number) or ``STAMPS``. A line that fails fails the checks of the line-by-line
  loop too, which then takes over and says why.
- ``WholeBody``: the whole body at fixed places: the stretches between the lines that ever changed
  must equal the last body's, and the value texts in those lines are checked as above (a line of
  any other layout is decoded through the OBIS table only when its text moved). Then the body
  splits into the same lines as the last one, with only those lines' values new: a few slices
  and comparisons replace splitting, comparing and matching line by line.

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
from operator import getitem, itemgetter
from typing import TypeVar

from meterkast.p1.decode import DECODERS, LINE, raw_value
from meterkast.p1.timestamps import decode_tst
from meterkast.p1.values import Quantity, Value

NUM = re.compile(r"-?\d{1,24}(?:\.\d{1,24})?", re.ASCII)  # decode.LINE's number
# Value texts are joined by a character no Latin-1 text holds (LineState only reads telegrams given as
# bytes, decoded as Latin-1), so one fullmatch of these generic, precompiled patterns checks every
# text at once and a text cannot pass for two: no pattern is compiled per meter or per shape.
SEP = "\u0100"
NUMS = re.compile(f"{NUM.pattern}(?:{SEP}{NUM.pattern})*", re.ASCII)
STAMPS = re.compile(rf"\d{{12}}[SWsw](?:{SEP}\d{{12}}[SWsw])*", re.ASCII)
_ZEROS = bytes.maketrans(b"123456789", b"000000000")  # a number's layout: where its digits, "-" and "." are
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


def slicer(slices: Sequence[slice]) -> Callable[[str], tuple[str, ...]]:
    """The texts at ``slices`` of a string, as one tuple, in one call into C."""
    if len(slices) == 1:
        only = slices[0]
        return lambda text: (text[only],)
    return itemgetter(*slices)


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


class Batch:
    """The lines that changed together, all numbers or time stamps, read with a few calls into C."""

    __slots__ = ("channels", "codes", "numbers", "prefixes", "slices", "stamps", "suffixes", "times", "units")

    def __init__(self, changed: tuple[int, ...], slots: list[Slot]) -> None:
        dec = [(index, slot) for index, slot in zip(changed, slots, strict=True) if slot[1] == DEC]
        self.numbers = getter([index for index, _ in dec]) if dec else None
        self.prefixes = tuple(slot[2] for _, slot in dec)
        self.suffixes = tuple(slot[3] for _, slot in dec)  # never empty: at least ")"
        self.slices = tuple(slice(len(slot[2]), -len(slot[3])) for _, slot in dec)
        self.codes = tuple(slot[0] for _, slot in dec)
        self.units = tuple(slot[4] for _, slot in dec)
        self.times = [(slot[0], index, slot[2]) for index, slot in zip(changed, slots, strict=True) if slot[1] == TIME]
        self.stamps = getter([index for _, index, _ in self.times]) if self.times else None
        self.channels = {slot[5] for slot in slots if slot[5]}

    def run(self, values: dict[str, Value], lines: list[str], old: list[str]) -> Updates | None:
        """(code, value) of the changed ``lines``, or None when one is not ``prefix + number +
        suffix`` (or ``prefix + stamp + ")"``) of its slot, as the line-by-line loop checks it."""
        updates: Updates = []
        if self.numbers is not None:
            chosen: tuple[str, ...] = self.numbers(lines)
            if not all(map(str.startswith, chosen, self.prefixes)) or not all(map(str.endswith, chosen, self.suffixes)):
                return None
            texts = tuple(map(getitem, chosen, self.slices))  # "" when prefix and suffix overlap: no number
            if NUMS.fullmatch(SEP.join(texts)) is None:
                return None
            quantities = map(_new_tuple, repeat(Quantity), zip(map(Decimal, texts), self.units))  # noqa: B905
            updates += zip(self.codes, quantities)  # noqa: B905
        if self.stamps is not None:
            lines_of: tuple[str, ...] = self.stamps(lines)
            pairs = list(zip(self.times, lines_of))  # noqa: B905
            if not all(line.startswith(prefix) and line[-1:] == ")" for (_, _, prefix), line in pairs):
                return None
            stamps = [line[len(prefix) : -1] for (_, _, prefix), line in pairs]
            if STAMPS.fullmatch(SEP.join(stamps)) is None:
                return None
            for (code, index, prefix), stamp in zip(self.times, stamps):  # noqa: B905
                updates.append((code, stamp_value(values[code], stamp, old[index][len(prefix) : -1])))
        return updates


class WholeBody:
    """The whole body at fixed places: literal text between the texts of the lines that ever changed.

    A meter writes every value at a fixed width ([P1-4.2.2 §5.9]: "F8(3,3)" …), so from one
    telegram to the next the body keeps its length and each value its place. The body is checked
    by slicing out every literal stretch at once (``itemgetter`` of slices) and comparing the tuple
    with the last one; the value texts are sliced out the same way and checked by ``NUMS`` and
    ``STAMPS``. A body of another length, or with any literal byte changed, gives None (the caller
    splits it into lines then).
    """

    __slots__ = (
        "channels",
        "codes",
        "last",
        "length",
        "literal",
        "literals",
        "numbers",
        "others",
        "shape",
        "stamps",
        "texts",
        "times",
        "units",
    )

    def __init__(self, lines: list[str], slots: dict[int, Slot], start: int) -> None:
        """``slots``: the lines that ever changed (each a lone entry); ``start``: where the body starts."""
        literal: list[slice] = []
        texts: list[slice] = []
        numbers: list[int] = []
        codes: list[str] = []
        units: list[str | None] = []
        self.times: list[tuple[str, int]] = []  # (code, group)
        self.others: list[tuple[str, int, str, int]] = []  # (code, group, prefix, channel)
        at = done = start  # where the line starts; where the literal stretch being built starts
        for index, line in enumerate(lines):
            slot = slots.get(index)
            if slot is not None:
                code, kind, prefix, suffix, unit, channel = slot
                end = at + len(line) - (len(suffix) if kind == DEC else 1 if kind == TIME else 0)
                literal.append(slice(done, at + len(prefix)))
                texts.append(slice(at + len(prefix), end))
                done = end
                group = len(texts) - 1
                if kind == DEC:
                    numbers.append(group)
                    codes.append(code)
                    units.append(unit)
                elif kind == TIME:
                    self.times.append((code, group))
                else:
                    self.others.append((code, group, prefix, channel))
            at += len(line) + 2  # CR LF
        self.length = at - 2 - start
        literal.append(slice(done, start + self.length))
        body = "\r\n".join(lines)
        self.literal = slicer(literal)
        self.literals = self.literal(" " * start + body)
        self.texts = slicer(texts)
        self.codes, self.units = tuple(codes), tuple(units)
        self.numbers = getter(numbers) if numbers else None
        self.stamps = getter([group for _, group in self.times]) if self.times else None
        self.channels = frozenset(s[5] for s in slots.values() if s[5] and s[1] != OTHER)
        self.last: Sequence[str] = self.texts(" " * start + body)  # the value texts of the last telegram
        self.shape = _shape(self.numbers(self.last)) if self.numbers is not None else b""

    def read(
        self, text: str, start: int, end: int, values: dict[str, Value]
    ) -> tuple[Updates, set[int], Sequence[str]] | None:
        """(updates, M-Bus channels touched, value texts) for the body ``text[start:end]``, or None
        when it is not the last body with new values in the changing lines."""
        if end - start != self.length or self.literal(text) != self.literals:
            return None
        found: tuple[str, ...] = self.texts(text)
        updates: Updates = []
        if self.numbers is not None:
            texts: tuple[str, ...] = self.numbers(found)
            # The numbers have their places' widths; laid out as the last ones (valid numbers: digits
            # where they had digits, "-" and "." where they had those) they are valid numbers too.
            if _shape(texts) != self.shape and NUMS.fullmatch(SEP.join(texts)) is None:
                return None
            quantities = map(_new_tuple, repeat(Quantity), zip(map(Decimal, texts), self.units))  # noqa: B905
            updates += zip(self.codes, quantities)  # noqa: B905
        last = self.last
        if self.stamps is not None:
            if STAMPS.fullmatch(SEP.join(self.stamps(found))) is None:
                return None
            for code, group in self.times:
                updates.append((code, stamp_value(values[code], found[group], last[group])))
        channels = set(self.channels)
        for code, group, prefix, channel in self.others:
            if found[group] != last[group]:
                if "\r" in found[group] or "\n" in found[group]:
                    return None  # a line break inside the line: the lines are not the last ones
                updates.append((code, decode_line(prefix + found[group])))
                if channel:
                    channels.add(channel)
        return updates, channels, found


def _shape(texts: Sequence[str]) -> bytes:
    """The texts joined by LF, every digit 1-9 written 0; ValueError for a character beyond Latin-1."""
    return "\n".join(texts).encode("latin-1").translate(_ZEROS)
