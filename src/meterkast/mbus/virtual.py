"""An in-memory wired M-Bus with several slaves and optional faults (the twin of serial/TCP, STYLE 10).

What the wire does, modelled where it matters to a master (EN 13757-2):
- every slave hears every request; each decides by address whether to answer;
- two slaves answering at once collide: a slave signals a 0 bit (space) by drawing extra current and a
  1 bit (mark) by staying idle, so on the wire 0 dominates and the master receives the bitwise AND of the
  replies (shorter replies are padded with idle 0xFF);
- faults, drawn from an injected random source so a seed replays them: a reply dropped entirely, single
  bytes dropped, single bits flipped, the request echoed back to the master (level converters without
  echo cancellation do this), and late replies that arrive only after the master stopped waiting.

Sans-I/O: ``transact(now, request)`` returns what the master will hear, now and later; the transport
adapters decide how that maps onto reads with time-outs.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from meterkast.errors import InvalidInput, LinkError
from meterkast.randomness import RandomSource

T = TypeVar("T")


class BusSlave(Protocol):
    """A device on the bus: given a complete request frame, the reply bytes, or None to stay silent."""

    def on_request(self, now: datetime, request: bytes) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class BusFaults:
    """Probabilities per exchange (reply-level) or per byte (byte-level), each 0…1."""

    no_reply: float = 0.0
    late_reply: float = 0.0
    drop_byte: float = 0.0
    flip_bit: float = 0.0
    echo: bool = False

    def __post_init__(self) -> None:
        for name in ("no_reply", "late_reply", "drop_byte", "flip_bit"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(f"fault probability {name}={value} must lie between 0 and 1")


@dataclass(frozen=True, slots=True)
class Heard:
    """What the master receives for one request: ``now`` at once, ``late`` after it stopped waiting."""

    now: bytes
    late: bytes = b""


def collide(replies: Sequence[bytes]) -> bytes:
    """The bitwise AND of simultaneous replies: space (0) dominates mark (1) on the wire."""
    if not replies:
        return b""
    length = max(len(r) for r in replies)
    combined = bytearray(b"\xff" * length)
    for reply in replies:
        for i, byte in enumerate(reply):
            combined[i] &= byte
    return bytes(combined)


@dataclass(slots=True)
class VirtualBus:
    rng: RandomSource
    faults: BusFaults = field(default_factory=BusFaults)
    slaves: list[BusSlave] = field(default_factory=list)
    exchanges: int = 0
    collisions: int = 0

    def attach(self, slave: BusSlave) -> None:
        self.slaves.append(slave)

    def detach(self, slave: BusSlave) -> None:
        self.slaves = [s for s in self.slaves if s is not slave]

    def transact(self, now: datetime, request: bytes) -> Heard:
        self.exchanges += 1
        replies = [r for r in (s.on_request(now, request) for s in self.slaves) if r]
        if len(replies) > 1:
            self.collisions += 1
        reply = self._damage(collide(replies))
        echo = request if self.faults.echo else b""
        if reply and self._chance(self.faults.no_reply):
            reply = b""
        if reply and self._chance(self.faults.late_reply):
            return Heard(echo, reply)
        return Heard(echo + reply)

    def _chance(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    def _damage(self, data: bytes) -> bytes:
        if not data or (self.faults.drop_byte == 0 and self.faults.flip_bit == 0):
            return data
        out = bytearray()
        for original in data:
            if self._chance(self.faults.drop_byte):
                continue
            byte = original
            if self._chance(self.faults.flip_bit):
                byte ^= 1 << self.rng.randrange(8)
            out.append(byte)
        return bytes(out)


class BusPort:
    """A master's connection to a :class:`VirtualBus` (an ``MbusTransport``); ``now`` says when it is.

    Replies are immediate; a late reply lands one read later, after the master has stopped waiting.
    Its coroutines never suspend, so a simulation can drive a master over it with :func:`run_now`.
    """

    def __init__(self, bus: VirtualBus, now: Callable[[], datetime]) -> None:
        self._bus = bus
        self._now = now
        self._ready = bytearray()
        self._late = bytearray()
        self._closed = False

    async def write(self, data: bytes) -> None:
        self._check_open()
        heard = self._bus.transact(self._now(), bytes(data))
        self._ready += heard.now
        self._late += heard.late

    async def read(self, max_wait_s: float) -> bytes:
        self._check_open()
        data = bytes(self._ready)
        self._ready.clear()
        if not data:
            # The master waited in vain; anything late lands in the buffer for its next read.
            self._ready += self._late
            self._late.clear()
        return data

    async def close(self) -> None:
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise LinkError("virtual M-Bus port is closed")


def run_now(coroutine: Coroutine[object, object, T]) -> T:
    """Run a coroutine that never waits (a master over a :class:`BusPort`) to its end, synchronously.

    A simulation advances in simulated time, so it must not hand control to an event loop; if the
    coroutine does try to wait on something, that is a programming error and says so.
    """
    try:
        coroutine.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    coroutine.close()
    raise RuntimeError("run_now: the coroutine tried to wait; only BusPort-driven exchanges can run here")
