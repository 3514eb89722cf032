"""Load profiles as DSMR keeps them: fixed-capacity FIFO buffers of entries [P3-4.2.2 §5.5, §6.3, §7.4].

Rules this module keeps:
- capacity is fixed per profile: M-Bus hourly 240 (10 days, DSMR-M 4.5.25), daily 40 (DSMR-M 4.5.6),
  monthly 13 (DSMR-M 4.5.8), E 15-minute 960 (10 days, DSMR-M 4.5.22); the oldest entry falls out;
- "The buffer must be filled monotonously, i.e. no irregular entries" [P3-4.2.2 §6.3, §7.4]: ``append``
  refuses an entry whose clock is not strictly after the last one (compared in UTC, so the repeated
  autumn hour 02:00+02:00 / 02:00+01:00 is two distinct, ordered clocks);
- ``entries(from_, to)`` is selective access by range on the clock (inclusive); a closed range whose end
  lies before its start is a logical error (DSMR-M 4.5.10, 4.5.26); partly available data is returned
  without error (DSMR-M 4.5.23);
- entry clocks are local (Europe/Amsterdam, aware) and at the start of the capture instant: xx:00 for the
  hourly M-Bus value filed at xx:11, 00:00 for the daily and monthly values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Generic, Protocol, TypeVar

from meterkast.emeter import obis
from meterkast.emeter.amr import AmrStatus
from meterkast.errors import ClockError, InvalidInput


class Clocked(Protocol):
    @property
    def clock(self) -> datetime: ...


E = TypeVar("E", bound=Clocked)


class PeriodType(Enum):
    """The central system's names for the three gas profiles (OSGP vocabulary)."""

    INTERVAL = "interval"
    DAILY = "daily"
    MONTHLY = "monthly"


@dataclass(frozen=True, slots=True)
class ChannelValue:
    """One M-Bus master value as captured into a profile: 0-x:24.2.1 attributes 2 and 5."""

    value_m3: Decimal
    capture_time: datetime  # the device's capture time, converted to local time at reception


@dataclass(frozen=True, slots=True)
class HourlyEntry:
    """0-x:24.3.0: clock; AMR status 0-x:96.10.3; 0-x:24.2.1 value; 0-x:24.2.1 capture time."""

    clock: datetime
    status: AmrStatus
    value_m3: Decimal
    capture_time: datetime


@dataclass(frozen=True, slots=True)
class BillingEntry:
    """1-0:99.2.0 and 0-0:98.1.0: clock; status; +A T1, T2; −A T1, T2; four M-Bus values.

    0-0:98.1.0 has no status capture object in P3 [P3-4.2.2 §5.5]; the model keeps one anyway (the
    combined status, footnote 7 of §6.3) and a P3 server leaves it out.
    """

    clock: datetime
    status: AmrStatus
    import_kwh: tuple[Decimal, Decimal]
    export_kwh: tuple[Decimal, Decimal]
    mbus: tuple[ChannelValue | None, ChannelValue | None, ChannelValue | None, ChannelValue | None]

    def channel(self, channel: int) -> ChannelValue | None:
        return self.mbus[obis.check_channel(channel) - 1]


@dataclass(frozen=True, slots=True)
class LoadEntry:
    """1-0:99.1.0: clock; AMR status 0-0:96.10.2; +A 1-0:1.8.0; −A 1-0:2.8.0."""

    clock: datetime
    status: AmrStatus
    import_kwh: Decimal
    export_kwh: Decimal


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    obis: str
    capture_period_s: int  # 0 = triggered by a schedule (monthly)
    capacity: int
    capture_objects: tuple[str, ...]


_MBUS_PAIRS = tuple(
    f"{obis.channel_obis(obis.MBUS_MASTER_VALUE, x)}/{attr}" for x in obis.CHANNELS for attr in (2, 5)
)
_E_BILLING = (obis.IMPORT_T1, obis.IMPORT_T2, obis.EXPORT_T1, obis.EXPORT_T2)
LOAD_SPEC = ProfileSpec(
    obis.LOAD_PROFILE_E, 900, 960, (obis.CLOCK, obis.AMR_STATUS_E, obis.IMPORT_TOTAL, obis.EXPORT_TOTAL)
)
DAILY_SPEC = ProfileSpec(obis.DAILY_PROFILE, 86_400, 40, (obis.CLOCK, obis.AMR_STATUS_E, *_E_BILLING, *_MBUS_PAIRS))
MONTHLY_SPEC = ProfileSpec(obis.MONTHLY_PROFILE, 0, 13, (obis.CLOCK, *_E_BILLING, *_MBUS_PAIRS))


def hourly_spec(channel: int) -> ProfileSpec:
    value = obis.channel_obis(obis.MBUS_MASTER_VALUE, channel)
    return ProfileSpec(
        obis.channel_obis(obis.MBUS_HOURLY_PROFILE, channel),
        3600,
        240,
        (obis.CLOCK, obis.channel_obis(obis.AMR_STATUS_MBUS, channel), f"{value}/2", f"{value}/5"),
    )


def _utc(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ClockError(f"{what} {moment.isoformat()} has no time zone; selective access needs aware times")
    return moment.astimezone(UTC)


class Profile(Generic[E]):
    """A profile-generic object (class 7): a FIFO ring buffer with a fixed capacity."""

    def __init__(self, spec: ProfileSpec) -> None:
        self.spec = spec
        self._buffer: deque[E] = deque(maxlen=spec.capacity)
        self._last_utc: datetime | None = None
        # Flags owed to the next entry filed (PDN after a power failure, CAD after a clock adjustment).
        self.pending = AmrStatus(0)

    @property
    def obis(self) -> str:
        return self.spec.obis

    @property
    def capacity(self) -> int:
        return self.spec.capacity

    @property
    def entries_in_use(self) -> int:
        return len(self._buffer)

    def __len__(self) -> int:
        return len(self._buffer)

    def __iter__(self) -> Iterator[E]:
        return iter(self._buffer)

    def __getitem__(self, index: int) -> E:
        return self._buffer[index]

    @property
    def last(self) -> E | None:
        return self._buffer[-1] if self._buffer else None

    def accepts(self, clock: datetime) -> bool:
        """Whether an entry at ``clock`` keeps the buffer monotonic."""
        return self._last_utc is None or _utc(clock, "entry clock") > self._last_utc

    def take_pending(self) -> AmrStatus:
        flags, self.pending = self.pending, AmrStatus(0)
        return flags

    def append(self, entry: E) -> bool:
        """File ``entry``; refuse (return False) an entry that would break monotonic filling."""
        if not self.accepts(entry.clock):
            return False
        self._buffer.append(entry)
        self._last_utc = _utc(entry.clock, "entry clock")
        return True

    def entries(self, from_: datetime | None = None, to: datetime | None = None) -> list[E]:
        """Selective access by range: entries with ``from_ <= clock <= to`` (either end may be open)."""
        low = _utc(from_, "range start") if from_ is not None else None
        high = _utc(to, "range end") if to is not None else None
        if low is not None and high is not None and high < low:
            raise InvalidInput(
                f"requested period ends ({to}) before it begins ({from_}); DSMR-M 4.5.26 makes this a "
                "logical error: swap the ends"
            )
        return [
            entry
            for entry in self._buffer
            if (low is None or entry.clock.astimezone(UTC) >= low)
            and (high is None or entry.clock.astimezone(UTC) <= high)
        ]
