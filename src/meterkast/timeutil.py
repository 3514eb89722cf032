"""Small, pure helpers for instants: UTC checks and whole-hour/day boundaries (sans-I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meterkast.errors import ClockError

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def require_utc(moment: datetime, what: str = "time") -> datetime:
    """Return ``moment`` in UTC; refuse naive datetimes, which would silently mean local time."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ClockError(f"{what} {moment.isoformat()} has no time zone; pass an aware datetime (UTC)")
    return moment.astimezone(UTC)


def next_whole_hour(moment: datetime) -> datetime:
    """The first xx:00:00 strictly after ``moment``."""
    return moment.replace(minute=0, second=0, microsecond=0) + HOUR


def next_midnight(moment: datetime) -> datetime:
    """The first 00:00:00 strictly after ``moment``, in ``moment``'s own zone."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0) + DAY


def microseconds_between(start: datetime, end: datetime) -> int:
    """Whole microseconds between two instants, as an exact integer count of microseconds."""
    delta = end - start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
