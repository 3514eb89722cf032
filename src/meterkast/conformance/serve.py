"""Playing a situation on a P1 server, and its ground truth as JSON lines (``p1 serve --situation``).

``serve_situation(server, played, pacer, truth)`` waits (on the pacer's simulated clock) until each
telegram instant, hands the bytes to every client (``P1Server.broadcast``) and writes the instant's
truth line. The truth file has one JSON object per telegram instant (docs/conformance.md):
``{"at": …, "sent": true, "fault": null, "truth": {record}}``; ``truth`` is null for a spoiled telegram
(``fault``: ``"crc"`` or ``"cut-off"``) or an instant at which nothing was sent (``sent``: false).
Two segments (a meter swap) follow each other on the same clock.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from meterkast.conformance.play import Played
from meterkast.conformance.records import Record
from meterkast.errors import InvalidInput
from meterkast.io.p1_server import P1Server, Pacer


def truth_line(played: Played) -> str:
    return json.dumps({"at": played.at.isoformat(), "sent": played.data is not None, "fault": played.fault,
                       "truth": played.truth})


def read_truth(lines: Iterable[str], source: str) -> list[Record]:
    """The intact telegrams' records from a truth file written by ``p1 serve --truth``."""
    records: list[Record] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{source} line {number}: not JSON: {exc.msg}") from None
        if not isinstance(obj, dict) or "truth" not in obj:
            raise InvalidInput(f"{source} line {number}: not a truth line (no 'truth' key)")
        if obj["truth"] is not None:
            records.append({str(k): str(v) for k, v in obj["truth"].items()})
    return records


async def serve_situation(server: P1Server, played: Sequence[Played], pacer: Pacer,
                          truth: Callable[[str], None] | None = None) -> None:
    """Send every played telegram at its instant; ``truth`` receives each instant's truth line."""
    for item in played:
        await pacer.wait_until(item.at)
        if item.data is not None:
            server.broadcast(item.data)
        if truth is not None:
            truth(truth_line(item))
        await asyncio.sleep(0)
