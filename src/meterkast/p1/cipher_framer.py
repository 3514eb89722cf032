"""A sans-I/O framer for encrypted P1 streams: general-global-cipher frames out of a byte stream.

The frame layout is ``meterkast.p1.crypto``'s (IEC 62056-5-3 §9.2.7.2, DLMS security suite 0):
``DB 08 system-title length …``. Rules it keeps:
- it never raises for what arrives on the line; bytes that cannot start a frame are counted as
  ``garbage_bytes`` and skipped one at a time, so a frame after garbage is still found (resync);
- a frame longer than ``max_size`` is taken for garbage (bounded memory);
- what it returns is only framed: ``decrypt_telegram`` checks the tag and says what is wrong.
"""

from __future__ import annotations

from meterkast.p1.crypto import GENERAL_GLOBAL_CIPHER, SYSTEM_TITLE_BYTES


class CipherFramer:
    """General-global-cipher frames (``DB 08 title len …``) out of a byte stream; resyncs on garbage.

    The length form is the one ``meterkast.p1.crypto`` writes and reads (one byte, or 0x81/0x82 and one
    or two length bytes).
    """

    def __init__(self, max_size: int = 16 * 1024) -> None:
        self._buffer = bytearray()
        self._max_size = max_size
        self.garbage_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while (frame := self._next()) is not None:
            frames.append(frame)
        return frames

    def _next(self) -> bytes | None:
        buffer = self._buffer
        start = buffer.find(bytes([GENERAL_GLOBAL_CIPHER, SYSTEM_TITLE_BYTES]))
        if start < 0:
            keep = 1 if buffer.endswith(bytes([GENERAL_GLOBAL_CIPHER])) else 0
            self.garbage_bytes += len(buffer) - keep
            del buffer[: len(buffer) - keep]
            return None
        self.garbage_bytes += start
        del buffer[:start]
        head = 2 + SYSTEM_TITLE_BYTES
        if len(buffer) < head + 3:
            return None
        first = buffer[head]
        if first < 0x80:
            length, body = first, head + 1
        elif first in (0x81, 0x82):
            size = first - 0x80
            length, body = int.from_bytes(buffer[head + 1 : head + 1 + size], "big"), head + 1 + size
        else:
            self.garbage_bytes += 1
            del buffer[:1]
            return self._next()
        if body + length > self._max_size:
            self.garbage_bytes += 1
            del buffer[:1]
            return self._next()
        if len(buffer) < body + length:
            return None
        frame = bytes(buffer[: body + length])
        del buffer[: body + length]
        return frame
