"""How a master reaches an M-Bus: the in-memory implementation of ``MbusTransport`` (``mbus/master.py``).

``read(max_wait_s)`` returns whatever bytes arrive within ``max_wait_s`` (possibly b"" on a time-out);
framing is the caller's job (``meterkast.mbus`` framer), as on a real serial line.
Implementations: :class:`VirtualTransport` (here), ``TcpTransport`` (``mbus_tcp.py``), ``SerialTransport``
(``mbus_serial.py``). ``tests/io/test_mbus_transport_contract.py`` runs one contract against all of them.
"""

from __future__ import annotations

from meterkast.clock import Clock
from meterkast.errors import LinkError
from meterkast.mbus.master import MbusTransport
from meterkast.mbus.virtual import VirtualBus

__all__ = ["DEFAULT_REPLY_WAIT_S", "MbusTransport", "VirtualTransport"]

# EN 13757-2: a slave answers within 330 bit times + 50 ms; at 2400 baud that is ≈ 190 ms. Gateways add
# latency, so masters wait longer; libmbus waits about 0.5 s per attempt.
DEFAULT_REPLY_WAIT_S = 0.5


class VirtualTransport:
    """A master's connection to a :class:`VirtualBus`; replies are immediate, late ones come one read later."""

    def __init__(self, bus: VirtualBus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self._ready = bytearray()
        self._late = bytearray()
        self._closed = False

    async def write(self, data: bytes) -> None:
        self._check_open()
        heard = self._bus.transact(self._clock.now(), bytes(data))
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
            raise LinkError("virtual M-Bus transport is closed")
