"""The E-meter as DSMR P2 master over the in-memory bus and the TCP gateway, with real gas meter slaves.

Installation as [P2-4.0.7 §8.3] describes it: the new meter answers at address 0, gets an address and a
user key wrapped with its default key; from then on every hourly read is mode 15 and replay-checked.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from meterkast.clock import SimClock
from meterkast.errors import AuthenticationError, BusCollision, CommandRefused, NoReply
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.io.mbus_gateway import MbusGateway
from meterkast.io.mbus_tcp import TcpTransport
from meterkast.io.mbus_transport import VirtualTransport
from meterkast.mbus.dsmr_master import DsmrP2Master
from meterkast.mbus.gas_slave import GasMeterSlave
from meterkast.mbus.keys import wrap_user_key
from meterkast.mbus.master import BusMaster, RetryPolicy
from meterkast.mbus.virtual import VirtualBus

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
DEFAULT_KEYS = [bytes([n]) * 16 for n in range(1, 6)]
USER_KEYS = [bytes([0x40 + n]) * 16 for n in range(1, 6)]
FAST = RetryPolicy(attempts=2, reply_wait_s=0.03)


def meter(n: int, index: str = "100.000") -> GasMeter:
    number = f"G0001{1234567000 + n:010d}26"
    return GasMeter.manufacture(MeterType.G4, number, T0, random.Random(n), default_key=DEFAULT_KEYS[n],
                                initial_index_m3=Decimal(index))


class Rig:
    """A bus with gas meters; the clock is simulated and set by the test."""

    def __init__(self) -> None:
        self.clock = SimClock(T0)
        self.bus = VirtualBus(random.Random(0))
        self.meters: list[GasMeter] = []

    def plug_in(self, n: int, index: str = "100.000") -> GasMeter:
        gas = meter(n, index)
        self.meters.append(gas)
        self.bus.attach(GasMeterSlave(gas))
        return gas

    def advance(self, delta: timedelta) -> None:
        self.clock.jump(delta)
        for gas in self.meters:
            gas.advance(self.clock.now())


Session = Callable[[Rig, Callable[[DsmrP2Master], Coroutine[Any, Any, Any]]], Any]


def virtual_session(rig: Rig, body: Callable[[DsmrP2Master], Coroutine[Any, Any, Any]]) -> Any:
    async def go() -> Any:
        return await body(DsmrP2Master(BusMaster(VirtualTransport(rig.bus, rig.clock), FAST)))

    return asyncio.run(go())


def tcp_session(rig: Rig, body: Callable[[DsmrP2Master], Coroutine[Any, Any, Any]]) -> Any:
    async def go() -> Any:
        gateway = MbusGateway(rig.bus, rig.clock)
        port = await gateway.start()
        transport = await TcpTransport.connect("127.0.0.1", port)
        try:
            return await body(DsmrP2Master(BusMaster(transport, FAST)))
        finally:
            await transport.close()
            await gateway.stop()

    return asyncio.run(go())


@pytest.fixture(params=["virtual", "tcp"])
def session(request: pytest.FixtureRequest) -> Session:
    return virtual_session if request.param == "virtual" else tcp_session


def test_install_two_meters_then_read_encrypted_hourly_values(session: Session) -> None:
    rig = Rig()

    async def body(p2: DsmrP2Master) -> list[tuple[int, int, str, Decimal, datetime]]:
        rig.plug_in(1, "100.000")
        first = await p2.install(default_key=DEFAULT_KEYS[1], user_key=USER_KEYS[1])
        rig.plug_in(2, "2500.125")
        second = await p2.install(default_key=DEFAULT_KEYS[2], user_key=USER_KEYS[2])
        rig.advance(timedelta(hours=1))  # both meters store their 10:00 value
        out = []
        for device in (first, second):
            reply = await p2.read(device.channel)
            out.append((device.channel, device.address, reply.meter.ident, reply.value_m3, reply.capture_time))
        return out

    readings = session(rig, body)
    assert readings == [
        (1, 1, "34567001", Decimal("100.000"), datetime(2026, 3, 2, 10, tzinfo=UTC)),
        (2, 2, "34567002", Decimal("2500.125"), datetime(2026, 3, 2, 10, tzinfo=UTC)),
    ]


def test_frame_counters_rise_and_a_stale_key_fails(session: Session) -> None:
    rig = Rig()

    async def body(p2: DsmrP2Master) -> list[int | None]:
        rig.plug_in(1)
        device = await p2.install(default_key=DEFAULT_KEYS[1], user_key=USER_KEYS[1])
        rig.advance(timedelta(hours=1))
        counters = [(await p2.read(1)).frame_counter for _ in range(3)]
        device.user_key = USER_KEYS[2]  # the E-meter holds the wrong key for this meter
        with pytest.raises(AuthenticationError, match="channel 1"):
            await p2.read(1)
        return counters

    counters = session(rig, body)
    assert all(c is not None for c in counters)
    assert counters == sorted(set(counters))


def test_a_fifth_device_is_refused_and_a_missing_one_is_no_reply() -> None:
    rig = Rig()

    async def body(p2: DsmrP2Master) -> None:
        for n in range(1, 5):
            rig.plug_in(n)
            await p2.install(default_key=DEFAULT_KEYS[n], user_key=USER_KEYS[n])
        with pytest.raises(CommandRefused, match="all 4 M-Bus channels are in use"):
            await p2.install(default_key=DEFAULT_KEYS[1], user_key=USER_KEYS[1])
        p2.decouple(2)
        with pytest.raises(NoReply, match="address 0"):
            await p2.install(default_key=DEFAULT_KEYS[1], user_key=USER_KEYS[1])  # nobody new at address 0

    virtual_session(rig, body)


def test_two_new_meters_at_address_0_collide() -> None:
    rig = Rig()

    async def body(p2: DsmrP2Master) -> None:
        rig.plug_in(1)
        rig.plug_in(2)
        with pytest.raises(BusCollision, match="address 0"):
            await p2.install(default_key=DEFAULT_KEYS[1], user_key=USER_KEYS[1])

    virtual_session(rig, body)


def test_a_key_change_relays_the_set_key_records_and_keeps_the_old_key_until_the_new_one_works(
        session: Session) -> None:
    rig = Rig()

    async def body(p2: DsmrP2Master) -> tuple[bytes, bytes | None]:
        gas = rig.plug_in(1)
        await p2.install(default_key=DEFAULT_KEYS[1], user_key=USER_KEYS[1])
        rig.advance(timedelta(hours=1))
        p2.set_user_key(1, USER_KEYS[3])  # set_encryption_key before the relay: the old key still reads
        assert (await p2.read(1)).value_m3 == Decimal("100.000")
        # transfer_key as the E-meter holds it: P3's MSB-first octet string turned LSB first (P3 §3.2.3.1)
        await p2.transfer_key(1, wrap_user_key(gas.default_key, USER_KEYS[3])[::-1])
        await p2.read(1)
        device = p2.devices[1]
        return device.user_key, device.next_user_key

    assert session(rig, body) == (USER_KEYS[3], None)
