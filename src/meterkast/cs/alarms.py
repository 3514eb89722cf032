"""Alarms the central system files from what an E-meter reports over P3 (SYSTEM C1, E4, G10, G11): sans-I/O.

Two sources, read at every contact:
- alarm register 1, 0-0:97.98.0 [P3-4.2.2 §4.2.4]: bit → (kind, channel) by ``central.rules.alarms_in_register``
  (clock invalid, power up, fraud, M-Bus communication error / fraud attempt / new device on channel 1–4).
  A bit stays set until the management client clears the register, so only bits that were not set at the
  previous read raise an alarm (``AlarmWatch``);
- the M-Bus event log, 0-0:99.98.3 [P3-4.2.2 §4.2.1], read from the last entry seen on: ``EVENT_ACTIONS``.
  "Replace battery" (102 + 10·(n−1)) has no alarm register bit, so the gas meter's low battery (SYSTEM G10)
  is only seen here; a broken seal (SYSTEM G11) reaches the CS as "fraud attempt" (103 …) both ways, and
  the store keeps one open alarm per (E-meter, channel, kind). "Communication ok" (101 …) closes an open
  M-Bus communication error of that channel: the meter itself says it is over.

A CS that cannot reach the E-meter at all files a communication loss: ``AlarmKind.P3_COMMUNICATION_LOSS`` on
channel 0, the E-meter itself.

Rules this module keeps: the tables are data (STYLE 5); nothing here reads a clock or the store: entries
and register values come in, ``RaiseAlarm``/``CloseAlarm`` commands go out, for the service to apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from meterkast.central import rules
from meterkast.central.model import AlarmKind
from meterkast.emeter.events import MbusCode, mbus_code
from meterkast.emeter.logs import LogEntry
from meterkast.emeter.obis import CHANNELS

P3_COMMUNICATION_LOSS: tuple[AlarmKind, int] = (AlarmKind.P3_COMMUNICATION_LOSS, 0)


@dataclass(frozen=True, slots=True)
class RaiseAlarm:
    kind: AlarmKind
    channel: int
    at: datetime
    source: str  # "alarm register", "M-Bus event 102", "P3 link"


@dataclass(frozen=True, slots=True)
class CloseAlarm:
    kind: AlarmKind
    channel: int
    at: datetime
    source: str


AlarmCommand = RaiseAlarm | CloseAlarm


@dataclass(frozen=True, slots=True)
class EventAction:
    close: bool  # False: raise
    kind: AlarmKind
    channel: int


def _event_actions() -> dict[int, EventAction]:
    per_channel = {
        MbusCode.COMMUNICATION_ERROR: (False, AlarmKind.MBUS_COMMUNICATION_ERROR),
        MbusCode.COMMUNICATION_OK: (True, AlarmKind.MBUS_COMMUNICATION_ERROR),
        MbusCode.REPLACE_BATTERY: (False, AlarmKind.MBUS_REPLACE_BATTERY),
        MbusCode.FRAUD_ATTEMPT: (False, AlarmKind.MBUS_FRAUD_ATTEMPT),
        MbusCode.NEW_DEVICE: (False, AlarmKind.NEW_MBUS_DEVICE),
    }
    return {
        mbus_code(code, x): EventAction(close, kind, x)
        for x in CHANNELS
        for code, (close, kind) in per_channel.items()
    }


# M-Bus event code → what the CS does [P3-4.2.2 §4.2.1] (DSMR-FACTS §3.4). Codes not listed (clock
# adjusted, permanent error, valve refused, log cleared) are kept in the meter's log but raise nothing.
EVENT_ACTIONS: dict[int, EventAction] = _event_actions()


@dataclass(slots=True)
class AlarmWatch:
    """What the CS has seen of one E-meter: the last alarm register and the last M-Bus log entry."""

    events_after: datetime  # entries with a clock after this are new
    register: int = 0
    seen_at_cursor: frozenset[tuple[datetime, int]] = field(default_factory=frozenset)

    def commands(self, register: int | None, entries: Sequence[LogEntry], at: datetime, *,
                 register_cleared: bool = False) -> list[AlarmCommand]:
        """The alarms to raise or close for what one contact read at ``at``, in order.

        ``register_cleared``: the CS wrote 0 to the register after reading it, so every bit it sees next
        time is new.
        """
        logged: list[AlarmCommand] = []
        for entry in self._fresh(entries):
            action = EVENT_ACTIONS.get(entry.code)
            if action is None:
                continue
            moment = entry.clock.astimezone(UTC)
            command = CloseAlarm if action.close else RaiseAlarm
            logged.append(command(action.kind, action.channel, moment, f"M-Bus event {entry.code}"))
        out: list[AlarmCommand] = []
        if register is not None:
            new = register & ~self.register
            # A bit says only "set before ``at``" (the read). When this read's M-Bus log also has the event,
            # its clock is when it happened: the alarm is stamped with that, never before its cause.
            first: dict[tuple[AlarmKind, int], datetime] = {}
            for raised in logged:
                if isinstance(raised, RaiseAlarm):
                    first.setdefault((raised.kind, raised.channel), raised.at)
            out += [RaiseAlarm(kind, channel, min(at, first.get((kind, channel), at)), "alarm register")
                    for kind, channel in rules.alarms_in_register(new)]
            self.register = 0 if register_cleared else register
        return out + logged

    def _fresh(self, entries: Sequence[LogEntry]) -> list[LogEntry]:
        """Entries not seen before, oldest first; the cursor moves to the newest clock."""
        new = [
            e for e in sorted(entries, key=lambda e: e.clock.astimezone(UTC))
            if e.clock.astimezone(UTC) > self.events_after
            or (e.clock.astimezone(UTC) == self.events_after and (self.events_after, e.code) not in self.seen_at_cursor)
        ]
        if new:
            newest = max(e.clock.astimezone(UTC) for e in new)
            same = {(newest, e.code) for e in new if e.clock.astimezone(UTC) == newest}
            self.seen_at_cursor = frozenset(same | (self.seen_at_cursor if newest == self.events_after else set()))
            self.events_after = newest
        return new

