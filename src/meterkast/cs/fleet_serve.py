"""A simulated fleet on TCP: every E-meter its own P3 port on 127.0.0.1 (issue 6 load test; DSMR P3 §3.1).

Each ``FleetMeter`` (``cs.fleet``) gets its own ``io.p3_server.P3TcpServer`` on its own ephemeral port, with
its own keys, system title and P3 counters: a connection reaches exactly one meter, as a GPRS modem's
address does in the field. A fresh meter's own counter starts at 1; ``counters`` (by system title) is the
fleet's persisted P3 state: pass the dict of a stopped ``FleetServer`` to a new one and every meter goes on
where it stood (its counter never repeats, a client counter it accepted is never accepted again).
Nothing is multiplexed, so a thousand meters are a thousand listening sockets (the process needs that
many file descriptors and more; ``raise_fd_limit`` asks for them).

The meters stand still: nothing advances them while they are served, so what a central system reads
is what ``build_fleet`` prepared.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable, Sequence
from types import TracebackType

from meterkast.cosem.access import MeterInfo
from meterkast.cosem.session_counters import P3Counters
from meterkast.cs.fleet import FleetMeter
from meterkast.cs.inventory import MeterEntry
from meterkast.emeter import EMeter
from meterkast.io.listen import DEFAULT_HOST, connect_host
from meterkast.io.p3_server import P3ServerStats, P3TcpServer
from meterkast.randomness import RandomSource

HOST = DEFAULT_HOST


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft limit on open files towards ``wanted`` (never above the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def _getter(meter: EMeter) -> Callable[[], EMeter]:
    return lambda: meter


class FleetServer:
    def __init__(self, fleet: Sequence[FleetMeter], *, rng: RandomSource, host: str = HOST,
                 counters: dict[bytes, P3Counters] | None = None) -> None:
        self.fleet = list(fleet)
        self.host = host
        self.counters = {} if counters is None else counters
        self.servers = [
            P3TcpServer(_getter(item.meter), MeterInfo(item.system_title), item.keys, rng=rng,
                        counters=self.counters.setdefault(item.system_title, P3Counters()))
            for item in self.fleet
        ]
        self.entries: list[MeterEntry] = []

    async def start(self) -> list[MeterEntry]:
        """Listen, one ephemeral port per meter; returns the inventory entries with those ports."""
        raise_fd_limit(4 * len(self.servers) + 256)
        ports = await asyncio.gather(*(server.start(self.host, 0) for server in self.servers))
        # A meter bound to every interface is reached here over loopback (io.listen.connect_host).
        reach = connect_host(self.host)
        self.entries = [item.entry(reach, port) for item, port in zip(self.fleet, ports, strict=True)]
        return self.entries

    async def stop(self) -> None:
        await asyncio.gather(*(server.stop() for server in self.servers))

    def stats(self) -> P3ServerStats:
        total = P3ServerStats()
        for server in self.servers:
            for name in ("connections", "apdus", "replies", "misaddressed", "timeouts"):
                setattr(total, name, getattr(total, name) + getattr(server.stats, name))
        return total

    async def __aenter__(self) -> FleetServer:
        await self.start()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.stop()
