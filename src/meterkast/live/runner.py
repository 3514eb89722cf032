"""The loop of ``meterkast run``: moves the live session along its clock, feeds the P1 port, commits hours.

Two ways to move (SYSTEM P1: a DSMR 4 meter sends a telegram every 10 s, a DSMR 5 meter every second):

- at a finite ``speed`` the loop waits (on real time) for each telegram instant of the simulated clock,
  steps the session there and sends the telegram to every P1 client. When it falls behind the clock by
  more than ``max_lag`` (a quarter of a real second, at least two telegram intervals) it skips to the
  newest telegram instant: a P1 port shows the meter *now*, it does not replay the past faster;
- at ``speed`` max (``None``) it steps from whole hour to whole hour, as fast as it can. Only the telegram
  of each whole hour is made and sent (nobody can read 3 million telegrams a simulated year at once);
  every hour still shows its gas value (the E-meter reads at xx:01, the next whole hour's telegram shows
  it), so the per-hour truth record is complete. With ``every_telegram`` (``run --situation``: a short
  situation whose every telegram a consumer is checked on) it steps from telegram instant to telegram
  instant instead, still as fast as it can.

Whatever the speed, every whole hour passed is closed by the session and committed to the store in its
own transaction; a snapshot of the world goes with it when ``snapshot_interval_s`` of real time has passed
since the last one (0: every hour). ``--until`` ends the catch-up: then the run stops (``stop_at_until``)
or carries on in real time. Cancelling the loop (Ctrl-C) commits what is open and a final snapshot.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TextIO

from meterkast.io.p1_server import P1Server
from meterkast.live.session import LiveSession
from meterkast.live.store import Commit, HourRecord, Store, dump_state
from meterkast.timeutil import next_whole_hour

LAG_REAL_S = 0.25
SNAPSHOT_INTERVAL_S = 1.0
PROGRESS_MIN = timedelta(days=1)  # a shorter catch-up needs no progress bar
PROGRESS_EVERY_S = 0.2
AFTER_UNTIL_SPEED = 1.0


@dataclass(slots=True)
class RunnerStats:
    hours: int = 0  # committed
    snapshots: int = 0
    telegrams: int = 0  # sent to the P1 port
    skipped: int = 0  # telegram instants skipped because the loop fell behind the clock


class Progress:
    """A one-line progress bar on a terminal (a line per tenth elsewhere) for a long catch-up."""

    def __init__(
        self,
        start: datetime,
        until: datetime,
        stream: TextIO = sys.stderr,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._start, self._until, self._stream, self._monotonic = start, until, stream, monotonic
        self._began = self._last = monotonic()
        self._tty = stream.isatty()
        self._tenth = -1

    def update(self, now: datetime) -> None:
        wall = self._monotonic()
        fraction = min(1.0, (now - self._start) / (self._until - self._start))
        if self._tty:
            if wall - self._last < PROGRESS_EVERY_S and fraction < 1:
                return
            self._last = wall
            self._stream.write("\r" + self._line(now, fraction, wall))
        elif int(fraction * 10) > self._tenth:
            self._tenth = int(fraction * 10)
            self._stream.write(self._line(now, fraction, wall) + "\n")
        self._stream.flush()

    def _line(self, now: datetime, fraction: float, wall: float) -> str:
        filled = int(fraction * 30)
        hours = (now - self._start).total_seconds() / 3600
        rate = hours / max(wall - self._began, 1e-9)
        bar = "#" * filled + "." * (30 - filled)
        return f"catching up [{bar}] {fraction:4.0%} {now:%Y-%m-%d %H:%M}Z {rate:,.0f} h/s"

    def finish(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


class Runner:
    def __init__(
        self,
        session: LiveSession,
        store: Store,
        server: P1Server | None = None,
        *,
        until: datetime | None = None,
        stop_at_until: bool = False,
        snapshot_interval_s: float = SNAPSHOT_INTERVAL_S,
        progress: TextIO | None = None,
        on_hours: Callable[[list[HourRecord]], None] | None = None,
        on_telegrams: Callable[[list[bytes]], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        every_telegram: bool = False,
    ) -> None:
        self.session = session
        self.every_telegram = every_telegram
        self.store = store
        self.server = server
        self.until = until
        self.stop_at_until = stop_at_until
        self.snapshot_interval_s = snapshot_interval_s
        self.stats = RunnerStats()
        self._progress_stream = progress
        self._on_hours = on_hours
        self._on_telegrams = on_telegrams  # also given every telegram made (run --mqtt, live/mqtt_output.py)
        self._progress: Progress | None = None
        self._monotonic = monotonic
        self._last_snapshot = monotonic()
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Run until ``until`` (with ``stop_at_until``) or until cancelled; commit everything on the way out."""
        session = self.session
        session.wake = self._wake.set
        self._start_progress()
        try:
            await self._loop()
        except BaseException as exc:
            if not isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
                raise  # a bug: keep the last good commit, do not snapshot a world in an unknown state
            self._close()
            raise
        self._close()

    async def _loop(self) -> None:
        session = self.session
        while True:
            if self.until is not None and session.now >= self.until:
                self._end_catch_up()
                if self.stop_at_until:
                    return
                self.until = None
                if session.speed is None:
                    session.set_speed(AFTER_UNTIL_SPEED)
            if session.speed is None:
                await (self._instant_step() if self.every_telegram else self._hour_step())
            else:
                await self._telegram_step(session.speed)

    async def _hour_step(self) -> None:
        session = self.session
        target = self._clamp(next_whole_hour(session.now))
        ahead = target - session.clock.now()
        if ahead > timedelta(0):
            session.clock.jump(ahead)  # at speed max the clock stands still between jumps
        self._send(session.step(target))
        self._commit()
        await asyncio.sleep(0)  # let P1 clients and the web app in

    async def _instant_step(self) -> None:
        """At speed max: to the next telegram instant (and its telegram) at once."""
        session = self.session
        target = self._clamp(session.next_telegram_at())
        ahead = target - session.clock.now()
        if ahead > timedelta(0):
            session.clock.jump(ahead)
        self._send(session.step(target, telegram=session.is_telegram_instant(target)))
        self._commit()
        await asyncio.sleep(0)

    async def _telegram_step(self, speed: float) -> None:
        session = self.session
        target = self._clamp(session.next_telegram_at())
        if not await self._wait_until(target, speed):
            return  # woken: the speed or the clock changed, look again
        interval = session.port.interval
        max_lag = max(2 * interval, timedelta(seconds=speed * LAG_REAL_S))
        now = session.clock.now()
        if now - target > max_lag:
            latest = self._clamp(session.port.next_telegram_at(now) - interval)
            self.stats.skipped += max(0, int((latest - target) / interval))
            target = latest
        self._send(session.step(target, telegram=session.is_telegram_instant(target)))
        self._commit()

    async def _wait_until(self, moment: datetime, speed: float) -> bool:
        """Wait until the clock reaches ``moment`` (True), or until something changes (False)."""
        self._wake.clear()
        while (ahead := (moment - self.session.clock.now()).total_seconds()) > 0:
            try:
                await asyncio.wait_for(self._wake.wait(), ahead / speed)
            except TimeoutError:
                continue
            return False
        await asyncio.sleep(0)
        return not self._wake.is_set()

    def _clamp(self, moment: datetime) -> datetime:
        return moment if self.until is None else min(moment, self.until)

    def _send(self, telegrams: list[bytes]) -> None:
        if self._on_telegrams is not None and telegrams:
            self._on_telegrams(telegrams)
        if self.server is None:
            return
        for data in telegrams:
            self.server.broadcast(data)
            self.stats.telegrams += 1

    # -- committing ------------------------------------------------------------------------------------

    def _commit(self) -> None:
        commits = self.session.take_commits()
        for i, commit in enumerate(commits):
            last = i == len(commits) - 1
            due = self._monotonic() - self._last_snapshot >= self.snapshot_interval_s
            snapshot = self._snapshot() if last and due and self.session.at_checkpoint() else None
            self._store(commit, snapshot)
        if commits and self._progress is not None:
            self._progress.update(self.session.now)

    def _snapshot(self) -> bytes:
        self._last_snapshot = self._monotonic()
        self.stats.snapshots += 1
        return dump_state(self.session.world)

    def _close(self) -> None:
        """A clean stop: everything open, and a snapshot at this instant."""
        commits = self.session.take_all()
        for i, commit in enumerate(commits):
            self._store(commit, self._snapshot() if i == len(commits) - 1 else None)
        self._end_catch_up()

    def _store(self, commit: Commit, snapshot: bytes | None) -> None:
        self.store.commit(commit, snapshot)
        hours = commit.all_hours
        self.stats.hours += len(hours)
        if self._on_hours is not None and hours:
            self._on_hours(hours)

    # -- progress ----------------------------------------------------------------------------------------

    def _start_progress(self) -> None:
        session, until = self.session, self.until
        if self._progress_stream is None or until is None or session.speed is not None:
            return
        if until - session.now >= PROGRESS_MIN:
            self._progress = Progress(session.now, until, self._progress_stream, self._monotonic)

    def _end_catch_up(self) -> None:
        if self._progress is not None:
            self._progress.update(self.session.now)
            self._progress.finish()
            self._progress = None
