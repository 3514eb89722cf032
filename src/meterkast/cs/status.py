"""The central system's status for a dashboard (issue 6 "Central system"; SYSTEM C1, C2): what it read
lately, what it refused for consent, its meters' links and its open alarms, as JSON.

Rules this module keeps: a view only, it changes nothing and asks the store nothing (everything shown is
kept by the service as of each meter's last contact); newest first; at most ``STATUS_METERS`` meters, so a
fleet of thousands does not make a page of megabytes.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from meterkast.central.model import Alarm
from meterkast.cs.schedule import periods_allowed

if TYPE_CHECKING:
    from meterkast.cs.service import CentralSystem

JSON = dict[str, Any]
STATUS_METERS = 50


def status_json(cs: CentralSystem, *, reads: int, refusals: int) -> JSON:
    """``CentralSystem.status``: the last ``reads`` reads and ``refusals`` refusals, its meters and alarms."""
    links = cs.scheduler.links
    meters = []
    for emeter, entry in list(cs.entries.items())[:STATUS_METERS]:
        link = links[emeter]
        level = cs.consent_levels.get(emeter)
        meters.append({
            "emeter": emeter, "connection": entry.connection.ean, "address": f"{entry.host}:{entry.port}",
            "consent": None if level is None else level.value,
            "reads": [p.value for p in periods_allowed(level)] if level is not None else [],
            "state": link.state.value, "failures": link.failures, "contacts": link.contacts,
            "last_success": _iso(link.last_success), "last_error": link.last_error,
            "retry_at": _iso(link.retry_at),
        })
    states: dict[str, int] = {}
    for link in links.values():
        states[link.state.value] = states.get(link.state.value, 0) + 1
    return {
        "now": _iso(cs.last_step),
        "next_round": cs.scheduler.next_round_at.isoformat(),
        "system_title": cs.system_title.hex().upper(),
        "meters_total": len(links),
        "meter_states": states,
        "meters": meters,
        "stats": asdict(cs.stats),
        "last_reads": [r.to_json() for r in reversed(list(cs.journal.reads)[-reads:])],
        "refused": [r.to_json() for r in reversed(cs.journal.refusals[-refusals:])],
        "refused_total": cs.journal.refused_total,
        "open_alarms": [alarm_json(a) for a in cs.open_alarms()],
        "last_filing_error": cs.last_filing_error,
    }


def alarm_json(alarm: Alarm) -> JSON:
    return {"id": alarm.alarm_id, "emeter": alarm.emeter, "channel": alarm.channel, "kind": alarm.kind.value,
            "raised_at": alarm.raised_at.isoformat(), "acknowledged_at": _iso(alarm.acknowledged_at)}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
