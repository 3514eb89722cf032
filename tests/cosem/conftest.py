"""Shared helpers for the P3 tests: an E-meter run for a couple of days, keys, and associated sessions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

import pytest

from meterkast.cosem.access import Client, MeterInfo
from meterkast.cosem.client import P3Client
from meterkast.cosem.loopback import Loopback, run
from meterkast.cosem.server import P3Server
from meterkast.cosem.session_counters import P3Counters
from meterkast.dlms import InvocationCounter, SecurityKeys
from meterkast.emeter import EMeter
from tests.emeter.conftest import drive, new_meter, utc

KEYS = SecurityKeys(bytes.fromhex("000102030405060708090A0B0C0D0E0F"),
                    bytes.fromhex("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"))
WRONG_KEYS = SecurityKeys(bytes(16), KEYS.authentication_key)
METER_TITLE = bytes.fromhex("4B464D0000BC614E")  # "KFM" + serial
CS_TITLE = bytes.fromhex("4D4B530000000001")  # "MKS" + 1
START = utc(2024, 3, 1)
NOW = START + timedelta(days=2, hours=5, minutes=20)


def two_day_meter() -> EMeter:
    """One gas meter on channel 1, 400 W imported, run for two days and five hours (a shell polls it)."""
    meter = new_meter(START)
    meter.set_load(START, [400], [0], [230])
    drive(meter, NOW)
    return meter


def make_server(meter: EMeter, *, counter: int = 1000, keys: SecurityKeys | None = KEYS) -> P3Server:
    return P3Server(lambda: meter, MeterInfo(METER_TITLE), keys, random.Random(7),
                    P3Counters(InvocationCounter(counter)))


@dataclass
class Session:
    server: P3Server
    link: Loopback
    client: P3Client

    def run(self, procedure):  # type: ignore[no-untyped-def]
        return run(procedure, self.link.exchange)


def public_session(server: P3Server) -> Session:
    session = Session(server, Loopback(server.association(), Client.PUBLIC), P3Client(Client.PUBLIC))
    session.run(session.client.associate())
    return session


def management_client(*, keys: SecurityKeys = KEYS, counter: int = 1, seed: int = 3) -> P3Client:
    return P3Client(Client.MANAGEMENT, system_title=CS_TITLE, keys=keys, rng=random.Random(seed),
                    counter=InvocationCounter(counter), server_system_title=METER_TITLE)


def management_session(server: P3Server, **kwargs: object) -> Session:
    session = Session(server, Loopback(server.association(), Client.MANAGEMENT),
                      management_client(**kwargs))  # type: ignore[arg-type]
    session.run(session.client.associate())
    return session


@pytest.fixture(scope="module")
def meter() -> EMeter:
    return two_day_meter()


@pytest.fixture
def server(meter: EMeter) -> P3Server:
    return make_server(meter)
