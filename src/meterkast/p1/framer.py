"""A sans-I/O framer for the P1 byte stream ([P1-4.2.2 §5.2], [P1-3.0 §5.2], STYLE 7).

``feed(data)`` takes any chunk of received bytes and returns the complete telegrams in it, from ``/``
through the ``!CRC CR LF`` line (DSMR 4/5) or a bare ``!`` line (DSMR 2.2/3, EasyMeter); it keeps an
incomplete telegram for the next call. Rules it keeps:
- it never raises for what arrives on the line; counters say what was dropped;
- bytes before a ``/`` are garbage (``garbage_bytes``; ``noise_bytes`` of them in stretches that are
  not just line ends, blanks and NUL padding); a ``/`` that arrives before the ``!`` of the
  telegram in progress, at a line start or before a header (three letters), means that telegram
  was cut off (the meter restarted, the cable was plugged in mid-telegram): the partial telegram
  is dropped (``truncated``) and the new one framed;
- a telegram that grows past ``max_size`` without ``!`` is dropped the same way (bounded memory);
- the CRC is checked here, so a reader can count bad telegrams (``crc_errors``) without decoding
  them; frames are returned with their status and the decoder reports it again;
- the CRC is the 1–4 hex digits (either case) right after ``!``; the telegram ends with the CR LF
  (or bare LF) that follows them, or else just after them, and the garbage scan takes what follows
  (text after the CRC); a ``!`` followed by a blank line is a telegram without CRC, which only a
  DSMR 2.2/3 telegram may be (one whose version line says DSMR 4 or later gets ``crc_ok=False``);
  any other text right after ``!`` (``!Q002`` where ``!1002`` was sent) is a damaged CRC:
  ``crc_ok=False``, the frame keeping that line so the decoder lists it (``!1Q02`` reads CRC 1,
  which does not match);
- end of input ends the last telegram: ``flush()`` (the reader calls it when the connection closes,
  ``p1 parse`` at the end of the file) returns a telegram whose ``!`` arrived but whose CRC line
  was not ended by CR LF, and counts whatever else is held as ``truncated``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from meterkast.p1.crc import crc16
from meterkast.p1.frame_text import crc_required

MAX_TELEGRAM = 16 * 1024  # a DSMR telegram is a few kB at most (text message ≤ 2048 hex characters)
_HEX_DIGITS = b"0123456789abcdefABCDEF"
# Where a telegram may start: a "/" at a line start, or one before three letters (the FLAG id); ``_restart``
# and ``p1.scan`` both find starts with it.
TELEGRAM_START = re.compile(rb"(?:(?<=\n)|^)/|/(?=[A-Za-z]{3})")
_BLANKS_CRLF = b" \t\0\r\n"
MAX_CRC_LINE = 64  # how far a damaged CRC line is kept in its frame (a CRC line is "!XXXX" CR LF)


def _line_end(buffer: bytearray, bang: int) -> tuple[int, bool]:
    """The end of the CRC line that starts at ``bang``: after its LF, or before a ``/`` (the next
    telegram), or what has arrived, at most ``MAX_CRC_LINE`` bytes on; and whether that end is known
    (False: only part of the line has arrived yet)."""
    limit = min(len(buffer), bang + MAX_CRC_LINE)
    eol = buffer.find(b"\n", bang, limit)
    slash = buffer.find(b"/", bang, limit)
    if eol >= 0 and (slash < 0 or eol < slash):
        return eol + 1, True
    if slash >= 0:
        return slash, True
    return limit, limit == bang + MAX_CRC_LINE


def _restart(buffer: bytearray, end: int) -> int:
    """Where a new telegram starts before ``end``, or -1.

    A ``/`` starts one at the beginning of a line, or when a header follows it (three letters, the
    manufacturer FLAG id, [P1-4.2.2 §5.2]); any other ``/`` is text: DSMR 2.2/3 text messages are plain
    text (an Iskra MT382 sends ``0-0:96.13.0(test-/-test)``).
    """
    found = TELEGRAM_START.search(buffer, 1)  # from 1: the "/" at 0 is the telegram in hand
    return -1 if found is None or found.start() >= end else found.start()


@dataclass(frozen=True, slots=True)
class Frame:
    """One telegram as received: the bytes from ``/`` through the end of the ``!`` line."""

    data: bytes
    crc: int | None  # as transmitted; None when the telegram has none
    crc_ok: bool | None


@dataclass(slots=True)
class FramerCounters:
    telegrams: int = 0
    crc_errors: int = 0
    truncated: int = 0
    garbage_bytes: int = 0  # every byte outside a telegram, blank line ends and NUL padding included
    noise_bytes: int = 0  # of those, the ones in stretches that hold more than blanks (a reader reports them)


class P1Framer:
    """Byte stream in, telegrams out; ``counters`` say what was dropped and why."""

    def __init__(self, *, max_size: int = MAX_TELEGRAM, drop_bad_crc: bool = False) -> None:
        self._buffer = bytearray()
        self._max_size = max_size
        self._drop_bad_crc = drop_bad_crc
        self.counters = FramerCounters()
        self.last_noise = b""  # the start of the last stretch counted in noise_bytes (for a report)

    @property
    def pending(self) -> int:
        """Bytes held for the telegram in progress."""
        return len(self._buffer)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while (frame := self._next()) is not None:
            if self._accept(frame):
                frames.append(frame)
        return frames

    def flush(self, *, cut: bool = False) -> list[Frame]:
        """End of input: the telegram held, if its ``!`` has arrived; the rest is dropped (``truncated``).

        With ``cut``, a telegram whose ``!`` never arrived is also returned (``crc=None``,
        ``crc_ok=None``; ``decode_telegram`` lists its missing end as a problem); it still counts
        as ``truncated``, so the caller decides whether to use lines of a telegram that may be cut off.
        """
        buffer = self._buffer
        frames: list[Frame] = []
        bang = buffer.find(b"!", 1)
        if buffer[:1] == b"/" and bang >= 0:
            frame = self._finish(bang, final=True)
            if frame is not None and self._accept(frame):
                frames.append(frame)
        if buffer[:1] == b"/":  # a telegram cut off before its "!"
            self.counters.truncated += 1
            if cut and b"\n" in buffer:
                frames.append(Frame(bytes(buffer), None, None))
            buffer.clear()
        self._discard(len(buffer))
        return frames

    def _accept(self, frame: Frame) -> bool:
        if frame.crc_ok is False:
            self.counters.crc_errors += 1
            if self._drop_bad_crc:
                return False
        self.counters.telegrams += 1
        return True

    def _next(self) -> Frame | None:
        buffer = self._buffer
        start = buffer.find(b"/")
        if start < 0:
            self._discard(len(buffer))
            return None
        if start:
            self._discard(start)
        while True:
            bang = buffer.find(b"!", 1)
            restart = _restart(buffer, bang if bang >= 0 else len(buffer))
            if restart >= 0:  # a new telegram began before this one ended
                self.counters.truncated += 1
                del buffer[:restart]
                continue
            if bang < 0:
                if len(buffer) > self._max_size:
                    self.counters.truncated += 1
                    self._discard(len(buffer))
                return None
            return self._finish(bang)

    def _finish(self, bang: int, *, final: bool = False) -> Frame | None:
        buffer = self._buffer
        tail = bytes(buffer[bang + 1 : bang + 8])
        digits = tail[: len(tail) - len(tail.lstrip(_HEX_DIGITS))][:4]
        rest = tail[len(digits) :]
        if rest[:1] == b"\n" or rest[:2] == b"\r\n":
            end = bang + 1 + len(digits) + len(rest[: rest.index(b"\n") + 1])
        elif rest in {b"", b"\r"} and not final:
            return None  # the CRC line is still arriving
        elif digits:  # the CRC, then text: the CRC check says whether the digits were the CRC
            end = bang + 1 + len(digits) + (rest[:1] == b"\r")  # the garbage scan takes the text after the CRC
        else:
            line_end, known = _line_end(buffer, bang)
            damaged = bytes(buffer[bang + 1 : line_end]).strip(_BLANKS_CRLF)
            if not damaged and not known and not final:
                return None  # blanks so far ("!" NUL …): whether text follows on this line is still to come
            if damaged:
                # Not blank and no CRC ("!Q002" where "!1002" was sent): the CRC was damaged, so the
                # telegram is not verified; the frame keeps the line so the decoder lists it too.
                data = bytes(buffer[:line_end])
                del buffer[:line_end]
                return Frame(data, None, False)
            end = bang + 1 + (rest[:1] == b"\r")  # a bare "!" (DSMR 2.2/3); blanks after it are garbage
        data = bytes(buffer[:end])
        del buffer[:end]
        if not digits:  # no CRC: good only for a dialect that has none (frame_text.crc_required)
            return Frame(data, None, False if crc_required(data[:bang]) else None)
        crc = int(digits, 16)
        return Frame(data, crc, crc16(data[: bang + 1]) == crc)

    def _discard(self, count: int) -> None:
        if count:
            self.counters.garbage_bytes += count
            stretch = self._buffer[:count].strip(_BLANKS_CRLF)
            if stretch:
                self.counters.noise_bytes += count
                self.last_noise = bytes(stretch[:40])
            del self._buffer[:count]
