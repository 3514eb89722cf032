"""Power failures: counters, the long-failure threshold and the power failure event log [P3-4.2.2 §5.9].

DSMR-M 4.5.39–4.5.41: the meter counts short outages (0-0:96.7.21, "number of power failures in any
phase", dsmr_parser calls it the short power failure count) and long ones (0-0:96.7.9), and keeps the 10
most recent long outages in 1-0:99.97.0 as (end of the failure, duration in seconds).

Rules this module keeps:
- a failure is long when it lasts at least the threshold 0-0:96.7.20 (180 s): the Main document calls
  short "< T" and long "> T"; exactly T is counted long here (the standard is silent on equality);
- each failure is counted exactly once, in one of the two counters (DSMR-M 4.5.42: any phase counts as
  one outage of a single-phase meter);
- the log is a FIFO of 10 entries, oldest first; P1 lists them most recent first ([P1-4.2.2 §5.13]).
- the clock runs on its power reserve during an outage; an outage longer than ``CLOCK_RESERVE`` (5 days,
  DSMR-M: "during a power outage of 5 days the clock time and date will remain within specifications")
  leaves the clock invalid.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from meterkast.errors import InvalidInput

LONG_FAILURE_THRESHOLD_S = 180
LOG_SIZE = 10
CLOCK_RESERVE = timedelta(days=5)
COUNTER_MAX = 0xFFFF  # long-unsigned [P3-4.2.2 §5.9]


@dataclass(frozen=True, slots=True)
class PowerFailureRecord:
    end: datetime  # local E-meter time at power up
    duration_s: int


@dataclass(frozen=True, slots=True)
class Outage:
    duration_s: int
    long: bool
    clock_lost: bool


class PowerFailures:
    def __init__(self, threshold_s: int = LONG_FAILURE_THRESHOLD_S) -> None:
        self.threshold_s = threshold_s
        self.short_count = 0
        self.long_count = 0
        self._log: deque[PowerFailureRecord] = deque(maxlen=LOG_SIZE)
        self.down_since: datetime | None = None

    @property
    def powered(self) -> bool:
        return self.down_since is None

    @property
    def log(self) -> tuple[PowerFailureRecord, ...]:
        """Oldest first, as the profile buffer keeps them."""
        return tuple(self._log)

    def fail(self, at: datetime) -> None:
        self.down_since = at

    def restore(self, at: datetime, end_local: datetime) -> Outage:
        if self.down_since is None:
            raise InvalidInput("power cannot be restored: the meter was not powered down")
        elapsed = at - self.down_since
        self.down_since = None
        duration_s = int(elapsed.total_seconds())
        long = duration_s >= self.threshold_s
        if long:
            self.long_count = (self.long_count + 1) & COUNTER_MAX
            self._log.append(PowerFailureRecord(end_local, duration_s))
        else:
            self.short_count = (self.short_count + 1) & COUNTER_MAX
        return Outage(duration_s, long, elapsed > CLOCK_RESERVE)
