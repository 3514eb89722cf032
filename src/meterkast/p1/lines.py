"""``LineState``: decode a meter's next telegram from its last one, line by line ([P1-4.2.2 §5.12]).

An E-meter sends the same lines in the same order every second (DSMR 5) or ten seconds (DSMR 4);
from one telegram to the next only a few lines differ (the time stamp, the import registers of the
active tariff, the powers, voltages and currents), and the rest are the same bytes. ``LineState``
keeps the last telegram's raw lines (``body.split(b"\\r\\n")``) and its decoded values; the next
telegram is split the same way, compared line by line (``bytes != bytes``, in C), and only the lines
that differ are decoded. Values are immutable, so the unchanged ones are shared with the previous
telegram; M-Bus devices are rebuilt only when one of their lines changed.

Why a changed line decodes alone exactly as ``decode_framed`` reads it in the whole body: the line is
taken only if it was, in the last telegram, a whole entry on its own line (``decode.LINE`` matched it
and nothing else), keeps its code prefix (``code(``), holds no CR or LF, and matches ``LINE`` in full.
``LINE`` looks no further than the end of the line except to join a following line that starts with
``(`` (DSMR 2.2/3 continuation); the next line starts with a code, because it is either unchanged
(and was not joined before) or changed and kept its code prefix. So the body's entries are the last
telegram's, with the changed lines' values decoded afresh.

Two readers in batches.py take most telegrams (issue 14, docs/performance.md): once lines have
changed, ``WholeBody`` reads the next body at the fixed places of the lines that ever changed, with
every other byte compared in one go (no split at all); a body it does not fit is split, and the
lines that changed together are read as one ``Batch``; the loop below reads what neither covers and
says what is wrong. Both accept exactly what the loop accepts.

Rules it keeps:
- the result equals ``decode_plain``'s for the same input (tests/p1/test_lines.py drives random
  streams, bad CRCs and malformed telegrams through both);
- anything else (another line count or header, a changed line that was not a lone entry, a value
  that does not decode, a CRC mismatch under ``strict``, a malformed frame) gives None, and the
  caller takes the general path, which reports what is wrong; the stored lines and values change
  only after a telegram decoded completely, so a bad telegram never leaves half of itself behind
  (the per-position caches, how a line decodes and text → value, hold only what a line's own text
  and position determine, so filling them for a telegram that then fails is harmless);
- only telegrams without duplicate codes, bad lines and notes become a state.
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import compress, repeat
from operator import ne

from meterkast.p1.batches import (
    DEC,
    NUM,
    OTHER,
    TIME,
    Batch,
    Slot,
    Updates,
    WholeBody,
    decode_line,
    new_quantity,
    stamp_value,
)
from meterkast.p1.crc import crc16
from meterkast.p1.decode import LAYOUTS, LINE
from meterkast.p1.frame_text import Framed
from meterkast.p1.obis import Layout
from meterkast.p1.telegram import Header, MbusDevice, Telegram
from meterkast.p1.values import Value

_CRC = re.compile(r"[0-9A-Fa-f]{1,4}", re.ASCII)  # what crc.parse_crc accepts
_TST = re.compile(r"\d{12}[SWsw]\)", re.ASCII)
MAX_BATCHES = 64  # sets of lines that changed together, per state (a meter shows a handful)
MEMO_LINES = 4096  # changed lines remembered per state (a voltage or current returns to earlier values)

# Telegram and MbusDevice are frozen dataclasses; their generated __init__ sets each field through
# object.__setattr__. Setting the slots directly makes the same object at a third of the cost.
_new_object = object.__new__
_set_header, _set_values, _set_mbus, _set_crc, _set_crc_ok, _set_unknown, _set_errors, _set_notes = (
    Telegram.__dict__[name].__set__
    for name in ("header", "values", "mbus", "crc", "crc_ok", "unknown", "errors", "notes")
)
_set_channel = MbusDevice.__dict__["channel"].__set__
_set_device_values = MbusDevice.__dict__["values"].__set__


def new_telegram(  # noqa: PLR0917  # the fields of Telegram, in order
    header: Header,
    values: dict[str, Value],
    mbus: dict[int, MbusDevice],
    crc: int | None,
    crc_ok: bool | None,
    unknown: tuple[str, ...],
) -> Telegram:
    telegram: Telegram = _new_object(Telegram)
    _set_header(telegram, header)
    _set_values(telegram, values)
    _set_mbus(telegram, mbus)
    _set_crc(telegram, crc)
    _set_crc_ok(telegram, crc_ok)
    _set_unknown(telegram, unknown)
    _set_errors(telegram, ())
    _set_notes(telegram, ())
    return telegram


def new_device(channel: int, values: dict[str, Value]) -> MbusDevice:
    device: MbusDevice = _new_object(MbusDevice)
    _set_channel(device, channel)
    _set_device_values(device, values)
    return device


class LineState:
    """The last telegram of one meter, line by line; ``step`` decodes the next one from it."""

    __slots__ = (
        "batches",
        "body_start",
        "channels",
        "ever",
        "has_version",
        "head",
        "header",
        "lines",
        "mbus",
        "memo",
        "pending",
        "slots",
        "start",
        "unknown",
        "values",
        "whole",
    )

    def __init__(self, text: str, framed: Framed, telegram: Telegram) -> None:
        """``text``: the telegram as Latin-1 text. ValueError when it cannot be a state (module docstring)."""
        lines = framed.body.split("\r\n")
        if telegram.errors or telegram.notes or framed.body.count("\n") != len(lines) - 1:
            raise ValueError("a telegram with bad lines, notes or bare LF line ends is not a state")
        # With CR LF line ends and no bad line, every non-empty line not starting with "(" (a DSMR
        # 2.2/3 continuation) starts one entry: fewer codes than that means a code was sent twice.
        if len(lines) - lines.count("") - sum(map(str.startswith, lines, repeat("("))) != len(telegram.values):
            raise ValueError("a telegram that sends a code twice is not a state")
        self.start = framed.start
        self.body_start = framed.body_start
        self.head = text[: self.body_start]
        self.lines = lines
        self.slots: dict[int, Slot | None] = {}  # worked out when a line first changes (most never do)
        self.batches: dict[tuple[int, ...], Batch | None] = {}  # changed line indices → one pattern
        self.ever: set[int] = set()  # the lines that have changed at least once
        self.whole: WholeBody | None = None  # the body as one pattern (batches.py), once lines changed
        self.pending: tuple[str, int] | None = None  # (text, "!") of the last telegram if ``lines`` lags it
        self.memo: dict[str, tuple[int, tuple[str, Value], int]] = {}  # line → (index, (code, value), channel)
        self.header = telegram.header
        self.unknown = telegram.unknown
        self.values = dict(telegram.values)  # private: never handed out, so no caller can change it
        self.mbus = dict(telegram.mbus)
        self.channels = {channel: tuple(device.values) for channel, device in telegram.mbus.items()}
        # A version line may make a CRC mandatory (frame_text.crc_required): then a telegram without
        # one takes the general path, which says so.
        self.has_version = "1-3:0.2.8" in self.values or "0-0:96.1.4" in self.values

    def _slot(self, index: int) -> Slot | None:
        """How line ``index`` decodes again; None if it is not an entry on its own line.

        It is one when ``LINE`` matches it in full (a code at its start, so it continues no entry),
        it holds no CR or LF, and the next line does not start with "(" (so it continues this one).
        """
        line = self.lines[index]
        after = self.lines[index + 1] if index + 1 < len(self.lines) else ""
        match = LINE.match(line)
        if match is None or match.end() != len(line) or match.group(5) is not None or after.startswith("("):
            return None
        if "\r" in line or "\n" in line:
            return None
        code, num, unit, _, _ = match.groups()
        prefix = line[: line.index("(") + 1]
        channel = int(code[2 : code.index(":")]) if code[:2] == "0-" and code[2] != "0" else 0
        layout = LAYOUTS.get(code)
        if layout is Layout.REGISTER and num:
            return code, DEC, prefix, line[len(prefix) + len(num) :], unit or None, channel
        if layout is Layout.TIMESTAMP and _TST.fullmatch(line, len(prefix)):
            return code, TIME, prefix, ")", None, channel
        return code, OTHER, prefix, "", None, channel

    def step(self, data: bytes, *, strict: bool) -> Telegram | None:
        """The telegram ``data`` if it has this state's shape, else None (nothing changed then)."""
        text = data.decode("latin-1")
        if not text.startswith(self.head):
            return None
        bang = text.find("!", self.body_start)  # the head holds no "!": this is the first one
        if self.whole is not None and bang >= 0:
            matched, telegram = self._step_whole(data, text, bang, strict=strict)
            if matched:
                return telegram
        return self._step_lines(data, text, bang, strict=strict)

    def _step_whole(self, data: bytes, text: str, bang: int, *, strict: bool) -> tuple[bool, Telegram | None]:
        """(whether the body fits ``WholeBody``'s places, the telegram or None for the general path)."""
        assert self.whole is not None  # step checked it
        try:
            found = self.whole.read(text, self.body_start, bang, self.values)
            if found is None:
                return False, None
            crc, crc_ok = self._crc(data, text, bang)
        except (ValueError, ArithmeticError):
            return True, None  # the general path decodes it, or says what is wrong
        if strict and crc_ok is False:
            return True, None  # the general path raises ChecksumError
        updates, channels, self.whole.last = found
        self.pending = (text, bang)  # the lines are split only when another path needs them
        return True, self._apply(updates, channels, crc, crc_ok)

    def _step_lines(self, data: bytes, text: str, bang: int, *, strict: bool) -> Telegram | None:
        """``step`` by splitting the body into lines and comparing them with the last telegram's."""
        if self.pending is not None:
            last_text, last_bang = self.pending
            self.lines = last_text[self.body_start : last_bang].split("\r\n")
            self.pending = None
        lines = text[self.body_start : bang].split("\r\n") if bang >= 0 else []
        if len(lines) != len(self.lines):
            return None
        try:
            updates, channels, changed = self._updates(lines)
            crc, crc_ok = self._crc(data, text, bang)
        except (ValueError, ArithmeticError):
            return None  # the general path decodes it, or says what is wrong
        if strict and crc_ok is False:
            return None  # the general path raises ChecksumError
        self.lines = lines
        self._learn(lines, changed)
        return self._apply(updates, channels, crc, crc_ok)

    def _apply(self, updates: Updates, channels: set[int], crc: int | None, crc_ok: bool | None) -> Telegram:
        values = self.values
        values.update(updates)
        mbus = self.mbus
        for channel in channels:
            mbus[channel] = new_device(channel, {code: values[code] for code in self.channels[channel]})
        return new_telegram(self.header, values.copy(), mbus.copy(), crc, crc_ok, self.unknown)

    def _learn(self, lines: list[str], changed: tuple[int, ...]) -> None:
        """After a telegram decoded line by line: ``WholeBody`` for the lines changed so far."""
        if not changed:
            return
        ever = self.ever
        slots = self.slots
        ever.update(changed)
        found: dict[int, Slot] = {}
        for index in ever:
            slot = slots[index] if index in slots else slots.setdefault(index, self._slot(index))
            if slot is None:  # not a lone entry: this shape is read line by line
                self.whole = None
                return
            found[index] = slot
        self.whole = WholeBody(lines, found, self.body_start)  # places may have moved: built anew

    def _updates(self, lines: list[str]) -> tuple[Updates, set[int], tuple[int, ...]]:
        """(code, value) of the lines that differ from the last telegram's, the M-Bus channels they
        touch and their indices; ValueError when one is not a lone line of its slot or does not decode."""
        changed = tuple(compress(range(len(lines)), map(ne, lines, self.lines)))
        batches = self.batches
        batch = batches[changed] if changed in batches else self._batch(changed)
        if batch is not None and (batched := batch.run(self.values, lines, self.lines)) is not None:
            return batched, batch.channels, changed
        return (*self._line_by_line(lines, changed), changed)

    def _line_by_line(
        self, lines: list[str], changed: tuple[int, ...]
    ) -> tuple[list[tuple[str, Value]], set[int]]:
        """``_updates`` one changed line at a time: lines no batch covers, and saying what is wrong."""
        old, slots, memo = self.lines, self.slots, self.memo
        updates: list[tuple[str, Value]] = []
        channels: set[int] = set()
        number = NUM.fullmatch
        for index in changed:
            line = lines[index]
            known = memo.get(line)
            if known is not None and known[0] == index:  # this very line was decoded here before
                updates.append(known[1])
                if known[2]:
                    channels.add(known[2])
                continue
            slot = slots[index] if index in slots else slots.setdefault(index, self._slot(index))
            if slot is None:
                raise ValueError("a changed line that is not a lone line")
            code, kind, prefix, suffix, unit, channel = slot
            if not line.startswith(prefix):
                raise ValueError("a line that changed its code")
            if kind == DEC:  # the common case, inline: a register, power, voltage, current
                found = number(line, len(prefix), len(line) - len(suffix))
                if found is None or not line.endswith(suffix):
                    raise ValueError("not the number with the unit it had")
                value: Value = new_quantity((Decimal(found.group()), unit))
            elif kind == TIME:
                value = self._time(code, line, old[index], len(prefix))
            elif "\r" in line or "\n" in line:
                raise ValueError("a line break inside a line")
            else:
                value = decode_line(line)
            if len(memo) >= MEMO_LINES:
                memo.clear()
            memo[line] = (index, (code, value), channel)
            updates.append((code, value))
            if channel:
                channels.add(channel)
        return updates, channels

    def _batch(self, changed: tuple[int, ...]) -> Batch | None:
        """The batch for this set of changed lines, if every one is a lone number or time stamp line."""
        if len(self.batches) >= MAX_BATCHES:
            self.batches.clear()
        slots = self.slots
        found: list[Slot] = []
        for index in changed:
            slot = slots[index] if index in slots else slots.setdefault(index, self._slot(index))
            if slot is None or slot[1] == OTHER:
                found = []
                break
            found.append(slot)
        batch = Batch(changed, found) if found else None
        self.batches[changed] = batch
        return batch

    def _time(self, code: str, line: str, old: str, start: int) -> Value:
        """``code(YYMMDDhhmmssX)``; when only the seconds moved, the last value with new seconds."""
        if _TST.fullmatch(line, start) is None:
            raise ValueError("not a time stamp line")
        return stamp_value(self.values[code], line[start:-1], old[start:-1])

    def _crc(self, data: bytes, text: str, bang: int) -> tuple[int | None, bool | None]:
        """(transmitted CRC, whether it matches), as ``frame_telegram``; ValueError if malformed."""
        eol = text.find("\n", bang)
        crc_text = (text[bang + 1 :] if eol < 0 else text[bang + 1 : eol]).rstrip("\r")
        if not crc_text:
            if self.has_version:
                raise ValueError("no CRC: the general path decides whether this telegram needs one")
            return None, None
        if _CRC.fullmatch(crc_text) is None:
            raise ValueError("not 1 to 4 hex digits")
        crc = int(crc_text, 16)
        return crc, crc16(data[self.start : bang + 1]) == crc

