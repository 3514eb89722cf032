"""The master's side of a wired M-Bus: one request, its reply, retries (EN 13757-2 clause 5).

``BusMaster`` drives an injected transport (the ``MbusTransport`` protocol of ``meterkast.io``: async
``write``, ``read(max_wait_s)``, ``close``); it never opens sockets or reads a clock itself, so the same
code runs on the in-memory bus, a TCP gateway and a serial port.

Rules it keeps, and why:
- each attempt gets a fresh framer that ignores frames with PRM set, so an echoing level converter
  (our own request coming back) is never mistaken for a reply;
- an attempt ends at the first valid frame, or when a read comes back empty (the line went quiet);
- what an attempt heard decides the outcome: a frame → done; silence → try again; bytes but no valid
  frame → try again, remembering that something answered. EN 13757-2 lets a master repeat a request
  a few times (libmbus and DSMR E-meters use 3 attempts) before it gives up;
- after the last attempt, all-silent is :class:`NoReply`, any garbage is :class:`BusCollision`: on a wired
  bus space dominates mark, so two slaves answering at once yield bytes that are nobody's frame;
- DSMR P2 ignores the FCB [P2-4.0.7 §3.1.2], so ``request_data`` sends REQ_UD2 as ``5B`` by default;
  general M-Bus use may toggle it (``fcb=True`` gives ``7B``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from meterkast.errors import BusCollision, FrameError, InvalidInput, NoReply
from meterkast.mbus.framer import Direction, Framer
from meterkast.mbus.link import (
    ADDRESS_BROADCAST_REPLY,
    ADDRESS_SECONDARY,
    C_REQ_UD2,
    C_RSP_UD,
    C_SND_NKE,
    C_SND_UD,
    FCB_ACD,
    MAX_PRIMARY,
    Frame,
    LongFrame,
    ShortFrame,
    SingleChar,
    encode_frame,
)

CI_UNENCRYPTED = 0x51  # unencrypted commands: set address, set key [P2-4.0.7 Table 5]
VIF_BUS_ADDRESS = 0x7A


class MbusTransport(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def read(self, max_wait_s: float) -> bytes: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    reply_wait_s: float = 0.5  # EN 13757-2: 330 bit times + 50 ms ≈ 0.19 s at 2400 Bd; gateways add latency

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise InvalidInput(f"attempts={self.attempts}: a master tries at least once")
        if self.reply_wait_s <= 0:
            raise InvalidInput(f"reply_wait_s={self.reply_wait_s} must be above 0")


@dataclass(slots=True)
class MasterStats:
    requests: int = 0
    attempts: int = 0
    retries: int = 0
    no_reply: int = 0
    garbled: int = 0


@dataclass(frozen=True, slots=True)
class ScanHit:
    """One primary address that answered a scan, with its RSP_UD (None if it only acknowledged)."""

    address: int
    reply: LongFrame | None


class BusMaster:
    def __init__(self, transport: MbusTransport, policy: RetryPolicy | None = None) -> None:
        self.transport = transport
        self.policy = policy or RetryPolicy()
        self.stats = MasterStats()

    async def exchange(self, request: Frame, what: str) -> Frame:
        """Send ``request`` until a valid frame comes back; NoReply / BusCollision after the last attempt."""
        self.stats.requests += 1
        raw = encode_frame(request)
        heard_garbage = False
        for attempt in range(self.policy.attempts):
            if attempt:
                self.stats.retries += 1
            self.stats.attempts += 1
            frame, garbage = await self._attempt(raw)
            if frame is not None:
                return frame
            heard_garbage = heard_garbage or garbage
            if garbage:
                self.stats.garbled += 1
        tries = f"{self.policy.attempts} attempt{'s' if self.policy.attempts > 1 else ''}"
        if heard_garbage:
            raise BusCollision(
                f"{what}: replies were garbled on {tries} (bad checksum or framing): two slaves may share "
                "this address, or the line is noisy"
            )
        self.stats.no_reply += 1
        raise NoReply(f"{what}: no answer after {tries} of {self.policy.reply_wait_s} s")

    async def _attempt(self, raw: bytes) -> tuple[Frame | None, bool]:
        framer = Framer(accept=Direction.FROM_SLAVE)
        await self.transport.write(raw)
        while True:
            data = await self.transport.read(self.policy.reply_wait_s)
            frames = framer.feed(data) if data else framer.timeout()
            if frames:
                return frames[0], False
            if not data:
                stats = framer.stats
                return None, bool(stats.skipped_bytes or stats.bad_checksums or stats.bad_frames)

    async def reset(self, address: int) -> None:
        """SND_NKE; the slave acknowledges with E5."""
        reply = await self.exchange(ShortFrame(C_SND_NKE, address), f"SND_NKE to address {address}")
        _expect_ack(reply, f"SND_NKE to address {address}")

    async def request_data(self, address: int, *, fcb: bool = False) -> LongFrame:
        """REQ_UD2 → RSP_UD (a long frame from that address)."""
        control = C_REQ_UD2 | (FCB_ACD if fcb else 0)
        what = f"REQ_UD2 to address {address}"
        reply = await self.exchange(ShortFrame(control, address), what)
        if not isinstance(reply, LongFrame) or reply.control & 0x0F != C_RSP_UD:
            raise FrameError(f"{what}: expected RSP_UD (C=08), got {_describe(reply)}")
        # A selected slave (253) or a broadcast answers with its own primary address [EN 13757-2].
        if address not in (reply.address, ADDRESS_SECONDARY, ADDRESS_BROADCAST_REPLY):
            raise FrameError(f"{what}: the reply came from address {reply.address}")
        return reply

    async def send_data(self, address: int, ci: int, data: bytes) -> None:
        """SND_UD with ``ci`` and ``data``; the slave acknowledges with E5."""
        what = f"SND_UD CI={ci:02X} to address {address}"
        _expect_ack(await self.exchange(LongFrame(C_SND_UD, address, ci, data), what), what)

    async def set_primary_address(self, address: int, new_address: int) -> None:
        """``01 7A aa`` with CI 51 [P2-4.0.7 §6.2], [EN 13757-3 §6.4]."""
        if not 1 <= new_address <= MAX_PRIMARY:
            raise InvalidInput(f"primary address {new_address} must lie in 1..{MAX_PRIMARY}")
        await self.send_data(address, CI_UNENCRYPTED, bytes((0x01, VIF_BUS_ADDRESS, new_address)))

    async def scan_primary(self, addresses: range | list[int]) -> tuple[list[ScanHit], list[int]]:
        """Probe each address with SND_NKE then REQ_UD2: (who answered, addresses with garbled replies)."""
        hits: list[ScanHit] = []
        collisions: list[int] = []
        for address in addresses:
            try:
                await self.reset(address)
            except NoReply:
                continue
            except (BusCollision, FrameError):
                collisions.append(address)
                continue
            try:
                hits.append(ScanHit(address, await self.request_data(address)))
            except NoReply:
                hits.append(ScanHit(address, None))
            except (BusCollision, FrameError):
                collisions.append(address)
        return hits, collisions


def _expect_ack(reply: Frame, what: str) -> None:
    if not isinstance(reply, SingleChar):
        raise FrameError(f"{what}: expected E5, got {_describe(reply)}")


def _describe(frame: Frame) -> str:
    if isinstance(frame, SingleChar):
        return "E5"
    return f"{type(frame).__name__} C={frame.control:02X} A={frame.address}"
