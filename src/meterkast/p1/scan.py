"""Every telegram in a capture, good or bad, with what is wrong with each (``meterkast p1 parse``).

Sans-I/O (STYLE 7): bytes in, ``Scanned`` items out; the command prints them. The rules
(docs/p1.md, "What the decoder tolerates" and "p1 parse exit codes"):
- the framer finds the telegrams ([P1-4.2.2 §5.2]: a telegram runs from ``/`` to the ``!`` line); a
  CRC mismatch or a damaged CRC keeps the values, flagged as not verified;
- a ``/`` that never reaches ``!`` is a cut-off telegram: its lines up to the next telegram are read,
  and the cut is a problem; lines with no ``/`` at all (a lost header line) are read the same way;
- text outside every telegram (before the first ``/``, between telegrams, after a CRC on its line,
  after the last telegram) is no meter data: it is listed as a problem with its file line; line
  ends, blanks and NUL padding are not text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, replace

from meterkast.errors import CodecError
from meterkast.p1.crc import crc16
from meterkast.p1.decode import decode_telegram
from meterkast.p1.frame_text import shown_text
from meterkast.p1.framer import TELEGRAM_START, P1Framer
from meterkast.p1.telegram import LineError, Telegram


@dataclass(frozen=True, slots=True)
class Scanned:
    """One telegram found in a capture: where it starts, what it decoded to, and what is wrong with it.

    ``telegram`` is None only when nothing could be read (``error`` says why); a telegram with a CRC
    mismatch or with unreadable lines keeps every value it has, and ``problems`` lists what is wrong
    (file line, raw text, reason).
    """

    offset: int  # byte offset of its "/"
    line: int  # 1-based line of its "/"
    telegram: Telegram | None
    error: str | None
    problems: tuple[LineError, ...] = ()
    computed_crc: int | None = None  # set when the CRC does not match
    notes: tuple[LineError, ...] = ()  # odd but meaningful fields read leniently: no problem

    @property
    def clean(self) -> bool:
        return self.telegram is not None and self.telegram.crc_ok is not False and not self.problems


def scan_telegrams(data: bytes) -> list[Scanned]:
    """Every telegram in ``data``, good or bad, in order; end of input ends the last one.

    A "/" that never reaches "!" is a cut-off telegram.
    """
    # Linear in the capture (a day of DSMR 5 telegrams is 86,400): line numbers by bisection over the
    # line ends, and the framed spans, found in order, by bisection over their starts.
    line_at = _line_finder(data)
    framer = P1Framer()
    spans: list[tuple[int, int]] = []
    found: list[Scanned] = []
    position = 0
    for frame in framer.feed(data) + framer.flush():
        offset = data.find(frame.data, position)
        position = offset + len(frame.data)
        spans.append((offset, position))
        found.append(_check(frame.data, frame.crc_ok, offset, line_at(offset)))
    starts = [a for a, _ in spans]
    ends = [b for _, b in spans]

    def framed(at: int) -> bool:
        index = bisect_right(starts, at) - 1
        return index >= 0 and at < ends[index]

    cut = [m.start() for m in TELEGRAM_START.finditer(data) if not framed(m.start())]
    for number, where in enumerate(cut):
        # Its lines are read up to the next telegram (or the end): nothing that arrived is dropped.
        following = bisect_right(starts, where)
        end = min(cut[number + 1] if number + 1 < len(cut) else len(data),
                  starts[following] if following < len(starts) else len(data))
        line = line_at(where)
        item = _check(data[where:end], None, where, line)
        if item.telegram is None or not item.telegram.values:
            item = Scanned(where, line, None, "cut off: no '!' before the next telegram or the end of input")
        found.append(item)
        spans.append((where, end))
    if not found:  # no "/": if there are OBIS lines, the header line was lost (frame_text reads them)
        item = _check(data, None, 0, 1)
        if item.telegram is not None and item.telegram.values:
            found.append(item)
        return found
    order = sorted(range(len(found)), key=lambda i: found[i].offset)
    return _with_text_around([found[i] for i in order], [spans[i] for i in order], data, line_at)


def _line_finder(data: bytes) -> Callable[[int], int]:
    """The 1-based line of a byte offset, in O(log n) after one pass over the line ends."""
    line_ends = [m.start() for m in re.finditer(b"\n", data)]

    def line_at(offset: int) -> int:
        return bisect_left(line_ends, offset) + 1

    return line_at


_BLANKS = b" \t\r\n\0"  # line ends, blanks and NUL padding between telegrams carry nothing


def _with_text_around(found: list[Scanned], spans: list[tuple[int, int]], data: bytes,
                      line_at: Callable[[int], int]) -> list[Scanned]:
    """``found`` with the text outside every telegram listed as problems (docs/p1.md): text after a
    CRC on its line goes with that telegram, any other with the telegram after it (the last one's
    when none follows). A telegram starts at "/" [P1-4.2.2 §5.2]; what lies outside is no meter data."""
    if not found:
        return found
    extra: list[list[LineError]] = [[] for _ in found]
    position = 0
    for index in range(len(found) + 1):
        start = spans[index][0] if index < len(found) else len(data)
        gap_start = position
        if index and position < start and data[position - 1 : position] != b"\n":  # still on the CRC line
            eol = data.find(b"\n", position, start)
            gap_start = start if eol < 0 else eol + 1
            text = data[position:gap_start].strip(_BLANKS)
            if text:
                extra[index - 1].append(_around(data, position, text, "text after the CRC ignored", line_at))
        text = data[gap_start:start].strip(_BLANKS)
        if text:
            where = index if index < len(found) else len(found) - 1
            reason = (
                f"{start - gap_start} bytes before the telegram's '/' ignored"
                if index < len(found)
                else f"{start - gap_start} bytes after the last telegram ignored"
            )
            extra[where].append(_around(data, gap_start, text, reason, line_at))
        if index < len(found):
            position = max(position, spans[index][1])
    return [
        replace(item, problems=tuple(sorted((*item.problems, *more), key=lambda p: p.line))) if more else item
        for item, more in zip(found, extra, strict=True)
    ]


def _around(data: bytes, position: int, text: bytes, reason: str, line_at: Callable[[int], int]) -> LineError:
    line = line_at(data.index(text, position))
    return LineError(line, shown_text(text.decode("latin-1")), reason)


def _check(data: bytes, crc_ok: bool | None, offset: int, line: int) -> Scanned:
    try:
        telegram = decode_telegram(data)
    except CodecError as exc:
        where = f" (byte {offset + exc.offset})" if exc.offset is not None else ""
        return Scanned(offset, line, None, f"{exc.reason}{where}")
    problems = tuple(LineError(line + e.line - 1, e.text, e.reason) for e in telegram.errors)
    notes = tuple(LineError(line + e.line - 1, e.text, e.reason) for e in telegram.notes)
    computed = crc16(data[: data.index(b"!") + 1]) if crc_ok is False else None
    return Scanned(offset, line, telegram, None, problems, computed, notes)
