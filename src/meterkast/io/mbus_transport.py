"""How a master reaches an M-Bus: the in-memory implementation of ``MbusTransport`` (``mbus/master.py``).

``read(max_wait_s)`` returns whatever bytes arrive within ``max_wait_s`` (possibly b"" on a time-out);
framing is the caller's job (``meterkast.mbus`` framer), as on a real serial line.
Implementations: :class:`VirtualTransport` (here), ``TcpTransport`` (``mbus_tcp.py``), ``SerialTransport``
(``mbus_serial.py``). ``tests/io/test_mbus_transport_contract.py`` runs one contract against all of them.
"""

from __future__ import annotations

from meterkast.clock import Clock
from meterkast.mbus.master import MbusTransport
from meterkast.mbus.virtual import BusPort, VirtualBus

__all__ = ["DEFAULT_REPLY_WAIT_S", "MbusTransport", "VirtualTransport"]

# EN 13757-2: a slave answers within 330 bit times + 50 ms; at 2400 baud that is ≈ 190 ms. Gateways add
# latency, so masters wait longer; libmbus waits about 0.5 s per attempt.
DEFAULT_REPLY_WAIT_S = 0.5


class VirtualTransport(BusPort):
    """A :class:`BusPort` whose time comes from a :class:`Clock` (the live installation's)."""

    def __init__(self, bus: VirtualBus, clock: Clock) -> None:
        super().__init__(bus, clock.now)
