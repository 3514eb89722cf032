"""What the central system reads, and when (issue 6; SYSTEM C1, C2, E1, E2, E3; DSMR-FACTS §3.1, §5): sans-I/O.

What. Consent decides which gas profiles of a connection may be read over P3 (``periods_allowed``, from
``central.rules.REQUIRED_CONSENT``: NONE nothing, STANDARD monthly, DETAILED monthly, daily and hourly).
Within that, the store decides: an entry is read when ``Store.missing_periods`` lists it, i.e. a gas meter
hung on the channel, consent allowed it at its instant and at ``now``, and nothing is stored for it yet.
So a read after an outage is the same read as any other: the gaps (``plan_meter``). Each gap run becomes
one selective-access read of exactly its instants (``ProfileRead``); nothing outside them is fetched, so
data from a time without consent never leaves the meter.

When. Entries are filed at xx:11 (SYSTEM E1) and read from ``AVAILABLE_AFTER`` (15 minutes) after their
clock; the meter keeps 10 days hourly, 40 days daily and 13 months monthly (DSMR-FACTS §3.1), so the CS
looks no further back (``read_window``). Rounds start at ``round_offset`` past every ``round_interval``
(xx:15 each hour by default; local offsets are whole hours, so this is xx:15 local too). A round makes
every meter due; ``Scheduler.take_due`` hands out at most ``max_concurrent`` reads at a time
(throttling); a failed contact is retried after an exponential backoff (60 s, 120 s, … at most an hour);
``loss_after`` failures in a row is a communication loss (an alarm, raised by the service), and the next
success restores it.

Rules this module keeps: time is an argument (every call takes ``now``; the scheduler says when it next
needs to run, ``next_deadline``); no clock, no randomness, no I/O; the per-meter link state machine is a
total table (``TRANSITIONS``); the scheduler makes no callbacks, it returns past-tense events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from meterkast.central import rules
from meterkast.central.model import Connection, ConsentLevel, Gap, PeriodType
from meterkast.errors import CommandRefused, InvalidInput
from meterkast.timeutil import require_utc

AVAILABLE_AFTER = timedelta(minutes=15)  # filed at xx:11 (SYSTEM E1), with 4 minutes to spare
RETENTION_DAYS = {PeriodType.INTERVAL: 10, PeriodType.DAILY: 40}  # DSMR-M 4.5.25, 4.5.6
RETENTION_MONTHS = {PeriodType.MONTHLY: 13}  # DSMR-M 4.5.8
PERIOD_ORDER = (PeriodType.MONTHLY, PeriodType.DAILY, PeriodType.INTERVAL)

# The profile each period type is read from [P3-4.2.2 §7.4, §6.3, §5.5] (DSMR-FACTS §3.2).
PROFILE_OBIS: dict[PeriodType, str] = {
    PeriodType.INTERVAL: "0-{x}:24.3.0.255",
    PeriodType.DAILY: "1-0:99.2.0.255",
    PeriodType.MONTHLY: "0-0:98.1.0.255",
}


def periods_allowed(level: ConsentLevel) -> tuple[PeriodType, ...]:
    """The gas profiles ``level`` lets the CS read (SYSTEM C2, E3), coarsest first."""
    return tuple(p for p in PERIOD_ORDER if rules.consent_allows(level, p))


def periods_refused(level: ConsentLevel) -> tuple[PeriodType, ...]:
    return tuple(p for p in PERIOD_ORDER if not rules.consent_allows(level, p))


def retention_start(period_type: PeriodType, now: datetime) -> datetime:
    """The oldest instant the E-meter still keeps for ``period_type`` at ``now`` (DSMR-FACTS §3.1)."""
    if period_type in RETENTION_DAYS:
        return now - timedelta(days=RETENTION_DAYS[period_type])
    return rules.months_before(now, RETENTION_MONTHS[period_type])


def read_window(period_type: PeriodType, now: datetime, since: datetime) -> tuple[datetime, datetime] | None:
    """[from, to] of the entries worth asking for at ``now``: kept by the meter, filed, not before ``since``."""
    start = max(retention_start(period_type, now), since)
    end = now - AVAILABLE_AFTER
    return None if end < start else (start, end)


# ---- plans ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileRead:
    """One selective-access read: the entries of a gap run, ``first`` … ``last`` on the period's grid."""

    period_type: PeriodType
    channel: int
    gas_meter: str
    first: datetime
    last: datetime
    count: int

    @property
    def logical_name(self) -> str:
        return PROFILE_OBIS[self.period_type].format(x=self.channel)

    def instants(self) -> list[datetime]:
        return list(rules.grid(self.period_type, self.first, self.last))


@dataclass(frozen=True, slots=True)
class Refusal:
    """A profile the CS did not read from a connection because consent did not allow it (SYSTEM C2)."""

    connection: Connection
    emeter: str
    period_type: PeriodType
    level: ConsentLevel
    required: ConsentLevel
    at: datetime


@dataclass(frozen=True, slots=True)
class MeterPlan:
    """What one contact with an E-meter reads: its profiles' gaps, and events after ``events_after``."""

    emeter: str
    connection: Connection
    level: ConsentLevel
    now: datetime
    reads: tuple[ProfileRead, ...]
    refused: tuple[Refusal, ...]
    events_after: datetime

    @property
    def expected(self) -> int:
        return sum(read.count for read in self.reads)


def plan_meter(
    emeter: str,
    connection: Connection,
    level: ConsentLevel,
    gaps: Mapping[PeriodType, Sequence[Gap]],
    *,
    now: datetime,
    events_after: datetime,
) -> MeterPlan:
    """The plan for a contact at ``now``: one read per gap run of an allowed period, refusals for the rest.

    ``gaps`` are ``Store.missing_periods`` over ``read_window`` for each allowed period type; gaps of a
    period type that ``level`` does not allow are a caller's mistake and refused loudly.
    """
    now = require_utc(now, "plan time")
    reads: list[ProfileRead] = []
    for period_type, found in gaps.items():
        if not rules.consent_allows(level, period_type):
            raise InvalidInput(
                f"gaps for {period_type.value} readings of {connection} were given, but consent is {level.value}; "
                "ask missing_periods with now= so that it answers nothing (SYSTEM C2)"
            )
        reads += [ProfileRead(period_type, g.channel, g.gas_meter, g.first, g.last, g.count) for g in found]
    reads.sort(key=lambda r: (PERIOD_ORDER.index(r.period_type), r.channel, r.first))
    refused = tuple(
        Refusal(connection, emeter, p, level, rules.REQUIRED_CONSENT[p], now) for p in periods_refused(level)
    )
    return MeterPlan(emeter, connection, level, now, tuple(reads), refused, events_after)


# ---- the link to one meter: a state machine as data (STYLE 4) -----------------------------------------------


class LinkState(Enum):
    WAITING = "waiting"  # read this round (or never yet due); waits for the next round
    DUE = "due"  # to be read as soon as a slot is free
    READING = "reading"
    READING_DUE = "reading, due again"  # a round began while reading: read again when done
    BACKOFF = "backoff"  # the last contact failed; retried at ``retry_at``


class LinkInput(Enum):
    ROUND = "round"  # a schedule round began
    START = "start"  # a throttling slot took it
    SUCCESS = "success"
    FAILURE = "failure"
    RETRY_DUE = "retry due"  # the backoff has passed


class Misuse(Enum):
    IGNORE = "ignore"  # nothing changes (a round for a meter that is due already)
    REFUSE = "refuse"  # a caller's mistake: CommandRefused naming state and input


L, LI = LinkState, LinkInput
TRANSITIONS: dict[tuple[LinkState, LinkInput], LinkState | Misuse] = {
    (L.WAITING, LI.ROUND): L.DUE,
    (L.WAITING, LI.START): Misuse.REFUSE,
    (L.WAITING, LI.SUCCESS): Misuse.REFUSE,
    (L.WAITING, LI.FAILURE): Misuse.REFUSE,
    (L.WAITING, LI.RETRY_DUE): Misuse.IGNORE,
    (L.DUE, LI.ROUND): Misuse.IGNORE,
    (L.DUE, LI.START): L.READING,
    (L.DUE, LI.SUCCESS): Misuse.REFUSE,
    (L.DUE, LI.FAILURE): Misuse.REFUSE,
    (L.DUE, LI.RETRY_DUE): Misuse.IGNORE,
    (L.READING, LI.ROUND): L.READING_DUE,
    (L.READING, LI.START): Misuse.REFUSE,
    (L.READING, LI.SUCCESS): L.WAITING,
    (L.READING, LI.FAILURE): L.BACKOFF,
    (L.READING, LI.RETRY_DUE): Misuse.IGNORE,
    (L.READING_DUE, LI.ROUND): Misuse.IGNORE,
    (L.READING_DUE, LI.START): Misuse.REFUSE,
    (L.READING_DUE, LI.SUCCESS): L.DUE,
    (L.READING_DUE, LI.FAILURE): L.BACKOFF,
    (L.READING_DUE, LI.RETRY_DUE): Misuse.IGNORE,
    # A meter in backoff waits for its retry even when a round begins: the backoff is what spares it.
    (L.BACKOFF, LI.ROUND): Misuse.IGNORE,
    (L.BACKOFF, LI.START): Misuse.REFUSE,
    (L.BACKOFF, LI.SUCCESS): Misuse.REFUSE,
    (L.BACKOFF, LI.FAILURE): Misuse.REFUSE,
    (L.BACKOFF, LI.RETRY_DUE): L.DUE,
}
BUSY = frozenset({L.READING, L.READING_DUE})


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    round_interval: timedelta = timedelta(hours=1)
    round_offset: timedelta = timedelta(minutes=15)  # after the xx:11 filing (SYSTEM E1)
    max_concurrent: int = 32  # throttling: reads in flight at once
    backoff_base: timedelta = timedelta(seconds=60)
    backoff_cap: timedelta = timedelta(hours=1)
    loss_after: int = 3  # failures in a row that make a communication loss

    def __post_init__(self) -> None:
        if self.round_interval <= timedelta(0) or not timedelta(0) <= self.round_offset < self.round_interval:
            raise InvalidInput(
                f"round offset {self.round_offset} must lie in [0, round interval {self.round_interval})")
        if self.max_concurrent < 1:
            raise InvalidInput(f"max_concurrent {self.max_concurrent} must be at least 1")
        if self.backoff_base <= timedelta(0) or self.backoff_cap < self.backoff_base:
            raise InvalidInput(
                f"backoff base {self.backoff_base} must be positive and at most the cap {self.backoff_cap}")
        if self.loss_after < 1:
            raise InvalidInput(f"loss_after {self.loss_after} must be at least 1")

    def backoff(self, failures: int) -> timedelta:
        """The wait after ``failures`` failures in a row: base × 2^(failures − 1), at most the cap."""
        if failures < 1:
            raise InvalidInput(f"backoff after {failures} failures: there must be at least one")
        factor: int = 2 ** min(failures - 1, 30)
        return min(self.backoff_base * factor, self.backoff_cap)

    def next_round(self, after: datetime) -> datetime:
        """The first round instant strictly after ``after`` (rounds sit on a grid from the Unix epoch)."""
        epoch = datetime(1970, 1, 1, tzinfo=after.tzinfo) + self.round_offset
        done = (after - epoch) // self.round_interval
        return epoch + (done + 1) * self.round_interval


@dataclass(slots=True)
class MeterLink:
    emeter: str
    state: LinkState = LinkState.DUE  # a meter just enrolled is read at the next step
    due_since: datetime | None = None
    failures: int = 0  # in a row
    retry_at: datetime | None = None
    last_success: datetime | None = None
    last_failure: datetime | None = None
    last_error: str | None = None
    contacts: int = 0


# ---- events (past tense, STYLE 8) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundStarted:
    at: datetime
    meters: int


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    emeter: str
    at: datetime
    failures: int


@dataclass(frozen=True, slots=True)
class CommunicationLost:
    emeter: str
    at: datetime
    failures: int


@dataclass(frozen=True, slots=True)
class CommunicationRestored:
    emeter: str
    at: datetime
    failures: int


ScheduleEvent = RoundStarted | RetryScheduled | CommunicationLost | CommunicationRestored


@dataclass(slots=True)
class Scheduler:
    """Which meters to contact now, throttled, with backoff: time comes in, meter ids and events go out."""

    settings: ScheduleSettings
    start: datetime
    links: dict[str, MeterLink] = field(default_factory=dict)
    next_round_at: datetime = field(init=False)
    rounds: int = 0

    def __post_init__(self) -> None:
        self.start = require_utc(self.start, "scheduler start")
        self.next_round_at = self.settings.next_round(self.start)

    def add(self, emeter: str, now: datetime) -> MeterLink:
        """Schedule a meter (again: a no-op); it is due at once."""
        if emeter not in self.links:
            self.links[emeter] = MeterLink(emeter, due_since=require_utc(now, "enrolment time"))
        return self.links[emeter]

    def _move(self, link: MeterLink, given: LinkInput) -> bool:
        target = TRANSITIONS[link.state, given]
        if target is Misuse.REFUSE:
            raise CommandRefused(f"meter {link.emeter}: '{given.value}' is not possible while '{link.state.value}'")
        if target is Misuse.IGNORE:
            return False
        link.state = target
        return True

    @property
    def busy(self) -> int:
        return sum(1 for link in self.links.values() if link.state in BUSY)

    def advance(self, now: datetime) -> list[ScheduleEvent]:
        """Start the round that is due (rounds missed while away are one round: the gaps say what is owed)
        and end the backoffs that have passed."""
        now = require_utc(now, "now")
        events: list[ScheduleEvent] = []
        if now >= self.next_round_at:
            self.rounds += 1
            for link in self.links.values():
                if self._move(link, LinkInput.ROUND) and link.state is LinkState.DUE:
                    link.due_since = now
            events.append(RoundStarted(now, len(self.links)))
            self.next_round_at = self.settings.next_round(now)
        for link in self.links.values():
            if link.state is LinkState.BACKOFF and link.retry_at is not None and link.retry_at <= now:
                self._move(link, LinkInput.RETRY_DUE)
                link.due_since, link.retry_at = now, None
        return events

    def take_due(self, now: datetime, limit: int | None = None) -> list[str]:
        """The meters to contact now, oldest due first, as many as free slots (and ``limit``) allow; they
        are reading from now on."""
        free = self.settings.max_concurrent - self.busy
        if limit is not None:
            free = min(free, limit)
        due = sorted(
            (link for link in self.links.values() if link.state is LinkState.DUE),
            key=lambda link: (link.due_since or self.start, link.emeter),
        )[: max(free, 0)]
        for link in due:
            self._move(link, LinkInput.START)
            link.contacts += 1
        return [link.emeter for link in due]

    def succeeded(self, emeter: str, now: datetime) -> list[ScheduleEvent]:
        link = self._link(emeter)
        self._move(link, LinkInput.SUCCESS)
        if link.state is LinkState.DUE:
            link.due_since = now
        lost, failures = link.failures >= self.settings.loss_after, link.failures
        link.failures, link.last_success, link.last_error = 0, now, None
        return [CommunicationRestored(emeter, now, failures)] if lost else []

    def failed(self, emeter: str, now: datetime, reason: str) -> list[ScheduleEvent]:
        link = self._link(emeter)
        self._move(link, LinkInput.FAILURE)
        link.failures += 1
        link.last_failure, link.last_error = now, reason
        link.retry_at = now + self.settings.backoff(link.failures)
        events: list[ScheduleEvent] = [RetryScheduled(emeter, link.retry_at, link.failures)]
        if link.failures == self.settings.loss_after:
            events.append(CommunicationLost(emeter, now, link.failures))
        return events

    def next_deadline(self) -> datetime:
        """When the scheduler next has something to do: the next round, or an earlier retry."""
        retries = [link.retry_at for link in self.links.values() if link.retry_at is not None]
        return min([self.next_round_at, *retries])

    def has_due(self) -> bool:
        return any(link.state is LinkState.DUE for link in self.links.values())

    def _link(self, emeter: str) -> MeterLink:
        try:
            return self.links[emeter]
        except KeyError:
            raise InvalidInput(f"meter {emeter} is not scheduled; add it first") from None

