"""A byte cursor for the DLMS decoders, and the A-XDR length (IEC 61334-6, used by IEC 62056-5-3).

Rules this module keeps:
- every read checks that the bytes are there and raises ``CodecError`` with the absolute byte offset
  (``base`` + position), so an error deep inside a nested structure still points into the whole APDU;
- the A-XDR length is one byte below 128 ("short form"); otherwise the first byte is ``0x80 | n`` and the
  next ``n`` bytes hold the length big-endian ("long form"). The encoder always writes the shortest form;
  the decoder rejects a long form with no length bytes or more than 4 (no APDU is 4 GiB), and a long form
  that a shorter form could have carried, because such bytes would not re-encode to themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from meterkast.errors import CodecError

SHORT_FORM_LIMIT = 0x80
MAX_LENGTH_OCTETS = 4
_Value = TypeVar("_Value")


def encode_length(length: int) -> bytes:
    """The A-XDR length (also used for element counts of arrays and structures)."""
    if length < 0:
        raise CodecError(f"a length cannot be negative, got {length}")
    if length < SHORT_FORM_LIMIT:
        return bytes((length,))
    size = (length.bit_length() + 7) // 8
    if size > MAX_LENGTH_OCTETS:
        raise CodecError(f"length {length} needs {size} octets; A-XDR lengths here are at most 4 octets")
    return bytes((SHORT_FORM_LIMIT | size,)) + length.to_bytes(size, "big")


class Reader:
    """Reads ``data`` front to back; ``base`` is the offset of ``data[0]`` in the whole message."""

    __slots__ = ("_base", "_data", "_pos")

    def __init__(self, data: bytes, base: int = 0) -> None:
        self._data = data
        self._base = base
        self._pos = 0

    @property
    def offset(self) -> int:
        """Absolute offset of the next byte."""
        return self._base + self._pos

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def at_end(self) -> bool:
        return self._pos >= len(self._data)

    def fail(self, message: str, *, back: int = 0) -> CodecError:
        """An error located ``back`` bytes before the cursor (the field just read)."""
        return CodecError(message, offset=self.offset - back)

    def take(self, count: int, what: str) -> bytes:
        start = self._pos
        end = start + count
        if count < 0 or end > len(self._data):
            raise self.fail(f"{what}: needs {count} byte{'' if count == 1 else 's'}, only {self.remaining} left")
        self._pos = end
        return self._data[start:end]

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk

    def peek(self, what: str) -> int:
        if self._pos >= len(self._data):
            raise self.fail(f"{what}: needs 1 byte, none left")
        return self._data[self._pos]

    def u8(self, what: str) -> int:
        pos = self._pos
        if pos >= len(self._data):
            raise self.fail(f"{what}: needs 1 byte, none left")
        self._pos = pos + 1
        return self._data[pos]

    def uint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big")

    def sint(self, size: int, what: str) -> int:
        return int.from_bytes(self.take(size, what), "big", signed=True)

    def length(self, what: str) -> int:
        """An A-XDR length (short or long form)."""
        first = self.u8(what)
        if first < SHORT_FORM_LIMIT:
            return first
        start = self.offset - 1
        size = first & 0x7F
        if not 1 <= size <= MAX_LENGTH_OCTETS:
            raise CodecError(f"{what}: long-form length with {size} length octets (1..4 allowed)", offset=start)
        value = self.uint(size, what)
        if len(encode_length(value)) != 1 + size:
            raise CodecError(f"{what}: length {value} is not in its shortest form", offset=start)
        return value

    def sized(self, what: str) -> bytes:
        """A length followed by that many bytes (a variable-length OCTET STRING)."""
        return self.take(self.length(what), what)

    def sub(self, count: int, what: str) -> Reader:
        """A reader over the next ``count`` bytes, keeping absolute offsets."""
        start = self.offset
        return Reader(self.take(count, what), start)

    def expect_end(self, what: str) -> None:
        if not self.at_end():
            raise self.fail(f"{what}: {self.remaining} unexpected trailing bytes")


def read_whole(data: bytes, read: Callable[[Reader], _Value], what: str, base: int = 0) -> _Value:
    """Exactly one ``what`` read from ``data`` by ``read``; trailing bytes are an error."""
    reader = Reader(data, base)
    value = read(reader)
    reader.expect_end(what)
    return value
