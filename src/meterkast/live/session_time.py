"""The live session's time: it moves the world, closes every whole hour in order and hands what happened to
the store as commits (issue 5; SYSTEM G5, E1, P1; DSMR-M 4.5.5). ``SessionTime`` is the part of
``live.session.LiveSession`` that ``meterkast run`` and a restart's replay both go through; the session adds
the commands and the control surface.

Rules this module keeps:
- every whole hour on the way is closed in order, whatever the step size: the world advances to
  xx:00:00, the telegram of that instant is made (it shows the previous hour's gas value, which the
  E-meter read at xx:01 [DSMR-M 4.5.5]), and the previous hour's record is finalised. Results do not
  depend on how time is sliced, so a restart that replays time reaches the same state;
- a commit never holds events beyond its instant: what happened after the last whole hour stays open
  until the next one (or until ``take_all`` at a clean stop), so a crash loses at most that hour;
- while replaying, nothing is recorded: it was stored before the crash.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from meterkast.live.p1_output import P1Output
from meterkast.live.store import Commit, EventRecord, HourRecord
from meterkast.live.views import event_record
from meterkast.sim.installation import Event, Installation
from meterkast.sim.p1_source import P1Port
from meterkast.timeutil import HOUR, next_whole_hour

if TYPE_CHECKING:
    from meterkast.live.session import World

EVENT_WINDOW = 1000  # events kept for polling (the store keeps them all)
HOUR_WINDOW = 24 * 400  # the web API asks for up to 400 days of hours


class SessionTime:
    def __init__(
        self, world: World, *, last_seq: int = 0, events: Sequence[EventRecord] = (), hours: Sequence[HourRecord] = ()
    ) -> None:
        self.world = world
        self.port = P1Port(world.installation, world.p1_version)  # the telegram grid
        self.p1 = P1Output(world, self.port)
        self._seq = last_seq
        self._events: deque[EventRecord] = deque(events, EVENT_WINDOW)
        self._hours: deque[HourRecord] = deque(hours, HOUR_WINDOW)
        self._open = Commit(world.installation.now)
        self._closed: list[Commit] = []
        self.replaying = False

    @property
    def installation(self) -> Installation:
        return self.world.installation

    @property
    def now(self) -> datetime:
        return self.world.installation.now

    @property
    def telegrams_made(self) -> int:
        return self.p1.made

    @property
    def telegrams_dropped(self) -> int:
        return self.p1.dropped

    # -- time --------------------------------------------------------------------------------------------

    def step(self, moment: datetime, *, telegram: bool = False) -> list[bytes]:
        """Run to ``moment``, closing every whole hour on the way; return the telegrams made.

        Those are the telegram of each whole hour passed and, with ``telegram``, the one at ``moment``.
        """
        made: list[bytes] = []
        while (hour := next_whole_hour(self.now)) <= moment:
            self._advance(hour)
            data = self.p1.make(hour, record=not self.replaying)
            made += [data] if data is not None else []
            self._close_hour(hour)
        if moment > self.now:
            self._advance(moment)
            if telegram and (data := self.p1.make(moment, record=not self.replaying)) is not None:
                made.append(data)
        return made

    def next_telegram_at(self) -> datetime:
        return self.port.next_telegram_at(self.now)

    def is_telegram_instant(self, moment: datetime) -> bool:
        return self.port.next_telegram_at(moment - timedelta(microseconds=1)) == moment

    def _advance(self, moment: datetime) -> None:
        self._record(self.installation.advance(moment))

    def _record(self, events: Sequence[Event]) -> list[EventRecord]:
        if self.replaying:
            return []  # stored before the crash
        records = []
        for event in events:
            self._seq += 1
            record = event_record(self._seq, event)
            self._open.events.append(record)
            self._events.append(record)
            records.append(record)
        return records

    def _close_hour(self, hour: datetime) -> None:
        """At ``hour``: finalise the record of the hour that ended one hour ago, and close a commit here.

        The record of the hour [S, S+1h) sets the truth's index at S+1h beside the gas value that the
        P1 stream showed with capture time S+1h; telegrams show it from S+1h+1min up to and including
        the one at S+2h, so the record is complete only now (S = ``hour`` − 2 h).
        """
        world = self.world
        newest = self.installation.truth.last()
        pending, world.truth_pending = world.truth_pending, newest if newest and newest.hour == hour - HOUR else None
        shown = world.p1_seen.pop(hour - HOUR, None)
        for old in [t for t in world.p1_seen if t < hour - HOUR]:
            del world.p1_seen[old]
        start = hour - 2 * HOUR
        record = None
        if start >= world.first_hour:
            consumed, index = (None, None) if pending is None else (pending.consumed_m3, pending.index_m3)
            record = HourRecord(start, consumed, index, shown)
        if self.replaying:
            return
        if record is not None:
            self._remember(record)
            self._open.hours.append(record)
        self._open.through = hour
        self._closed.append(self._open)
        self._open = Commit(hour)

    # -- handing over to the store ---------------------------------------------------------------------

    def take_commits(self) -> list[Commit]:
        """Commits for every whole hour closed since the last call, oldest first."""
        closed, self._closed = self._closed, []
        return closed

    def at_checkpoint(self) -> bool:
        """Is the world exactly at the last closed hour, with nothing open? (A snapshot may be taken.)"""
        return self.now == self._open.through and not self._open.events and not self._open.commands

    def take_all(self) -> list[Commit]:
        """Everything not yet handed over, the open hour included (a clean stop).

        It also carries the hour that ended at the last whole hour, provisionally: its truth is known
        then, but the P1 port shows its value only after it (``_close_hour``), so ``run --until T --stop``
        would otherwise never record the hour that ends at T. The next run's final record replaces it.
        """
        self._open.through = self.now
        self._open.provisional = self._provisional_hour()
        if self._open.provisional is not None:
            self._remember(self._open.provisional)
        closed, self._closed, self._open = [*self._closed, self._open], [], Commit(self.now)
        return closed

    def _provisional_hour(self) -> HourRecord | None:
        world = self.world
        pending = world.truth_pending  # the hour that ended at the last whole hour closed
        if pending is None or pending.hour < world.first_hour:
            return None
        return HourRecord(pending.hour, pending.consumed_m3, pending.index_m3,
                          world.p1_seen.get(pending.hour + HOUR))

    def _remember(self, record: HourRecord) -> None:
        """Keep ``record`` for the API; a final record replaces the provisional one of its hour."""
        if self._hours and self._hours[-1].hour == record.hour:
            self._hours[-1] = record
        else:
            self._hours.append(record)
