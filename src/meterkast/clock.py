"""Clocks live at the edge of the system (STYLE 2); the sans-I/O core only ever receives ``now``.

Rules this module keeps:
- every datetime it hands out is timezone-aware UTC;
- no clock ever goes backwards: ``jump`` and ``advance_to`` refuse negative steps with ``ClockError``;
- ``SimClock`` runs at ``speed`` times real time (0 = only moves when told, like trio's MockClock with
  rate 0), reading elapsed real time from an injected monotonic source so tests need no sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from meterkast.errors import ClockError
from meterkast.timeutil import require_utc


class Clock(Protocol):
    """What the shell asks of a clock: the current instant, UTC."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._wall(), UTC)


class SimClock:
    """Simulated time: starts at ``start``, runs at ``speed`` × real time, and can be jumped forward."""

    def __init__(
        self,
        start: datetime,
        speed: float = 0.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed < 0:
            raise ClockError(f"speed {speed} is negative; a simulated clock never runs backwards")
        self._monotonic = monotonic
        self._base = require_utc(start, "start")
        self._real_base = monotonic()
        self._speed = speed

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value < 0:
            raise ClockError(f"speed {value} is negative; a simulated clock never runs backwards")
        self._rebase()
        self._speed = value

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._real_base) * self._speed
        return self._base + timedelta(seconds=elapsed)

    def jump(self, delta: timedelta) -> datetime:
        """Move simulated time forward by ``delta``; return the new now."""
        if delta < timedelta(0):
            raise ClockError(f"jump of {delta} goes backwards; simulated time only moves forward")
        self._rebase()
        self._base += delta
        return self._base

    def advance_to(self, moment: datetime) -> datetime:
        """Move simulated time forward to ``moment`` (not before now)."""
        moment = require_utc(moment, "target")
        current = self.now()
        if moment < current:
            raise ClockError(
                f"cannot move to {moment.isoformat()}: it is before now ({current.isoformat()})"
            )
        return self.jump(moment - current)

    def _rebase(self) -> None:
        self._base = self.now()
        self._real_base = self._monotonic()
