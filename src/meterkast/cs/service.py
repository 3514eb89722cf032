"""The central system service: reads E-meters over P3 on a schedule and files what consent allows
(issue 6 "Central system (`meterkast cs serve`)"; SYSTEM C1–C4, E3; DSMR-FACTS §3, §5). The I/O shell
around the sans-I/O ``schedule``, ``collect``, ``alarms`` and ``journal``.

``CentralSystem(store, clock=..., system_title=..., rng=...)``; ``enrol(entry, at=...)`` puts an E-meter
in the inventory (its keys sealed, SYSTEM C4); ``await step()`` does what is due now; ``await serve()``
keeps doing so. One contact with a due E-meter:

1. plan (a worker thread, the store blocks): consent at now → the allowed profiles; their gaps in the
   meter's retention window (``Store.missing_periods``); a refusal for each profile consent does not
   allow (SYSTEM C2), kept in the journal for the dashboard; the meter's keys, unsealed;
2. read (the event loop): the ``collect`` procedure over a link from ``opener`` (TCP by default,
   ``io.p3_client``), as the management client with the meter's keys (HLS5, ciphered APDUs);
3. file (a worker thread): the readings of exactly the planned instants (``Store.store_readings`` per read:
   idempotent, so a repeat stores nothing twice); the alarms from the alarm register and the M-Bus event
   log; a communication loss that this success ends is closed.

A failed contact (no answer, a refused association, a wrong key: ``AuthenticationError``, a malformed
reply) is logged with its error and retried after the scheduler's backoff; ``loss_after`` failures in a
row raise a communication-loss alarm for that E-meter alone. Throttling: at most ``max_concurrent``
contacts at once (``step`` runs that many workers in one ``TaskGroup``). The CS never stores what consent
does not allow: it does not ask for it, and the store would refuse it (``ConsentRefused``) anyway.

Key changes (``rotate_keys``, ``rotate_gas_meter_key``; SYSTEM C4) are in ``key_change.py`` (``KeyChanges``, a
part of this class), filing what a contact read is ``filing.py``, the dashboard's view is ``status.py``.

Rules this module keeps: time comes from ``clock`` (or the ``now`` given to ``step``) and randomness from
``rng``; the CS's P3 invocation counter for each meter is persisted in the store: it is handed out only
from blocks of ``COUNTER_BLOCK`` values reserved there first (``Store.reserve_invocation_counters``), so
a restarted CS starts above anything it may have used and never repeats an IV (P3 §3.2.3.1; at least
``counter_start``); one counter per meter, across key changes; errors of one meter never stop the
others; a bug (anything not a ``MeterkastError``) propagates and stops the service, it is not swallowed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from meterkast.central.model import (
    Alarm,
    Consent,
    ConsentLevel,
    EMeterRecord,
)
from meterkast.central.store import Store
from meterkast.clock import Clock
from meterkast.cosem.access import Client
from meterkast.cosem.client import P3Client, Procedure
from meterkast.cs.alarms import P3_COMMUNICATION_LOSS, AlarmWatch
from meterkast.cs.collect import Collected, collect
from meterkast.cs.filing import Filed, file_contact
from meterkast.cs.inventory import MeterEntry
from meterkast.cs.journal import DEFAULT_KEEP, Journal
from meterkast.cs.key_change import KeyChanges, keep_keys, p3_keys, settle_keys
from meterkast.cs.schedule import (
    CommunicationLost,
    CommunicationRestored,
    LinkState,
    MeterPlan,
    RoundStarted,
    ScheduleEvent,
    Scheduler,
    ScheduleSettings,
    periods_allowed,
    plan_meter,
    read_window,
)
from meterkast.cs.status import status_json
from meterkast.dlms import InvocationCounter, SecurityKeys
from meterkast.errors import AuthenticationError, InvalidInput, MeterkastError
from meterkast.io.p3_client import P3TcpClient
from meterkast.randomness import RandomSource

log = logging.getLogger("meterkast.cs")
T = TypeVar("T")
JSON = dict[str, Any]
EVENT_LOOKBACK = timedelta(days=1)  # how far back in a meter's event log a CS that just started looks
COUNTER_BLOCK = 4096  # counter values reserved per store write; one contact uses a few dozen
CONTACT_COUNTERS = 512  # reserved before a contact (worker thread); a longer one reserves more as it goes


class P3Link(Protocol):
    """A transport to one E-meter that drives P3 procedures (``io.p3_client.P3TcpClient`` is one)."""

    async def run(self, procedure: Procedure[T]) -> T: ...

    async def close(self) -> None: ...


LinkOpener = Callable[[MeterEntry, P3Client], Awaitable[P3Link]]


def tcp_opener(timeout_s: float = 10.0) -> LinkOpener:
    async def open_link(entry: MeterEntry, client: P3Client) -> P3Link:
        return await P3TcpClient.connect(entry.host, entry.port, client, timeout_s=timeout_s)
    return open_link


@dataclass(slots=True)
class CsStats:
    steps: int = 0
    rounds: int = 0
    contacts: int = 0
    failures: int = 0
    profile_reads: int = 0
    rows_stored: int = 0
    rows_repeated: int = 0
    unavailable: int = 0
    refusals: int = 0
    alarms_raised: int = 0
    alarms_closed: int = 0
    filing_errors: int = 0


@dataclass(frozen=True, slots=True)
class StepReport:
    at: datetime
    contacts: int
    failures: int
    rows_stored: int
    refusals: int


class CentralSystem(KeyChanges):
    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        system_title: bytes,
        rng: RandomSource,
        counter_start: int = 0,
        opener: LinkOpener | None = None,
        settings: ScheduleSettings | None = None,
        clear_alarm_register: bool = True,
        keep: int = DEFAULT_KEEP,
    ) -> None:
        self.store = store
        self.clock = clock
        self.system_title = system_title
        self.rng = rng
        self.counter_start = counter_start
        self.opener = opener or tcp_opener()
        self.settings = settings or ScheduleSettings()
        self.clear_alarm_register = clear_alarm_register
        self.scheduler = Scheduler(self.settings, clock.now())
        self.journal = Journal(keep)
        self.stats = CsStats()
        self.entries: dict[str, MeterEntry] = {}
        self.last_step: datetime | None = None
        self.last_filing_error: str | None = None
        self._counters: dict[str, InvocationCounter] = {}
        self._watches: dict[str, AlarmWatch] = {}
        self.consent_levels: dict[str, ConsentLevel] = {}  # each meter's at its last contact (status)
        self._open_alarms: dict[str, list[Alarm]] = {}
        self._one_step = asyncio.Lock()  # steps never overlap: a meter is in one contact at a time

    # ---- inventory (SYSTEM C1, M3, C4) ---------------------------------------------------------------

    def enrol(self, entry: MeterEntry, *, at: datetime) -> None:
        """Put an E-meter in the inventory and the schedule; enrolling it again changes nothing.

        Its gas meter couplings are recorded as the entry gives them; its keys are sealed into the store
        when the entry brings keys the store does not hold yet; its consent is recorded at ``at`` (never
        backdated) when the connection has no consent history.
        """
        store = self.store
        store.add_connection(entry.connection)
        store.add_emeter(EMeterRecord(entry.emeter, entry.connection, entry.installed_at))
        known = {(c.channel, c.gas_meter, c.coupled_at) for c in store.gas_meter_history(entry.emeter)}
        for gas in entry.gas:
            if (gas.channel, gas.gas_meter, gas.coupled_at) not in known:
                store.couple_gas_meter(entry.emeter, gas.channel, gas.gas_meter, gas.coupled_at)
        if entry.keys is not None:
            keep_keys(store, entry.emeter, entry.keys, at)
        if entry.consent is not None and not store.consent_history(entry.connection):
            store.set_consent(entry.connection, entry.consent, at, at)
        self.entries[entry.emeter] = entry
        if entry.emeter not in self._counters:  # the CS's own counter, reserved in the store (COUNTER_BLOCK)
            store, emeter = self.store, entry.emeter
            self._counters[emeter] = InvocationCounter(
                self.counter_start, reserve=lambda at_least: store.reserve_invocation_counters(
                    emeter, at_least, COUNTER_BLOCK))
        self._watches.setdefault(entry.emeter, AlarmWatch(max(entry.installed_at, at - EVENT_LOOKBACK)))
        self._open_alarms[entry.emeter] = store.open_alarms(entry.emeter)
        self.scheduler.add(entry.emeter, at)

    def _client(self, entry: MeterEntry, keys: SecurityKeys) -> P3Client:
        return P3Client(Client.MANAGEMENT, system_title=self.system_title, keys=keys, rng=self.rng,
                        counter=self._counters[entry.emeter], server_system_title=entry.system_title)

    async def _run(self, entry: MeterEntry, client: P3Client, procedure: Procedure[T]) -> T:
        link = await self.opener(entry, client)
        try:
            return await link.run(procedure)
        finally:
            await link.close()

    async def _read(self, entry: MeterEntry, plan: MeterPlan, keys: SecurityKeys, pending: SecurityKeys | None,
                    now: datetime) -> Collected:
        """``collect`` with the current keys; if the meter refuses them and a key change is unconfirmed, with
        the pending keys. Whichever pair worked is settled in the store."""
        client = self._client(entry, keys)
        try:
            collected = await self._run(entry, client, collect(client, plan, clear_alarms=self.clear_alarm_register))
        except AuthenticationError:
            if pending is None:
                raise
            log.warning("E-meter %s refused its current keys; trying the keys of an unconfirmed key change",
                        entry.emeter)
            keys, client = pending, self._client(entry, pending)
            collected = await self._run(entry, client, collect(client, plan, clear_alarms=self.clear_alarm_register))
        if pending is not None:
            await asyncio.to_thread(settle_keys, self.store, entry.emeter, keys, now)
        return collected

    def set_consent(self, connection_ean: str, level: ConsentLevel, at: datetime | None = None) -> Consent:
        """Record the customer's choice from ``at`` (default now) on (SYSTEM C2; never backdated)."""
        moment = at or self.clock.now()
        entry = next((e for e in self.entries.values() if e.connection.ean == connection_ean), None)
        if entry is None:
            raise InvalidInput(f"connection {connection_ean} has no E-meter enrolled in this central system")
        return self.store.set_consent(entry.connection, level, moment, moment)

    # ---- running ---------------------------------------------------------------------------------------

    async def serve(self, *, poll_s: float = 1.0) -> None:
        """Do what is due, every ``poll_s`` real seconds, until cancelled."""
        while True:
            await self.step()
            await asyncio.sleep(poll_s)

    async def step(self, now: datetime | None = None) -> StepReport:
        """Start a round if one is due, end the backoffs that passed, and contact every meter due at ``now``
        (default: the clock's now), at most ``max_concurrent`` at a time. Returns when they are done."""
        async with self._one_step:
            return await self._step(now or self.clock.now())

    async def _step(self, now: datetime) -> StepReport:
        before = asdict(self.stats)
        self.stats.steps += 1
        self.last_step = now
        for event in self.scheduler.advance(now):
            await self._dispatch(event)
        workers = min(self.settings.max_concurrent, sum(
            1 for link in self.scheduler.links.values() if link.state is LinkState.DUE))
        if workers:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._worker(now))
        after = self.stats
        return StepReport(now, after.contacts - before["contacts"], after.failures - before["failures"],
                          after.rows_stored - before["rows_stored"], after.refusals - before["refusals"])

    async def _worker(self, now: datetime) -> None:
        while taken := self.scheduler.take_due(now, limit=1):
            await self._contact(taken[0], now)

    async def _contact(self, emeter: str, now: datetime) -> None:
        entry = self.entries[emeter]
        self.stats.contacts += 1
        try:
            plan, (keys, pending) = await asyncio.to_thread(self._plan, entry, now)
        except MeterkastError as exc:  # the store is unreachable, or the keys do not unseal
            await self._failed(emeter, now, exc, "planning")
            return
        self.consent_levels[emeter] = plan.level
        for refusal in plan.refused:
            self.journal.refused(refusal)
            self.stats.refusals += 1
        try:
            collected = await self._read(entry, plan, keys, pending, now)
        except MeterkastError as exc:
            await self._failed(emeter, now, exc, "P3 read")
            return
        # What was read is stamped with when it was read, never with when the round began: a contact can
        # end well after ``now`` (a slow link; a live run at --speed max whose world runs on meanwhile), and
        # an alarm register bit seen then may have been set after ``now`` (issue 10: a seal alarm 29 h early).
        read_at = max(now, self.clock.now())
        commands = self._watches[emeter].commands(collected.alarm_register, collected.mbus_events, read_at,
                                                  register_cleared=collected.register_cleared)
        try:
            known = list(self._open_alarms.get(emeter, []))  # as of the last contact: the CS files them
            filed = await asyncio.to_thread(file_contact, self.store, entry, plan, collected, commands,
                                            known=known, now=read_at)
        except InvalidInput as exc:
            # The meter answered, but the store refuses what it said (a value that contradicts a stored
            # one, a gas meter the inventory does not have on that channel): that is for an operator, not
            # for a retry. The gaps stay and are asked for again next round.
            self.stats.filing_errors += 1
            self.last_filing_error = f"{emeter}: {exc}"
            log.error("filing what E-meter %s answered failed: %s", emeter, exc)
        except MeterkastError as exc:  # the store is unreachable: try again after the backoff
            await self._failed(emeter, now, exc, "filing")
            return
        else:
            self._filed(emeter, filed)
        for event in self.scheduler.succeeded(emeter, now):
            await self._dispatch(event)

    def _plan(self, entry: MeterEntry, now: datetime) -> tuple[MeterPlan, tuple[SecurityKeys, SecurityKeys | None]]:
        store, connection = self.store, entry.connection
        level = store.consent_at(connection, now)
        gaps = {}
        for period_type in periods_allowed(level):
            window = read_window(period_type, now, entry.installed_at)
            if window is not None:
                gaps[period_type] = store.missing_periods(connection, period_type, *window, now=now)
        keys = p3_keys(store, entry.emeter)
        self._counters[entry.emeter].reserve_ahead(CONTACT_COUNTERS)  # the store write here, not on the loop
        plan = plan_meter(entry.emeter, connection, level, gaps, now=now,
                          events_after=self._watches[entry.emeter].events_after)
        return plan, keys

    def _filed(self, emeter: str, filed: Filed) -> None:
        stats = self.stats
        for record in filed.records:
            self.journal.read(record)
            stats.profile_reads += 1
            stats.rows_stored += record.stored
            stats.rows_repeated += record.repeated
            stats.unavailable += record.unavailable
        stats.alarms_raised += filed.raised
        stats.alarms_closed += filed.closed
        self._open_alarms[emeter] = filed.open_alarms

    async def _failed(self, emeter: str, now: datetime, error: MeterkastError, what: str) -> None:
        self.stats.failures += 1
        reason = f"{type(error).__name__}: {error}"
        level = logging.ERROR if isinstance(error, AuthenticationError) else logging.WARNING
        log.log(level, "%s of E-meter %s failed: %s", what, emeter, reason)
        for event in self.scheduler.failed(emeter, now, reason):
            await self._dispatch(event)

    async def _dispatch(self, event: ScheduleEvent) -> None:
        if isinstance(event, RoundStarted):
            self.stats.rounds += 1
            log.info("round at %s: %d meters", event.at.isoformat(), event.meters)
        elif isinstance(event, CommunicationLost):
            kind, channel = P3_COMMUNICATION_LOSS
            log.error("communication with E-meter %s lost after %d failures", event.emeter, event.failures)
            try:
                await asyncio.to_thread(self.store.raise_alarm, event.emeter, kind, channel, event.at)
                self._open_alarms[event.emeter] = await asyncio.to_thread(self.store.open_alarms, event.emeter)
            except MeterkastError as exc:  # the store is down too: the next failure tries again
                log.error("could not file the communication loss of %s: %s", event.emeter, exc)
                return
            self.stats.alarms_raised += 1
        elif isinstance(event, CommunicationRestored):
            log.warning("communication with E-meter %s restored after %d failures", event.emeter, event.failures)

    # ---- alarms (SYSTEM C1) ---------------------------------------------------------------------------

    def acknowledge_alarm(self, alarm_id: int, at: datetime | None = None) -> Alarm:
        alarm = self.store.acknowledge_alarm(alarm_id, at or self.clock.now())
        self._open_alarms[alarm.emeter] = self.store.open_alarms(alarm.emeter)
        return alarm

    def close_alarm(self, alarm_id: int, at: datetime | None = None) -> Alarm:
        alarm = self.store.close_alarm(alarm_id, at or self.clock.now())
        self._open_alarms[alarm.emeter] = self.store.open_alarms(alarm.emeter)
        return alarm

    def open_alarms(self) -> list[Alarm]:
        """Open alarms as of the last contact with each meter (no store call)."""
        return sorted((a for alarms in self._open_alarms.values() for a in alarms), key=lambda a: a.alarm_id)

    # ---- status for a dashboard ---------------------------------------------------------------------------

    def status(self, *, reads: int = 20, refusals: int = 20) -> JSON:
        """What the CS read lately, what it refused for consent, its meters and open alarms (newest first)."""
        return status_json(self, reads=reads, refusals=refusals)
