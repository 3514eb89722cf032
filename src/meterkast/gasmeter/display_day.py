"""What "a day" means for the display's press budget and lockout (SYSTEM G7; seed §9 "Display").

The manual: "Als er te vaak op de knop gedrukt wordt om het display te activeren, zal het display gedurende
een dag uit blijven" (pressed too often, the display stays off *for a day*). Read as a Dutch user lives it:
- the press budget counts presses per calendar day in Dutch local time (Europe/Amsterdam) and starts
  afresh at local midnight, not at UTC midnight (01:00 or 02:00 on the wall clock);
- a lockout lasts one local day: it ends tomorrow at the same wall-clock time as the press that caused
  it. Pressing at 23:41 keeps the display dark until 23:41 the next evening, not for the 19 minutes until
  midnight. Across a DST change the day is 23 or 25 hours long, as the wall clock says.

Both functions are pure: they take and return aware UTC instants. The time zone rules come from the
IANA database (``zoneinfo``, backed by the ``tzdata`` package where the system has none).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from meterkast.timeutil import require_utc

ZONE = ZoneInfo("Europe/Amsterdam")
_ONE_DAY = timedelta(days=1)


def local_date_start(moment: datetime) -> datetime:
    """Local midnight (00:00 Europe/Amsterdam) that starts the calendar day of ``moment``, in UTC."""
    local = require_utc(moment).astimezone(ZONE)
    return datetime.combine(local.date(), time(0), tzinfo=ZONE).astimezone(UTC)


def next_local_midnight(moment: datetime) -> datetime:
    """The first 00:00 Europe/Amsterdam strictly after ``moment``, in UTC (23:00 or 22:00 UTC)."""
    local = require_utc(moment).astimezone(ZONE)
    # Dutch DST changes at 02:00/03:00, so local midnight always exists and is never ambiguous.
    return datetime.combine(local.date() + _ONE_DAY, time(0), tzinfo=ZONE).astimezone(UTC)


def is_local_midnight(moment: datetime) -> bool:
    return local_date_start(moment) == require_utc(moment)


def lockout_end(locked_at: datetime) -> datetime:
    """One local day after ``locked_at``: the same wall-clock time tomorrow, in UTC.

    A wall-clock time that does not exist tomorrow (02:30 on the spring-forward Sunday) resolves with the
    offset before the change, i.e. to 03:30 CEST; one that exists twice (02:30 on the autumn Sunday)
    resolves to its first occurrence (fold 0). Either way the end lies 23 to 25 hours after the press.
    """
    local = require_utc(locked_at, "lock time").astimezone(ZONE)
    wall = local.replace(tzinfo=None) + _ONE_DAY
    return wall.replace(tzinfo=ZONE, fold=0).astimezone(UTC)
