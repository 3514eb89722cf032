"""meterkast's own P1 reader through every situation: ``p1 read --json`` output is a consumer report.

The reader (``io.p1_reader``, as ``meterkast p1 read --json`` runs it) connects to a loopback P1 server
playing the situation; each telegram is turned into the JSON ``p1 read --json`` prints
(``commands.p1.telegram_json``), read back with ``records.from_json`` and checked: every situation must
pass (CRC errors and cut-off telegrams discarded [P1-4.2.2 §5.1], the emptied channel as no value, the
live gas device chosen by its capture time, S/W resolved).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from meterkast.clock import SimClock
from meterkast.commands.p1 import telegram_json
from meterkast.conformance.check import check
from meterkast.conformance.play import Played, play
from meterkast.conformance.records import Record, from_json
from meterkast.conformance.serve import serve_situation
from meterkast.conformance.situations import ENCRYPTION_KEY_HEX, SITUATIONS, Situation
from meterkast.errors import MeterkastError
from meterkast.io.p1_reader import p1_reader
from meterkast.io.p1_server import InstantPacer, P1Server


async def read_with_meterkast(situation: Situation, played: list[Played]) -> list[Record]:
    server = P1Server(None, InstantPacer(SimClock(played[0].at)))
    _, port = await server.start_tcp("127.0.0.1", 0)
    key = bytes.fromhex(ENCRYPTION_KEY_HEX) if situation.encrypted else None
    reader = p1_reader(f"tcp://127.0.0.1:{port}", key, version=situation.version, max_reconnects=0)
    lines: list[str] = []

    async def consume() -> None:
        try:
            async for telegram in reader:
                lines.append(json.dumps(telegram_json(telegram)))
        except MeterkastError:
            pass  # the server closed after the last telegram and no reconnection is allowed

    task = asyncio.create_task(consume())
    try:
        await server.wait_for_clients(1)
        await serve_situation(server, played, server.pacer)
    finally:
        await server.close()
    async with asyncio.timeout(30):  # a safety net only: the close above ends the reader
        await task
    await reader.aclose()
    parsed: list[Any] = [json.loads(line) for line in lines]
    return [from_json(obj, f"telegram {i + 1}") for i, obj in enumerate(parsed)]


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda s: s.name)
def test_meterkast_reader_passes(situation: Situation) -> None:
    played = list(play(situation))
    report = asyncio.run(read_with_meterkast(situation, played))
    result = check(situation, [p.truth for p in played if p.truth is not None], report)
    assert result.passed, result.line()
    assert result.compared == sum(1 for p in played if p.truth is not None) > 0
