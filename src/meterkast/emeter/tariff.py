"""Which tariff register counts: the Dutch day/night rule as an activity calendar [P3-4.2.2 §5.4].

Tariff 1 is "low" (dal) and tariff 2 "normal" (P3 §6.2: "Rate 1 = Low tariff", "Rate 2 = normal/high
tariff"); P1 shows the active one as 0-0:96.14.0 ``0001``/``0002`` [P1-4.2.2 Table 5-3]. The grid
operator programs the calendar; the common Dutch programme, modelled here, is low on weekdays 23:00–07:00
local time and all weekend. Public holidays (the special days table, 0-0:11.0.0) are not modelled.

Rules: the day profiles are a table of switch points (like ``day_profile_table`` of class 20); every
switch point lies on a quarter hour, so an E-meter that slices time at its 15-minute capture instants
never integrates across a tariff switch (tested).
"""

from __future__ import annotations

from datetime import datetime, time
from enum import Enum, IntEnum


class Tariff(IntEnum):
    LOW = 1
    NORMAL = 2


class DayType(Enum):
    WEEKDAY = "weekday"
    SATURDAY = "saturday"
    SUNDAY = "sunday"


DAY_PROFILES: dict[DayType, tuple[tuple[time, Tariff], ...]] = {
    DayType.WEEKDAY: ((time(0, 0), Tariff.LOW), (time(7, 0), Tariff.NORMAL), (time(23, 0), Tariff.LOW)),
    DayType.SATURDAY: ((time(0, 0), Tariff.LOW),),
    DayType.SUNDAY: ((time(0, 0), Tariff.LOW),),
}
_WEEKDAY_TYPES = {5: DayType.SATURDAY, 6: DayType.SUNDAY}


def day_type(local: datetime) -> DayType:
    return _WEEKDAY_TYPES.get(local.weekday(), DayType.WEEKDAY)


def tariff_at(local: datetime) -> Tariff:
    """The active tariff at local wall time ``local`` (the E-meter's own clock)."""
    wall = local.time()
    active = Tariff.NORMAL
    for start, tariff in DAY_PROFILES[day_type(local)]:
        if wall >= start:
            active = tariff
    return active
