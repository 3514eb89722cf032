"""Key rotation by the central system (``CentralSystem.rotate_keys``; P3 §5.1 footnote 4, DSMR-M 4.4.14), on both
store backends: keys stored only after the meter confirmed, and every failure in between settled by a contact."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from meterkast.central.model import KeyKind
from meterkast.central.store_sql import SqlStore
from meterkast.cosem.client import P3Client, Procedure, T
from meterkast.cosem.loopback import run
from meterkast.cosem.server import P3Server
from meterkast.cs.inventory import MeterEntry
from meterkast.cs.loopback import MemoryLink
from meterkast.cs.service import CentralSystem
from meterkast.dlms import SecurityKeys
from meterkast.errors import CommandRefused, InvalidInput, LinkError, NoReply
from tests.cs.helpers import KEYS, drive, entry_for, make_cs, new_meter, p3_server

START = datetime(2026, 1, 5, tzinfo=UTC)
NOW = START + timedelta(hours=5)
KEK = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
ACTION_EXCHANGE = 3  # AARQ, reply_to_HLS_authentication, global_key_transfer


class Links:
    """In-memory links whose ``drop``-th exchange reaches the meter but loses its answer, or that are down."""

    def __init__(self, server: P3Server) -> None:
        self.server = server
        self.drop: int | None = None
        self.down = False

    async def open(self, entry: MeterEntry, client: P3Client) -> MemoryLink:
        if self.down:
            raise LinkError(f"E-meter {entry.emeter} cannot be reached (simulated)")
        link, drop = _DroppingLink(self.server, client), self.drop
        link.drop, self.drop = drop, None
        return link


class _DroppingLink(MemoryLink):
    def __init__(self, server: P3Server, client: P3Client) -> None:
        super().__init__(server, client.client)
        self.drop: int | None = None

    async def run(self, procedure: Procedure[T]) -> T:
        count = 0

        def exchange(apdu: bytes) -> bytes:
            nonlocal count
            count += 1
            reply = self.loopback.exchange(apdu)
            if count == self.drop:
                raise NoReply("the answer was lost on the way (simulated)")
            return reply

        return run(procedure, exchange)


def setup(store: SqlStore, kek: bytes = KEK) -> tuple[CentralSystem, P3Server, Links, str]:
    meter = new_meter(START)
    drive(meter, NOW, START)
    server = p3_server(meter)
    server.master_key = KEK
    links = Links(server)
    cs = make_cs(store, START, links.open)
    cs.enrol(entry_for(meter, START), at=START)
    cs.store_master_key(meter.equipment_id, kek, START)
    return cs, server, links, meter.equipment_id


def current(store: SqlStore, emeter: str) -> SecurityKeys:
    return SecurityKeys(store.get_key(emeter, KeyKind.P3_ENCRYPTION), store.get_key(emeter, KeyKind.P3_AUTHENTICATION))


def contact(cs: CentralSystem, emeter: str) -> Callable[[], None]:
    def once() -> None:
        moment = max(cs.scheduler.next_round_at, cs.scheduler.links[emeter].retry_at or NOW)
        report = asyncio.run(cs.step(moment))
        assert (report.contacts, report.failures) == (1, 0)
    return once


def test_rotation_stores_the_new_keys_once_the_meter_confirmed(any_store: SqlStore) -> None:
    cs, server, _links, emeter = setup(any_store)
    new = asyncio.run(cs.rotate_keys(emeter, NOW))
    assert new != KEYS and server.keys == new and current(any_store, emeter) == new
    assert cs._p3_keys(emeter) == (new, None)  # nothing pending
    contact(cs, emeter)()  # the scheduled reads use the new keys
    assert any_store.get_key(emeter, KeyKind.P3_ENCRYPTION, version=1) == KEYS.encryption_key  # history kept


def test_a_lost_confirmation_is_recovered_by_the_next_contact(any_store: SqlStore) -> None:
    cs, server, links, emeter = setup(any_store)
    links.drop = ACTION_EXCHANGE  # the meter swaps its keys, the CS never hears so
    with pytest.raises(NoReply):
        asyncio.run(cs.rotate_keys(emeter, NOW))
    assert server.keys != KEYS and current(any_store, emeter) == KEYS  # not stored: not confirmed
    assert cs._p3_keys(emeter) == (KEYS, server.keys)  # but kept as pending
    contact(cs, emeter)()  # current keys refused (authentication-failure), pending ones work
    assert current(any_store, emeter) == server.keys and cs._p3_keys(emeter)[1] is None


def test_a_refused_transfer_changes_nothing_and_leaves_nothing_pending(any_store: SqlStore) -> None:
    cs, server, _links, emeter = setup(any_store, kek=bytes(16))  # the CS holds the wrong master key
    with pytest.raises(CommandRefused, match="other-reason"):
        asyncio.run(cs.rotate_keys(emeter, NOW))
    assert server.keys == KEYS and cs._p3_keys(emeter) == (KEYS, None)
    contact(cs, emeter)()


def test_an_unsettled_change_blocks_a_new_one_until_a_contact_settles_it(any_store: SqlStore) -> None:
    cs, server, links, emeter = setup(any_store)
    links.down = True  # the new keys are pending, the meter never saw them
    with pytest.raises(LinkError):
        asyncio.run(cs.rotate_keys(emeter, NOW))
    links.down = False
    with pytest.raises(InvalidInput, match="unconfirmed"):
        asyncio.run(cs.rotate_keys(emeter, NOW))
    contact(cs, emeter)()  # the meter answers to the current keys: the pending pair is retired
    assert cs._p3_keys(emeter) == (KEYS, None) and server.keys == KEYS
    new = asyncio.run(cs.rotate_keys(emeter, NOW))
    assert server.keys == new == current(any_store, emeter)
