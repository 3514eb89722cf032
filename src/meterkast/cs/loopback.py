"""The in-memory twin of the central system's P3 links (STYLE 10): E-meters reached without sockets.

``memory_opener(servers)`` opens a ``MemoryLink`` to the ``P3Server`` of the E-meter an entry names: a fresh
association per contact, as a TCP connection would have (``cosem.loopback``). ``down`` says which meters
cannot be reached right now (an outage: ``LinkError``, as the TCP opener raises). Tests and simulations
drive ``cs.service.CentralSystem`` with it; the service cannot tell it from TCP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from meterkast.cosem.access import Client
from meterkast.cosem.client import P3Client, Procedure, T
from meterkast.cosem.loopback import Loopback, run
from meterkast.cosem.server import P3Server
from meterkast.cs.inventory import MeterEntry
from meterkast.errors import LinkError


class MemoryLink:
    def __init__(self, server: P3Server, client: Client) -> None:
        self.loopback = Loopback(server.association(), client)

    async def run(self, procedure: Procedure[T]) -> T:
        return run(procedure, self.loopback.exchange)

    async def close(self) -> None:
        return None


def memory_opener(servers: Mapping[str, P3Server],
                  down: Callable[[str], bool] = lambda _emeter: False
                  ) -> Callable[[MeterEntry, P3Client], Awaitable[MemoryLink]]:
    async def open_link(entry: MeterEntry, client: P3Client) -> MemoryLink:
        if down(entry.emeter) or entry.emeter not in servers:
            raise LinkError(f"E-meter {entry.emeter} at {entry.host}:{entry.port} cannot be reached (simulated)")
        return MemoryLink(servers[entry.emeter], client.client)
    return open_link
