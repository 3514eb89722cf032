"""The E-meter's own clock: local time Europe/Amsterdam and the instants it acts on (DSMR-M 4.3.43).

The model keeps two times apart:
- ``at``: the true instant (UTC) the shell passes in as ``now``; energy flows in true time;
- ``meter``: the E-meter's clock (UTC), ``at`` plus the offset that clock adjustments leave behind.
  Capture instants, tariffs and log clocks follow the meter's clock, shown in local time.

The local zone is Europe/Amsterdam (the P3 clock: time_zone −60, DST last Sunday of March 02:00 to last
Sunday of October 03:00, deviation 60 [P3-4.2.2 §5.3]). Because its offsets are whole hours, every
quarter hour of UTC is a quarter hour of local time, so boundaries are computed in UTC.

Capture instants in each hour (meter clock): xx:00, xx:15, xx:30, xx:45 (E 15-minute profile; xx:00
also daily/monthly E values) and xx:11 (M-Bus values into the profiles, DSMR-M 4.5.6).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Amsterdam")
QUARTER = timedelta(minutes=15)
CAPTURE_OFFSET = timedelta(minutes=11)  # DSMR-M 4.5.6
_OFFSETS = (CAPTURE_OFFSET, QUARTER, 2 * QUARTER, 3 * QUARTER, 4 * QUARTER)


@dataclass(frozen=True, slots=True)
class Instant:
    at: datetime  # true time, UTC
    meter: datetime  # the E-meter's clock, UTC

    @property
    def local(self) -> datetime:
        return self.meter.astimezone(ZONE)


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(ZONE)


def hour_start(meter: datetime) -> datetime:
    return meter.replace(minute=0, second=0, microsecond=0)


def next_boundary(meter: datetime) -> datetime:
    """The first capture instant (xx:00, :11, :15, :30, :45) strictly after ``meter``."""
    base = hour_start(meter)
    for offset in _OFFSETS:
        candidate = base + offset
        if candidate > meter:
            return candidate
    raise AssertionError("unreachable: xx+1:00 is always after meter")  # pragma: no cover


def boundaries(after: datetime, until: datetime) -> list[datetime]:
    """Every capture instant in (after, until]."""
    out: list[datetime] = []
    moment = next_boundary(after)
    while moment <= until:
        out.append(moment)
        moment = next_boundary(moment)
    return out


def dst_changed(meter: datetime) -> bool:
    """Whether the local UTC offset changes exactly at ``meter`` (a whole hour)."""
    before = (meter - timedelta(microseconds=1)).astimezone(ZONE).utcoffset()
    return before != meter.astimezone(ZONE).utcoffset()


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
