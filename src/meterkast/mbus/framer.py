"""A sans-I/O framer for the wired M-Bus byte stream (EN 13757-2 clause 5, STYLE 7).

``feed(data)`` takes any chunk of received bytes and returns the complete, valid frames in it; it keeps
an incomplete frame for the next call. Rules it keeps:
- it never raises for what arrives on the line: a byte that cannot start a frame, a frame with a bad
  stop byte, a length mismatch or a bad checksum is skipped one byte at a time, so a real frame hidden
  behind garbage (or behind a false ``68`` start) is still found; counters say what was dropped;
- the master hears its own request when a level converter echoes it: ``accept=Direction.FROM_SLAVE``
  drops frames whose C field has PRM set (counted in ``echoes``), ``FROM_MASTER`` is the slave's view;
- the caller owns time: after a reply time-out it calls ``timeout()``, which abandons a stalled
  partial frame (e.g. a garbage ``68 FF FF 68`` header that announced 261 bytes) and re-scans the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from meterkast.mbus.link import (
    ACK,
    E5,
    LONG_START,
    PRM,
    SHORT_START,
    STOP,
    ControlFrame,
    Frame,
    LongFrame,
    ShortFrame,
    SingleChar,
)


class Direction(Enum):
    ANY = "any"
    FROM_SLAVE = "from slave"
    FROM_MASTER = "from master"


@dataclass(slots=True)
class FramerStats:
    frames: int = 0
    skipped_bytes: int = 0
    bad_checksums: int = 0
    bad_frames: int = 0
    echoes: int = 0


class Framer:
    """Bytes in, frames out; keeps the remainder between calls and resynchronises after garbage."""

    def __init__(self, accept: Direction = Direction.ANY) -> None:
        self._buffer = bytearray()
        self._accept = accept
        self.stats = FramerStats()

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        return self._scan(final=False)

    def timeout(self) -> list[Frame]:
        """The line went quiet: give up on a partial frame and return any frame after its start."""
        return self._scan(final=True)

    def _scan(self, *, final: bool) -> list[Frame]:
        buf = self._buffer
        end = len(buf)
        pos = 0
        out: list[Frame] = []
        while pos < end:
            if buf[pos] == ACK:
                self._emit(out, E5)
                pos += 1
                continue
            size = self._size(buf, pos, end)
            waiting = (end - pos < 4 and buf[pos] == LONG_START) if size is None else end - pos < size
            if waiting and not final:
                break
            frame = None if size is None or waiting else self._check(buf, pos, size)
            if frame is None or size is None:
                self.stats.skipped_bytes += 1
                pos += 1
                continue
            self._emit(out, frame)
            pos += size
        del buf[:pos]
        return out

    def _size(self, buf: bytearray, pos: int, end: int) -> int | None:
        """Total size of a frame starting at ``pos``; None if the bytes there cannot start one (yet)."""
        start = buf[pos]
        if start == SHORT_START:
            return 5
        if start != LONG_START or end - pos < 4:
            return None
        length = buf[pos + 1]
        if buf[pos + 2] == length and buf[pos + 3] == LONG_START and length >= 3:
            return length + 6
        self.stats.bad_frames += 1
        return None

    def _check(self, buf: bytearray, pos: int, size: int) -> Frame | None:
        last = pos + size - 1
        if buf[last] != STOP:
            self.stats.bad_frames += 1
            return None
        first = pos + 1 if size == 5 else pos + 4
        if sum(buf[first : last - 1]) & 0xFF != buf[last - 1]:
            self.stats.bad_checksums += 1
            return None
        if size == 5:
            return ShortFrame(buf[pos + 1], buf[pos + 2])
        if size == 9:
            return ControlFrame(buf[pos + 4], buf[pos + 5], buf[pos + 6])
        return LongFrame(buf[pos + 4], buf[pos + 5], buf[pos + 6], bytes(buf[pos + 7 : last - 1]))

    def _emit(self, out: list[Frame], frame: Frame) -> None:
        from_master = not isinstance(frame, SingleChar) and bool(frame.control & PRM)
        wanted = self._accept is Direction.ANY or (from_master == (self._accept is Direction.FROM_MASTER))
        if not wanted:
            self.stats.echoes += 1
            return
        self.stats.frames += 1
        out.append(frame)
