"""Filing what one contact read: readings and alarms into the central store (issue 6; SYSTEM C1, C3, E3;
DSMR-FACTS §3, §5). Step 3 of a contact of ``cs.service.CentralSystem``; it blocks on the store and runs in
a worker thread.

Rules this module keeps: only the readings of the planned instants are stored (``readings_from`` per read,
``Store.store_readings``: idempotent, so a repeat stores nothing twice); an alarm is raised once however
often its cause is seen (the store keeps one open alarm per kind and channel); the answer of a meter ends
its open communication loss; nothing here catches a store error, the service decides what it means.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from meterkast.central.model import Alarm
from meterkast.central.store import Store
from meterkast.cs.alarms import P3_COMMUNICATION_LOSS, AlarmCommand, CloseAlarm, RaiseAlarm
from meterkast.cs.collect import Collected, readings_from
from meterkast.cs.inventory import MeterEntry
from meterkast.cs.journal import ReadRecord
from meterkast.cs.schedule import MeterPlan

log = logging.getLogger("meterkast.cs")


@dataclass(frozen=True, slots=True)
class Filed:
    """What filing one contact did: a journal record per profile read, the alarms it raised and closed,
    and the meter's open alarms after it."""

    records: list[ReadRecord]
    raised: int
    closed: int
    open_alarms: list[Alarm]


def file_contact(store: Store, entry: MeterEntry, plan: MeterPlan, collected: Collected,
                 commands: list[AlarmCommand], *, known: list[Alarm], now: datetime) -> Filed:
    """Store the readings of ``collected`` and carry out the alarm ``commands``; ``known`` are the meter's
    open alarms as of its last contact (the CS files them, so it knows them without asking)."""
    records = []
    for read, rows in collected.rows:
        harvest = readings_from(plan, [(read, rows)], now)
        new = store.store_readings(harvest.readings)
        records.append(ReadRecord(now, entry.emeter, entry.connection.ean, read, new,
                                  len(harvest.readings) - new, harvest.unavailable))
    if any((a.kind, a.channel) == P3_COMMUNICATION_LOSS for a in known):  # the meter answered: it is over
        commands = [*commands, CloseAlarm(*P3_COMMUNICATION_LOSS, now, "P3 link answered")]
    if not commands:
        return Filed(records, 0, 0, known)
    before, closed = {a.alarm_id for a in known}, 0
    for command in commands:
        if isinstance(command, RaiseAlarm):
            alarm = store.raise_alarm(entry.emeter, command.kind, command.channel, command.at)
            if alarm.alarm_id not in before:
                before.add(alarm.alarm_id)
                log.info("alarm %d: %s on %s channel %d (%s)", alarm.alarm_id, command.kind.value,
                         entry.emeter, command.channel, command.source)
            continue
        for alarm in store.open_alarms(entry.emeter):
            if (alarm.kind, alarm.channel) == (command.kind, command.channel):
                store.close_alarm(alarm.alarm_id, max(now, alarm.acknowledged_at or alarm.raised_at))
                closed += 1
    now_open = store.open_alarms(entry.emeter)
    raised = len({a.alarm_id for a in now_open} - {a.alarm_id for a in known})
    return Filed(records, raised, closed, now_open)
