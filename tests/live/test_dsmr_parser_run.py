"""Acceptance (issue 5, "meterkast run"): dsmr_parser reads the running P1 port; its gas values track the truth.

The runner drives the default installation (P2 link, DSMR 4) on a SimClock at very high speed, sending
telegrams to a P1 server on 127.0.0.1 (ephemeral port). dsmr_parser's own ``SocketReader`` (CRC checks
on, its V4 specification) reads them. The runner cannot make telegrams as fast as this clock runs, so it
skips to the newest telegram instant now and then (as a live P1 port does), but the telegram of every
whole hour is always sent. Over two simulated days, every hour's gas value as dsmr_parser reads it (the
hourly reading with its capture time) must equal the ground truth's index of the gas meter at that hour.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.socket_ import SocketReader

from meterkast.io.p1_server import InstantPacer, P1Server
from meterkast.live.runner import Runner
from meterkast.live.session import LiveSession
from meterkast.live.store import Store, dump_state
from tests.live.helpers import START, make_session

SPEED = 200_000.0  # simulated seconds per real second: two days in under a second
HOUR = timedelta(hours=1)
UNTIL = START + 49 * HOUR


async def run_with_dsmr_parser(session: LiveSession) -> tuple[list[Any], Runner, P1Server]:
    store = Store.open(None)
    store.commit(session.take_all()[0], dump_state(session.world))
    server = P1Server(session.port, InstantPacer(session.clock), backlog=1_000_000)
    host, port = await server.start_tcp("127.0.0.1", 0)
    session.p1_port = port
    reader = SocketReader(host, port, telegram_specifications.V4)
    reading = asyncio.create_task(asyncio.to_thread(lambda: list(reader.read())))
    runner = Runner(session, store, server, until=UNTIL, stop_at_until=True)
    try:
        await asyncio.wait_for(server.wait_for_clients(1), 10)
        session.set_speed(SPEED)  # the clock starts now that someone listens
        await runner.run()
    finally:
        await server.close(flush_timeout_s=30)
    return await asyncio.wait_for(reading, 30), runner, server


def test_dsmr_parser_gas_values_track_the_ground_truth_hour_by_hour() -> None:
    session = make_session(speed=None, monotonic=time.monotonic)
    received, runner, server = asyncio.run(run_with_dsmr_parser(session))

    assert server.stats.clients_dropped == 0
    assert len(received) == runner.stats.telegrams == server.stats.telegrams, "every telegram arrives, CRC good"
    assert runner.stats.skipped > 0, "the clock ran faster than telegrams can be made: the port skipped ahead"

    shown: dict[datetime, Decimal] = {}
    stamps = []
    for telegram in received:
        stamps.append(telegram.P1_MESSAGE_TIMESTAMP.value.astimezone(UTC))
        reading = getattr(telegram, "HOURLY_GAS_METER_READING", None)
        if reading is None:  # before the first read at xx:01 the line is left out [P1-4.2.2 §6.3]
            assert stamps[-1] < START + timedelta(minutes=1), "only a fresh E-meter shows no gas reading"
            continue
        captured = reading.datetime.astimezone(UTC)
        assert shown.setdefault(captured, reading.value) == reading.value, "one value per capture hour"
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), "in order, none twice"

    truth = session.world.installation.truth.hours()
    checked = 0
    for row in truth:
        end = row.hour + HOUR  # the truth's index_m3 is the meter's index at the end of its hour
        if START < end < UNTIL:
            assert end in shown, f"no telegram showed the gas value of {end.isoformat()}"
            assert shown[end] == row.index_m3, f"at {end.isoformat()} P1 says {shown[end]}, truth {row.index_m3}"
            checked += 1
    assert checked == 48
    assert shown[START + 48 * HOUR] > shown[START + HOUR], "gas was used"
