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

Key change (``rotate_keys(emeter)``, P3 §5.1 footnote 4, DSMR-M 4.4.14): new keys from ``rng``, stored
sealed as *pending* before the transfer, sent with ``global_key_transfer`` wrapped under the meter's master
key (``KeyKind.P3_MASTER``), and stored as the meter's keys once it confirmed. Whatever fails in between, a
later contact settles it: it reads with the current keys and, if the meter refuses them
(``AuthenticationError``) while a pending pair is outstanding, with the pending pair, which then becomes
current; a meter that still answers to the current keys never took the pending ones, which are retired.

Gas meter key change (``rotate_gas_meter_key(emeter, channel)``, P2-4.0.7 §6.5.1, DSMR-FACTS §2.5): a new user
key from ``rng``, sealed as pending (``KeyKind.P2_USER_PENDING``, under the gas meter's equipment id), wrapped
with the gas meter's default key (``KeyKind.P2_DEFAULT``, ``store_gas_meter_default_key``) and given to the
E-meter's M-Bus client setup 0-x:24.1.0 with ``transfer_key`` then ``set_encryption_key``; stored as the gas
meter's ``P2_USER`` once the E-meter acknowledged both. An acknowledgement means the E-meter received the
methods (P3 §3.5), not that the gas meter took the key: a change that went wrong on P2 shows up as M-Bus
communication errors of that channel (alarm register, M-Bus event log). A rotation that failed before both
acknowledgements leaves its key pending, and the next ``rotate_gas_meter_key`` sends that same key again: the
gas meter accepts *Set new key* unencrypted whatever key it holds [§6.5], so repeating it brings gas meter
and E-meter to the same key wherever the first attempt stopped.

Rules this module keeps: time comes from ``clock`` (or the ``now`` given to ``step``) and randomness from
``rng``; the CS's P3 invocation counter for each meter is persisted in the store: it is handed out only
from blocks of ``COUNTER_BLOCK`` values reserved there first (``Store.reserve_invocation_counters``), so
a restarted CS starts above anything it may have used and never repeats an IV (P3 §3.2.3.1; at least
``counter_start``); one counter per meter, across key changes; errors of one meter never stop the
others; a bug (anything not a ``MeterkastError``) propagates and stops the service, it is not swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
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
    KeyKind,
)
from meterkast.central.store import Store
from meterkast.clock import Clock
from meterkast.cosem.access import Client
from meterkast.cosem.client import P3Client, Procedure
from meterkast.cs.alarms import P3_COMMUNICATION_LOSS, AlarmCommand, AlarmWatch, CloseAlarm, RaiseAlarm
from meterkast.cs.collect import Collected, change_gas_meter_key, collect, readings_from, rotate
from meterkast.cs.inventory import MeterEntry
from meterkast.cs.journal import DEFAULT_KEEP, Journal, ReadRecord
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
from meterkast.dlms import InvocationCounter, SecurityKeys
from meterkast.errors import AuthenticationError, CommandRefused, InvalidInput, MeterkastError
from meterkast.io.p3_client import P3TcpClient
from meterkast.mbus.keys import check_key, generate_user_key, wrap_user_key
from meterkast.randomness import RandomSource

log = logging.getLogger("meterkast.cs")
T = TypeVar("T")
JSON = dict[str, Any]
EVENT_LOOKBACK = timedelta(days=1)  # how far back in a meter's event log a CS that just started looks
STATUS_METERS = 50
COUNTER_BLOCK = 4096  # counter values reserved per store write; one contact uses a few dozen
CONTACT_COUNTERS = 512  # reserved before a contact (worker thread); a longer one reserves more as it goes
CURRENT_KEYS = (KeyKind.P3_ENCRYPTION, KeyKind.P3_AUTHENTICATION)
PENDING_KEYS = (KeyKind.P3_ENCRYPTION_PENDING, KeyKind.P3_AUTHENTICATION_PENDING)


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


@dataclass(frozen=True, slots=True)
class _Filed:
    records: list[ReadRecord]
    raised: int
    closed: int
    open_alarms: list[Alarm]


class CentralSystem:
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
        self._levels: dict[str, ConsentLevel] = {}
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
            self._keep_keys(entry.emeter, entry.keys, at)
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

    def _keep_keys(self, emeter: str, keys: SecurityKeys, at: datetime,
                   kinds: tuple[KeyKind, KeyKind] = CURRENT_KEYS) -> None:
        for kind, key in zip(kinds, (keys.encryption_key, keys.authentication_key), strict=True):
            try:
                if self.store.get_key(emeter, kind) == key:
                    continue
            except InvalidInput:  # none stored yet
                pass
            self.store.put_key(emeter, kind, key, at)

    def _pair(self, emeter: str, kinds: tuple[KeyKind, KeyKind]) -> SecurityKeys:
        return SecurityKeys(*(self.store.get_key(emeter, kind) for kind in kinds))

    def _p3_keys(self, emeter: str) -> tuple[SecurityKeys, SecurityKeys | None]:
        """The meter's current keys, and the pending pair of an unconfirmed key change (None if settled)."""
        current = self._pair(emeter, CURRENT_KEYS)
        try:
            pending = self._pair(emeter, PENDING_KEYS)
        except InvalidInput:  # never rotated
            return current, None
        return current, None if pending == current else pending

    def _settle_keys(self, emeter: str, keys: SecurityKeys, at: datetime) -> None:
        """The meter answered to ``keys``: they are its current keys, and nothing is pending any more."""
        self._keep_keys(emeter, keys, at)
        self._keep_keys(emeter, keys, at, PENDING_KEYS)

    def store_master_key(self, emeter: str, master_key: bytes, at: datetime) -> None:
        """Seal the E-meter's master key (KEK) that wraps new P3 keys; it never changes (DSMR-M 4.4.14)."""
        if len(master_key) != 16:
            raise InvalidInput(f"the master key of {emeter} must be 16 bytes (AES-128 key wrap), got {len(master_key)}")
        self.store.put_key(emeter, KeyKind.P3_MASTER, master_key, at)

    async def rotate_keys(self, emeter: str, now: datetime | None = None) -> SecurityKeys:
        """Give the E-meter new global keys (both), made from ``rng``; returns them once the meter confirmed.

        The new pair is sealed as pending first, so a confirmation lost on the way (the meter swapped, the
        CS never heard) is recovered by the next contact; it becomes the current pair only after the meter
        confirmed. No contact runs meanwhile (the step lock). A refusal or a failure raises, with the
        meter's state as far as it is known logged; an unconfirmed earlier change must be settled by a
        contact (``step``) first, so pending keys are never overwritten while the meter may be using them.
        """
        entry = self.entries.get(emeter)
        if entry is None:
            raise InvalidInput(f"E-meter {emeter} is not enrolled in this central system")
        moment = now or self.clock.now()
        new = SecurityKeys(*(self.rng.getrandbits(128).to_bytes(16, "big") for _ in range(2)))
        async with self._one_step:
            keys, kek = await asyncio.to_thread(self._prepare_rotation, emeter, new, moment)
            client = self._client(entry, keys)
            try:
                await self._run(entry, client, rotate(client, new, kek))
            except MeterkastError as exc:
                if client.keys == new:  # confirmed; what failed came after the ACK
                    await asyncio.to_thread(self._settle_keys, emeter, new, moment)
                    log.warning("E-meter %s took its new keys; the rest of that session failed: %s", emeter, exc)
                    return new
                if isinstance(exc, CommandRefused):  # answered under the old keys: it keeps them for sure
                    await asyncio.to_thread(self._settle_keys, emeter, keys, moment)
                log.error("key change of E-meter %s failed: %s: %s", emeter, type(exc).__name__, exc)
                raise
            await asyncio.to_thread(self._settle_keys, emeter, new, moment)
        log.info("E-meter %s has new P3 keys", emeter)
        return new

    def _prepare_rotation(self, emeter: str, new: SecurityKeys, at: datetime) -> tuple[SecurityKeys, bytes]:
        keys, pending = self._p3_keys(emeter)
        if pending is not None:
            raise InvalidInput(f"an earlier key change of E-meter {emeter} is unconfirmed; a contact settles it "
                               f"(the next step), then rotate again")
        kek = self.store.get_key(emeter, KeyKind.P3_MASTER)
        self._keep_keys(emeter, new, at, PENDING_KEYS)
        return keys, kek

    def store_gas_meter_default_key(self, gas_meter: str, default_key: bytes, at: datetime) -> None:
        """Seal a gas meter's default key (delivered by its manufacturer); it only wraps new user keys and never
        changes [P2-4.0.7 §6.5]. Storing the same key again stores nothing."""
        key = check_key(f"default key of gas meter {gas_meter}", default_key)
        with contextlib.suppress(InvalidInput):  # none stored yet
            if self.store.get_key(gas_meter, KeyKind.P2_DEFAULT) == key:
                return
        self.store.put_key(gas_meter, KeyKind.P2_DEFAULT, key, at)

    async def rotate_gas_meter_key(self, emeter: str, channel: int, now: datetime | None = None) -> bytes:
        """Give the gas meter on ``channel`` of ``emeter`` a new P2 user key through the E-meter; returns the key
        once the E-meter acknowledged ``transfer_key`` and ``set_encryption_key`` (module docstring)."""
        entry = self.entries.get(emeter)
        if entry is None:
            raise InvalidInput(f"E-meter {emeter} is not enrolled in this central system")
        moment = now or self.clock.now()
        candidate = generate_user_key(self.rng)
        async with self._one_step:
            gas, user_key, wrapped, keys = await asyncio.to_thread(
                self._prepare_gas_rotation, emeter, channel, candidate, moment)
            client = self._client(entry, keys)
            try:
                await self._run(entry, client, change_gas_meter_key(client, channel, wrapped, user_key))
            except MeterkastError as exc:
                log.error("P2 key change of gas meter %s (channel %d of %s) failed, its new key stays pending: "
                          "%s: %s", gas, channel, emeter, type(exc).__name__, exc)
                raise
            await asyncio.to_thread(self.store.put_key, gas, KeyKind.P2_USER, user_key, moment)
        log.info("gas meter %s on channel %d of %s has a new P2 user key", gas, channel, emeter)
        return user_key

    def _prepare_gas_rotation(self, emeter: str, channel: int, candidate: bytes,
                              at: datetime) -> tuple[str, bytes, bytes, SecurityKeys]:
        """(gas meter, user key to send, the key wrapped MSB first, the E-meter's P3 keys); the key is the
        pending one of an unconfirmed change, else ``candidate``, sealed as pending before it is sent."""
        coupling = self.store.gas_meter_at(emeter, channel, at)
        if coupling is None:
            raise InvalidInput(f"no gas meter is coupled on channel {channel} of E-meter {emeter} at {at.isoformat()}")
        gas = coupling.gas_meter
        default_key = self.store.get_key(gas, KeyKind.P2_DEFAULT)
        try:
            pending: bytes | None = self.store.get_key(gas, KeyKind.P2_USER_PENDING)
        except InvalidInput:  # never changed
            pending = None
        with contextlib.suppress(InvalidInput):
            if pending == self.store.get_key(gas, KeyKind.P2_USER):
                pending = None  # settled
        if pending is None:
            pending = candidate
            self.store.put_key(gas, KeyKind.P2_USER_PENDING, pending, at)
        else:
            log.warning("gas meter %s has an unconfirmed P2 key change; sending that key again", gas)
        keys, _ = self._p3_keys(emeter)
        return gas, pending, wrap_user_key(default_key, pending), keys

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
            await asyncio.to_thread(self._settle_keys, entry.emeter, keys, now)
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
        self._levels[emeter] = plan.level
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
            filed = await asyncio.to_thread(self._file, entry, plan, collected, commands, read_at)
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
        keys = self._p3_keys(entry.emeter)
        self._counters[entry.emeter].reserve_ahead(CONTACT_COUNTERS)  # the store write here, not on the loop
        plan = plan_meter(entry.emeter, connection, level, gaps, now=now,
                          events_after=self._watches[entry.emeter].events_after)
        return plan, keys

    def _file(self, entry: MeterEntry, plan: MeterPlan, collected: Collected, commands: list[AlarmCommand],
              now: datetime) -> _Filed:
        store = self.store
        records = []
        for read, rows in collected.rows:
            harvest = readings_from(plan, [(read, rows)], now)
            new = store.store_readings(harvest.readings)
            records.append(ReadRecord(now, entry.emeter, entry.connection.ean, read, new,
                                      len(harvest.readings) - new, harvest.unavailable))
        known = list(self._open_alarms.get(entry.emeter, []))  # as of the last contact: the CS files them
        if any((a.kind, a.channel) == P3_COMMUNICATION_LOSS for a in known):  # the meter answered: it is over
            commands = [*commands, CloseAlarm(*P3_COMMUNICATION_LOSS, now, "P3 link answered")]
        if not commands:
            return _Filed(records, 0, 0, known)
        before, closed = {a.alarm_id for a in known}, 0
        for command in commands:
            if isinstance(command, RaiseAlarm):
                alarm = store.raise_alarm(entry.emeter, command.kind, command.channel, command.at)
                if alarm.alarm_id not in before:
                    before.add(alarm.alarm_id)
                    log.info("alarm %d: %s on %s channel %d (%s)", alarm.alarm_id, command.kind.value,
                             entry.emeter, command.channel, command.source)
                continue
            for alarm in store.open_alarms(entry.emeter):
                if (alarm.kind, alarm.channel) == (command.kind, command.channel):
                    store.close_alarm(alarm.alarm_id, max(now, alarm.acknowledged_at or alarm.raised_at))
                    closed += 1
        now_open = store.open_alarms(entry.emeter)
        raised = len({a.alarm_id for a in now_open} - {a.alarm_id for a in known})
        return _Filed(records, raised, closed, now_open)

    def _filed(self, emeter: str, filed: _Filed) -> None:
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
        links = self.scheduler.links
        meters = []
        for emeter, entry in list(self.entries.items())[:STATUS_METERS]:
            link = links[emeter]
            level = self._levels.get(emeter)
            meters.append({
                "emeter": emeter, "connection": entry.connection.ean, "address": f"{entry.host}:{entry.port}",
                "consent": None if level is None else level.value,
                "reads": [p.value for p in periods_allowed(level)] if level is not None else [],
                "state": link.state.value, "failures": link.failures, "contacts": link.contacts,
                "last_success": _iso(link.last_success), "last_error": link.last_error,
                "retry_at": _iso(link.retry_at),
            })
        states: dict[str, int] = {}
        for link in links.values():
            states[link.state.value] = states.get(link.state.value, 0) + 1
        return {
            "now": _iso(self.last_step),
            "next_round": self.scheduler.next_round_at.isoformat(),
            "system_title": self.system_title.hex().upper(),
            "meters_total": len(links),
            "meter_states": states,
            "meters": meters,
            "stats": asdict(self.stats),
            "last_reads": [r.to_json() for r in reversed(list(self.journal.reads)[-reads:])],
            "refused": [r.to_json() for r in reversed(self.journal.refusals[-refusals:])],
            "refused_total": self.journal.refused_total,
            "open_alarms": [_alarm_json(a) for a in self.open_alarms()],
            "last_filing_error": self.last_filing_error,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _alarm_json(alarm: Alarm) -> JSON:
    return {"id": alarm.alarm_id, "emeter": alarm.emeter, "channel": alarm.channel, "kind": alarm.kind.value,
            "raised_at": alarm.raised_at.isoformat(), "acknowledged_at": _iso(alarm.acknowledged_at)}


