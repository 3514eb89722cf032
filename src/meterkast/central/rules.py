"""The central system's rules as tables and pure functions (sans-I/O): consent, period grids, P4, alarms.

Consent (SYSTEM C2, DSMR-FACTS §5). The customer's choice decides which gas profile the CS may read
over P3 and store (SYSTEM E3: "over P3 according to the customer's consent"):
- NONE, "administratief uit" (COSEM 0-1:94.31.0 = 1): no consumption readings at all;
- STANDARD (0-1:94.31.0 = 2, the default): periodic readings, "every two months, some operators monthly"
  (Stedin: "twaalf keer per jaar"), plus the readings for the annual bill, a move or a supplier switch.
  The CS takes these from the MONTHLY profile, so STANDARD allows MONTHLY only;
- DETAILED, explicit consent: "more than 6 readings a year, daily readings, … hourly gas values"
  (SYSTEM C2; Vattenfall's consent text: "dagelijks en per kwartier uitlezen"): DAILY and INTERVAL.
So DAILY needs DETAILED: SYSTEM C2 lists daily readings under explicit consent. (The issue text said
"standard → daily and monthly"; C2 is the stricter reading and wins; ``REQUIRED_CONSENT`` is the one
place to change.) Alarms and events are not consumption data (C2, last sentence) and need no consent.

Grids. Profile clocks sit at the start of each capture instant in local time, Europe/Amsterdam:
xx:00 for INTERVAL, 00:00 for DAILY, the first of the month 00:00 for MONTHLY (DSMR-FACTS §3.1, §3.2).
Local offsets are whole hours, so the hourly grid is the UTC hourly grid.

P4 history depth (SYSTEM C3, EDSN P4): the last 10 days of hourly values, 40 days of daily values,
13 months of monthly values, the E-meter's own retention (DSMR-M 4.5.25, 4.5.6, 4.5.8).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from enum import Enum

from meterkast.central.model import AlarmKind, AuthScope, ConsentLevel, PeriodType
from meterkast.emeter.localtime import ZONE

REQUIRED_CONSENT: dict[PeriodType, ConsentLevel] = {
    PeriodType.MONTHLY: ConsentLevel.STANDARD,
    PeriodType.DAILY: ConsentLevel.DETAILED,
    PeriodType.INTERVAL: ConsentLevel.DETAILED,
}


ConsentHistory = Sequence[tuple[datetime, ConsentLevel]]  # (valid_from, level), oldest first


def consent_allows(level: ConsentLevel, period_type: PeriodType) -> bool:
    return level.rank >= REQUIRED_CONSENT[period_type].rank


def level_at(history: ConsentHistory, instant: datetime) -> ConsentLevel:
    """The level in force at ``instant``: NONE before the first record (nothing is assumed)."""
    level = ConsentLevel.NONE
    for valid_from, entry in history:
        if valid_from > instant:
            break
        level = entry
    return level


def consent_refusal(
    history: ConsentHistory, period_type: PeriodType, start: datetime, end: datetime
) -> tuple[datetime, ConsentLevel] | None:
    """The first instant in [start, end] whose consent does not allow ``period_type``, and its level."""
    checkpoints = [start, *(valid_from for valid_from, _ in history if start < valid_from <= end)]
    for instant in checkpoints:
        level = level_at(history, instant)
        if not consent_allows(level, period_type):
            return instant, level
    return None


# ---- period grids -----------------------------------------------------------------------------------


def on_grid(period_type: PeriodType, moment: datetime) -> bool:
    local = moment.astimezone(ZONE)
    if (local.minute, local.second, local.microsecond) != (0, 0, 0):
        return False
    if period_type is PeriodType.INTERVAL:
        return True
    return local.hour == 0 and (period_type is PeriodType.DAILY or local.day == 1)


def _local_midnight(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=ZONE).astimezone(UTC)


def _first_on_grid(period_type: PeriodType, moment: datetime) -> datetime:
    """The earliest grid instant at or after ``moment``."""
    if period_type is PeriodType.INTERVAL:
        floor = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return floor if floor == moment else floor + timedelta(hours=1)
    local = moment.astimezone(ZONE)
    if period_type is PeriodType.DAILY:
        candidate = _local_midnight(local.year, local.month, local.day)
        return candidate if candidate >= moment else _step(period_type, candidate)
    candidate = _local_midnight(local.year, local.month, 1)
    return candidate if candidate >= moment else _step(period_type, candidate)


def _step(period_type: PeriodType, instant: datetime) -> datetime:
    if period_type is PeriodType.INTERVAL:
        return instant + timedelta(hours=1)
    local = instant.astimezone(ZONE)
    if period_type is PeriodType.DAILY:
        day = local.date() + timedelta(days=1)
        return _local_midnight(day.year, day.month, day.day)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return _local_midnight(year, month, 1)


def grid(period_type: PeriodType, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every grid instant in [start, end], in UTC."""
    instant = _first_on_grid(period_type, start)
    while instant <= end:
        yield instant
        instant = _step(period_type, instant)


def months_before(moment: datetime, months: int) -> datetime:
    """``moment`` moved back ``months`` calendar months in local time (day clamped to the month's end)."""
    local = moment.astimezone(ZONE)
    year, month0 = divmod(local.year * 12 + local.month - 1 - months, 12)
    day = min(local.day, calendar.monthrange(year, month0 + 1)[1])
    return local.replace(year=year, month=month0 + 1, day=day).astimezone(UTC)


# ---- P4 ---------------------------------------------------------------------------------------------

HISTORY_DAYS = {AuthScope.HOURLY: 10, AuthScope.DAILY: 40}
HISTORY_MONTHS = {AuthScope.MONTHLY: 13}

# An authorisation for finer data covers the coarser data too: daily values follow from hourly ones.
COVERS: dict[AuthScope, frozenset[AuthScope]] = {
    AuthScope.HOURLY: frozenset(AuthScope),
    AuthScope.DAILY: frozenset({AuthScope.DAILY, AuthScope.MONTHLY}),
    AuthScope.MONTHLY: frozenset({AuthScope.MONTHLY}),
}


def history_start(scope: AuthScope, now: datetime) -> datetime:
    """The oldest instant a P4 party may ask for at ``now`` (SYSTEM C3)."""
    if scope in HISTORY_DAYS:
        return now - timedelta(days=HISTORY_DAYS[scope])
    return months_before(now, HISTORY_MONTHS[scope])


# ---- alarms: a state machine as data (STYLE 4) ---------------------------------------------------------


class AlarmState(Enum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


class AlarmInput(Enum):
    ACKNOWLEDGE = "acknowledge"
    CLOSE = "close"


class Outcome(Enum):
    IGNORE = "ignore"  # idempotent repeat: nothing changes
    REFUSE = "refuse"  # an error naming the alarm and its state


ALARM_TRANSITIONS: dict[tuple[AlarmState, AlarmInput], AlarmState | Outcome] = {
    (AlarmState.RAISED, AlarmInput.ACKNOWLEDGE): AlarmState.ACKNOWLEDGED,
    (AlarmState.RAISED, AlarmInput.CLOSE): AlarmState.CLOSED,
    (AlarmState.ACKNOWLEDGED, AlarmInput.ACKNOWLEDGE): Outcome.IGNORE,
    (AlarmState.ACKNOWLEDGED, AlarmInput.CLOSE): AlarmState.CLOSED,
    (AlarmState.CLOSED, AlarmInput.ACKNOWLEDGE): Outcome.REFUSE,
    (AlarmState.CLOSED, AlarmInput.CLOSE): Outcome.IGNORE,
}

# Alarm register 1 bit → (kind, channel) [OSGP AlarmTypeRegisterLookup], DSMR-FACTS §3.4.
ALARM_REGISTER_BITS: dict[int, tuple[AlarmKind, int]] = {
    0: (AlarmKind.CLOCK_INVALID, 0),
    1: (AlarmKind.REPLACE_BATTERY, 0),
    2: (AlarmKind.POWER_UP, 0),
    8: (AlarmKind.PROGRAM_MEMORY_ERROR, 0),
    9: (AlarmKind.RAM_ERROR, 0),
    10: (AlarmKind.NV_MEMORY_ERROR, 0),
    11: (AlarmKind.MEASUREMENT_SYSTEM_ERROR, 0),
    12: (AlarmKind.WATCHDOG_ERROR, 0),
    13: (AlarmKind.FRAUD_ATTEMPT, 0),
    **{15 + x: (AlarmKind.MBUS_COMMUNICATION_ERROR, x) for x in range(1, 5)},
    **{19 + x: (AlarmKind.MBUS_FRAUD_ATTEMPT, x) for x in range(1, 5)},
    **{23 + x: (AlarmKind.NEW_MBUS_DEVICE, x) for x in range(1, 5)},
}


def alarms_in_register(register: int) -> list[tuple[AlarmKind, int]]:
    """The (kind, channel) pairs set in an alarm register value; unknown bits are ignored."""
    return [ALARM_REGISTER_BITS[bit] for bit in sorted(ALARM_REGISTER_BITS) if register >> bit & 1]
