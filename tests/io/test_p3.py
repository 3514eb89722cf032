"""P3 over TCP on 127.0.0.1 (ephemeral port): the IEC 62056-47 wrapper, one association per connection,
both DSMR clients, a replayed counter answered with silence, frames for another wPort dropped."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest

from meterkast.cosem.access import Client, MeterInfo
from meterkast.cosem.client import ClientState, P3Client
from meterkast.cosem.events import AssociationAborted, AssociationEstablished, P3Event
from meterkast.cosem.readings import read_register
from meterkast.cosem.session_counters import P3Counters
from meterkast.dlms import (
    AttributeDescriptor,
    DataAccessResult,
    GetRequestNormal,
    InvocationCounter,
    ObisCode,
    WrapperFrame,
    cipher_apdu,
    encode_wrapper,
)
from meterkast.errors import CommandRefused, LinkError, NoReply
from meterkast.io.p3_client import P3TcpClient
from meterkast.io.p3_server import P3TcpServer
from tests.cosem.conftest import CS_TITLE, KEYS, METER_TITLE, management_client, two_day_meter
from tests.emeter.conftest import local

HOST = "127.0.0.1"
HOURLY = ObisCode.parse("0-1:24.3.0.255")
CLOCK_TIME = AttributeDescriptor(8, ObisCode.parse("0-0:1.0.0.255"), 2)


def serving(test: Callable[[P3TcpServer, int, list[P3Event]], Awaitable[None]]) -> None:
    async def main() -> None:
        meter = two_day_meter()
        events: list[P3Event] = []
        server = P3TcpServer(lambda: meter, MeterInfo(METER_TITLE), KEYS, rng=random.Random(5),
                             counters=P3Counters(InvocationCounter(77)), on_event=events.append)
        async with server:
            port = await server.start(HOST, 0)
            await asyncio.wait_for(test(server, port, events), 10)

    asyncio.run(main())


def test_public_and_management_clients_over_tcp() -> None:
    async def check(server: P3TcpServer, port: int, events: list[P3Event]) -> None:
        async with await P3TcpClient.connect(HOST, port, P3Client(Client.PUBLIC)) as public:
            clock = await public.read_clock()
            assert clock == server.core.meter().meter_time().replace(microsecond=0)
            denied = await public.run(public.client.get(AttributeDescriptor(3, ObisCode.parse("1-0:1.8.1.255"), 2)))
            assert denied is DataAccessResult.READ_WRITE_DENIED
        async with await P3TcpClient.connect(HOST, port, management_client()) as management:
            value, unit = await management.run(read_register(management.client, 3, ObisCode.parse("1-0:1.8.2.255")))
            assert (value, unit) == (server.core.meter().registers.import_kwh()[1] * 1000, 30)
            rows = await management.read_profile(HOURLY, local(2024, 3, 2), local(2024, 3, 2, 23))
            assert [r.value_m3 for r in rows] == [e.value_m3 for e in server.core.meter().hourly_profile(1).entries(
                local(2024, 3, 2), local(2024, 3, 2, 23))]
            assert len(rows) == 24
        assert [type(e) for e in events if isinstance(e, AssociationEstablished)] == [AssociationEstablished] * 2
        assert server.stats.connections == 2 and server.stats.apdus == server.stats.replies

    serving(check)


def test_a_replayed_counter_gets_silence_and_the_association_is_gone() -> None:
    async def check(server: P3TcpServer, port: int, events: list[P3Event]) -> None:
        connection = await P3TcpClient.connect(HOST, port, management_client(counter=20), timeout_s=0.3)
        await connection.associate()  # counters 20 and 21
        replay = cipher_apdu(GetRequestNormal(CLOCK_TIME).encode(), system_title=CS_TITLE, invocation_counter=21,
                             keys=KEYS)
        with pytest.raises(NoReply, match="did not answer"):
            await connection.exchange(replay.encode())
        assert isinstance(events[-1], AssociationAborted)
        with pytest.raises(CommandRefused, match="DECIPHERING_ERROR"):  # frame 22 finds no association
            await connection.read_clock()
        await connection.close()

    serving(check)


def test_frames_for_another_logical_device_are_dropped() -> None:
    async def check(server: P3TcpServer, port: int, events: list[P3Event]) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(encode_wrapper(WrapperFrame(16, 7, GetRequestNormal(CLOCK_TIME).encode())))
        await writer.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.read(100), 0.2)
        assert server.stats.misaddressed == 1
        writer.close()
        await writer.wait_closed()

    serving(check)


def test_an_idle_connection_is_closed_and_the_client_says_so() -> None:
    async def check(server: P3TcpServer, port: int, events: list[P3Event]) -> None:
        server.inactivity_timeout_s = 0.1  # P3 Table 3-1 inactivity_time_out, shortened
        connection = await P3TcpClient.connect(HOST, port, P3Client(Client.PUBLIC))
        async with asyncio.timeout(30):  # wait for the server's timeout itself, not a guess at how long it takes
            while server.stats.timeouts == 0:
                await asyncio.sleep(0.01)
        with pytest.raises(LinkError, match="closed the connection"):
            await connection.associate()
        assert server.stats.timeouts == 1
        assert connection.client.state is ClientState.IDLE  # link_lost: associate again on a new connection
        await connection.close()

    serving(check)


def test_connecting_to_nothing_is_a_link_error() -> None:
    async def main() -> None:
        with pytest.raises(LinkError, match="cannot reach"):
            await P3TcpClient.connect(HOST, 1, P3Client(Client.PUBLIC), timeout_s=1)

    asyncio.run(main())


def test_the_counters_are_persisted_before_each_reply_and_a_failed_save_answers_nothing() -> None:
    """``on_counters`` gets the state before the reply that used it leaves; if it cannot be saved the meter
    answers nothing (a restarted meter would otherwise repeat the counter it used)."""
    saved: list[dict[str, object]] = []
    sent: list[int] = []

    async def main() -> None:
        meter = two_day_meter()
        server = P3TcpServer(lambda: meter, MeterInfo(METER_TITLE), KEYS, rng=random.Random(5),
                             on_counters=lambda c: saved.append(c.to_json()))
        async with server:
            port = await server.start(HOST, 0)
            async with await P3TcpClient.connect(HOST, port, management_client()) as management:
                await management.read_clock()
            sent.append(server.core.counter.next_value)
            assert saved[-1]["server_next"] == sent[-1]  # every counter the meter used was saved first
            assert len(saved) == server.stats.replies  # each frame moved the counters, each was saved

            def broken(_counters: P3Counters) -> None:
                raise LinkError("disk full (simulated)")

            server.on_counters = broken
            client = await P3TcpClient.connect(HOST, port, management_client(counter=1000), timeout_s=2.0)
            try:
                with pytest.raises(LinkError):
                    await client.associate()
            finally:
                await client.close()

    asyncio.run(main())
