"""The M-Bus master side of the E-meter: four channels, polling, 0-x:24.2.1 and the hourly profiles.

SYSTEM M3, E1; DSMR-M 4.3.43, 4.5.5, 4.5.6, 4.5.25; [P3-4.2.2 §4.2.1, §7.3, §7.4].

Rules this module keeps:
- channels are handed out in order of installation: a device goes to the first free channel (never used,
  or decoupled); a fifth device is refused (``CommandRefused``);
- a decoupled channel keeps its last 0-x:24.2.1 value (stale) and its profile; it is no longer polled
  and files no hourly entries; a new device on it starts with no value;
- polling (DSMR-M 4.5.5, once an hour): the first read is due at xx:01 of the meter's clock, one retry
  5 minutes after a failure, and only before xx:11, when the value is filed (DSMR-M 4.5.6);
- communication is a state machine (``COMM_TRANSITIONS``, total): a failure with a retry left only
  schedules the retry; the hour's last failure logs "communication error" (100 + 10·(n−1)) and sets the
  register bit 16 + n − 1; the next good read logs "communication ok" (101 …) and clears the error bit;
- status bits of the reading raise M-Bus events on their rising edge (``STATUS_EVENTS``);
- a reply that arrived whole but was refused over P2 (wrong key, replay, implausible: the shell says so
  with ``rejected=True``) is a failed read, and also counted per channel and reported as a
  ``FrameRejected`` event. ``REJECTION_ALARM_RUN`` refusals in a row, with no accepted reading between,
  log "fraud attempt M-Bus channel n" (103 + 10·(n−1)) once per run, which sets error and alarm bit
  19 + n [P3-4.2.2 §4.2.1, §4.2.4]; the error bit clears with the next accepted reading (unless the
  device itself reports a fraud attempt). Refusals change nothing else: they never block later readings;
- the device's clock is synchronised and its status cleared over P2 as ``gas_clock`` says; a status with
  the clock sync error (bit 5) is taken over as CAD (and so DNV) in the channel's hourly entry;
- at xx:11 each coupled channel with a value files one entry for hour xx:00: the latest value and its
  capture time; when no new value arrived since the last entry, the entry repeats the last value with
  DNV, the way DSMR meters repeat a register they could not refresh (the capture time inside shows how
  old it is). Before a device's first value there is nothing to file, so no entry is made;
- a device that stores a value every 5 minutes (an SMR 5 gas meter, ``read_period``; issue 11 item 9,
  [P1-5.0.2 §7.3]) is read once per 5-minute slot, 1 minute after its mark (xx:01, xx:06, … xx:56), with
  no retry inside a slot: the next slot's read is the retry. 0-x:24.2.1 (and P1) shows the latest
  5-minute value; the hourly, daily and monthly profiles file the latest value captured on a whole hour
  (what DSMR-M 4.5.6 files for an hourly device). Communication error is logged when no read succeeded
  in the hour by the last read before xx:11 (xx:06), as the hourly device's two attempts would.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

from meterkast.emeter.amr import AmrStatus, entry_status
from meterkast.emeter.events import (
    DeviceCoupled,
    DeviceDecoupled,
    DeviceReplaced,
    Event,
    FrameRejected,
    MbusCode,
    MbusEventLogged,
    ProfileEntryFiled,
    ReadFailed,
    ReadingReceived,
    ValveCommandRefused,
    mbus_code,
    valve_refused_code,
)
from meterkast.emeter.gas_clock import (
    ClockSync,
    GasClockSynchronized,
    GasCommand,
    GasCommandFailed,
    GasStatusCleared,
    SyncReason,
)
from meterkast.emeter.localtime import CAPTURE_OFFSET, Instant, as_utc, hour_start, to_local
from meterkast.emeter.logs import Recorder
from meterkast.emeter.obis import CHANNELS, check_channel
from meterkast.emeter.profiles import HourlyEntry, Profile, hourly_spec
from meterkast.emeter.readings import MbusDeviceIdentity, MbusReading, StatusBit, ValveAction
from meterkast.errors import CommandRefused

HOUR = timedelta(hours=1)
POLL_DELAY = timedelta(minutes=1)
RETRY_DELAY = timedelta(minutes=5)
MAX_ATTEMPTS = 2
REJECTION_ALARM_RUN = 3
"""Refused P2 frames in a row that raise the M-Bus fraud attempt alarm. A genuine meter yields a refused
frame only by a line error that slips past the 8-bit checksum (rare, and seldom twice) or during a key
change, between P3 ``transfer_key`` and ``set_encryption_key``, at most one read (the E-meter keeps the
old key as fallback). Three in a row, with at most two reads an hour (DSMR-M 4.5.5), is more than an hour
of refused frames: not noise, a forgery or a key that is wrong for good; either needs the central system.
A lower threshold would turn line noise into field visits; per frame in the 30-entry M-Bus log, a forger
could flush it."""
VALVE_REFUSAL = (
    "valve control was removed in DSMR 4.2.2; the E-meter lets no one operate the gas valve (SYSTEM G12, E4)"
)


class CommState(Enum):
    OK = "ok"
    RETRYING = "retrying"
    FAILED = "failed"


class CommInput(Enum):
    READ_OK = "read-ok"
    READ_FAILED = "read-failed"  # a retry is still possible this hour
    RETRIES_EXHAUSTED = "retries-exhausted"


class CommAction(Enum):
    NONE = "none"
    LOG_ERROR = "log-error"
    LOG_OK = "log-ok"


C, CI, CA = CommState, CommInput, CommAction
COMM_TRANSITIONS: dict[tuple[CommState, CommInput], tuple[CommState, CommAction]] = {
    (C.OK, CI.READ_OK): (C.OK, CA.NONE),
    (C.OK, CI.READ_FAILED): (C.RETRYING, CA.NONE),
    (C.OK, CI.RETRIES_EXHAUSTED): (C.FAILED, CA.LOG_ERROR),
    (C.RETRYING, CI.READ_OK): (C.OK, CA.NONE),
    (C.RETRYING, CI.READ_FAILED): (C.RETRYING, CA.NONE),
    (C.RETRYING, CI.RETRIES_EXHAUSTED): (C.FAILED, CA.LOG_ERROR),
    (C.FAILED, CI.READ_OK): (C.OK, CA.LOG_OK),
    (C.FAILED, CI.READ_FAILED): (C.FAILED, CA.NONE),  # already reported
    (C.FAILED, CI.RETRIES_EXHAUSTED): (C.FAILED, CA.NONE),
}

# Rising edges of the P2 status byte → M-Bus event [P2-4.0.7 §6.2.4] → [P3-4.2.2 §4.2.1].
STATUS_EVENTS: dict[StatusBit, MbusCode] = {
    StatusBit.BATTERY_LOW: MbusCode.REPLACE_BATTERY,
    StatusBit.PERMANENT_ERROR: MbusCode.PERMANENT_ERROR,
    StatusBit.CLOCK_SYNC_ERROR: MbusCode.CLOCK_ADJUSTED,
    StatusBit.FRAUD_ATTEMPT: MbusCode.FRAUD_ATTEMPT,
}


@dataclass(frozen=True, slots=True)
class MasterValue:
    """0-x:24.2.1: value (attr 2), resolution (attr 3), status (attr 4), capture time (attr 5, local)."""

    value_m3: Decimal
    capture_time: datetime
    status: int
    resolution_m3: Decimal


@dataclass(slots=True)
class Channel:
    number: int
    profile: Profile[HourlyEntry]
    identity: MbusDeviceIdentity | None = None
    coupled: bool = False
    master: MasterValue | None = None
    comm: CommState = CommState.OK
    last_status: int = 0
    fresh: bool = False
    last_filed_capture: datetime | None = None
    poll_hour: datetime | None = None
    attempts: int = 0
    last_attempt: datetime | None = None
    read_hour: datetime | None = None
    history: list[MbusDeviceIdentity] = field(default_factory=list)
    rejected_frames: int = 0  # refused P2 replies since this device was installed
    rejected_run: int = 0  # refused since the last accepted reading
    read_period: timedelta = HOUR  # how often the device stores a value: 1 h (DSMR 4), 5 min (SMR 5)
    hourly: MasterValue | None = None  # the latest value captured on a whole hour: what the profiles file
    read_slot: datetime | None = None  # the 5-minute slot of the last good read (SMR 5 devices)
    clock: ClockSync = field(default_factory=ClockSync)  # P2 clock sync and status housekeeping (gas_clock)

    @property
    def used(self) -> bool:
        return self.identity is not None

    @property
    def per_slot(self) -> bool:
        """Read every ``read_period`` (< 1 h) instead of by the hourly schedule of DSMR-M 4.5.5."""
        return self.read_period < HOUR

    def slot(self, meter: datetime) -> datetime:
        """The start of the read period holding ``meter`` (the hour, or its 5-minute slot)."""
        if not self.per_slot:
            return hour_start(meter)
        minutes = int(self.read_period.total_seconds()) // 60
        return meter.replace(minute=meter.minute - meter.minute % minutes, second=0, microsecond=0)

    def _attempts_now(self, meter: datetime) -> int:
        return self.attempts if self.poll_hour == self.slot(meter) else 0

    def next_poll(self, meter: datetime) -> datetime | None:
        """When this channel's next read is due (meter time), at or after ``meter``; None: no more this hour."""
        if not self.coupled:
            return None
        if self.per_slot:  # one read per slot, POLL_DELAY after its mark (module rules)
            slot = self.slot(meter)
            if self.read_slot == slot or self._attempts_now(meter):
                return None
            return slot + POLL_DELAY
        hour = hour_start(meter)
        if self.read_hour == hour or meter >= hour + CAPTURE_OFFSET:
            return None
        attempts = self._attempts_now(meter)
        if attempts >= MAX_ATTEMPTS:
            return None
        due = hour + POLL_DELAY
        if attempts and self.last_attempt is not None:
            due = max(due, self.last_attempt + RETRY_DELAY)
        return due if due < hour + CAPTURE_OFFSET else None


class MbusMaster:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.channels = {x: Channel(x, Profile[HourlyEntry](hourly_spec(x))) for x in CHANNELS}

    def _coupled(self, channel: int) -> Channel:
        state = self.channels[check_channel(channel)]
        if not state.coupled:
            raise CommandRefused(
                f"M-Bus channel {channel} has no coupled device; couple one first (SYSTEM M3)"
            )
        return state

    def _log(self, now: Instant, channel: int, kind: MbusCode) -> list[Event]:
        code = mbus_code(kind, channel)
        return self.recorder.record(MbusEventLogged(now.at, now.local, code, channel, kind))

    # -- installation ---------------------------------------------------------------------------------

    def couple(
        self, now: Instant, identity: MbusDeviceIdentity, *, read_period: timedelta = HOUR
    ) -> tuple[int, list[Event]]:
        """Couple on the first free channel; ``read_period``: how often the device stores a value."""
        for state in self.channels.values():
            if state.coupled and state.identity == identity:
                raise CommandRefused(
                    f"device {identity.equipment_identifier} is already coupled on channel {state.number}"
                )
        free = [s for s in self.channels.values() if not s.coupled]
        if not free:
            raise CommandRefused(
                "all 4 M-Bus channels are in use; decouple a device before coupling "
                f"{identity.equipment_identifier} (SYSTEM M3, [P2-4.0.7 §1.2])"
            )
        state = free[0]
        self._install(state, identity, read_period)
        events: list[Event] = [DeviceCoupled(now.at, state.number, identity)]
        events += self._log(now, state.number, MbusCode.NEW_DEVICE)
        return state.number, events

    def _install(self, state: Channel, identity: MbusDeviceIdentity, read_period: timedelta = HOUR) -> None:
        if state.identity is not None:
            state.history.append(state.identity)
        state.identity, state.coupled = identity, True
        state.read_period, state.hourly, state.read_slot = read_period, None, None
        state.master, state.comm, state.last_status, state.fresh = None, CommState.OK, 0, False
        state.last_filed_capture, state.poll_hour, state.attempts, state.read_hour = None, None, 0, None
        state.rejected_frames, state.rejected_run = 0, 0
        state.clock = ClockSync.installed()
        self._clear_condition_bits(state.number)

    def _clear_condition_bits(self, channel: int) -> None:
        self.recorder.condition_gone(15 + channel)  # communication error
        self.recorder.condition_gone(19 + channel)  # fraud attempt

    def decouple(self, now: Instant, channel: int) -> list[Event]:
        state = self._coupled(channel)
        state.coupled = False
        self._clear_condition_bits(channel)
        assert state.identity is not None
        return [DeviceDecoupled(now.at, channel, state.identity)]

    def replace(
        self, now: Instant, channel: int, identity: MbusDeviceIdentity, *, read_period: timedelta = HOUR
    ) -> list[Event]:
        state = self.channels[check_channel(channel)]
        if state.identity is None:
            raise CommandRefused(
                f"M-Bus channel {channel} never had a device; couple the new device instead of replacing"
            )
        old = state.identity
        self._install(state, identity, read_period)
        events: list[Event] = [DeviceReplaced(now.at, channel, old, identity)]
        return events + self._log(now, channel, MbusCode.NEW_DEVICE)

    # -- polling --------------------------------------------------------------------------------------

    def polls_due(self, now: Instant) -> list[int]:
        due: list[int] = []
        for x, state in self.channels.items():
            when = state.next_poll(now.meter)
            if when is not None and when <= now.meter:
                due.append(x)
        return due

    def next_poll(self, now: Instant) -> datetime | None:
        """The next meter-clock instant strictly after now at which a poll becomes due."""
        later = [
            when
            for state in self.channels.values()
            if (when := state.next_poll(now.meter)) is not None and when > now.meter
        ]
        for state in self.channels.values():
            if state.coupled:
                later.append(state.slot(now.meter) + state.read_period + POLL_DELAY)
        return min(later) if later else None

    def _count_attempt(self, state: Channel, meter: datetime) -> int:
        slot = state.slot(meter)
        if state.poll_hour != slot:
            state.poll_hour, state.attempts = slot, 0
        state.attempts += 1
        state.last_attempt = meter
        return state.attempts

    def _feed(self, now: Instant, state: Channel, given: CommInput) -> list[Event]:
        state.comm, action = COMM_TRANSITIONS[state.comm, given]
        if action is CommAction.LOG_ERROR:
            return self._log(now, state.number, MbusCode.COMMUNICATION_ERROR)
        if action is CommAction.LOG_OK:
            self.recorder.condition_gone(15 + state.number)
            return self._log(now, state.number, MbusCode.COMMUNICATION_OK)
        return []

    def record_reading(self, now: Instant, channel: int, reading: MbusReading) -> list[Event]:
        state = self._coupled(channel)
        self._count_attempt(state, now.meter)
        state.read_hour, state.read_slot = hour_start(now.meter), state.slot(now.meter)
        restarted = state.comm is CommState.FAILED  # a communication restart: sync the clock (gas_clock)
        events = self._feed(now, state, CommInput.READ_OK)
        capture_utc = as_utc(reading.capture_time)
        local = to_local(capture_utc)  # DSMR-M 4.3.43: converted at reception
        state.master = MasterValue(reading.value_m3, local, reading.status, reading.resolution_m3)
        if not state.per_slot or hour_start(capture_utc) == capture_utc:
            state.hourly = state.master
            if state.last_filed_capture is None or capture_utc > state.last_filed_capture:
                state.fresh = True
        events.append(ReadingReceived(now.at, channel, reading.value_m3, local, reading.status))
        rising = reading.status & ~state.last_status
        for bit, kind in STATUS_EVENTS.items():
            if rising & bit:
                events += self._log(now, channel, kind)
        alarmed = state.last_status & StatusBit.FRAUD_ATTEMPT or state.rejected_run >= REJECTION_ALARM_RUN
        if alarmed and not reading.status & StatusBit.FRAUD_ATTEMPT:
            self.recorder.condition_gone(19 + channel)
        state.last_status, state.rejected_run = reading.status, 0
        state.clock.note_reading(now.local, reading.status, restarted=restarted)
        return events

    def record_failure(self, now: Instant, channel: int, reason: str, *, rejected: bool = False) -> list[Event]:
        """A failed read; ``rejected``: the reply arrived whole and was refused (see the module rules)."""
        state = self._coupled(channel)
        events = self._record_rejection(now, state, reason) if rejected else []
        return events + self._record_failure(now, state, reason)

    def _record_rejection(self, now: Instant, state: Channel, reason: str) -> list[Event]:
        state.rejected_frames += 1
        state.rejected_run += 1
        events: list[Event] = [FrameRejected(now.at, state.number, reason, state.rejected_frames, state.rejected_run)]
        if state.rejected_run == REJECTION_ALARM_RUN:
            events += self._log(now, state.number, MbusCode.FRAUD_ATTEMPT)
        return events

    def _record_failure(self, now: Instant, state: Channel, reason: str) -> list[Event]:
        channel = state.number
        attempt = self._count_attempt(state, now.meter)
        retry_at: datetime | None = now.meter + RETRY_DELAY
        closes = hour_start(now.meter) + CAPTURE_OFFSET
        if state.per_slot:  # the next slot's read is the retry; the hour is lost if none succeeded by xx:06
            retry_at = state.slot(now.meter) + state.read_period + POLL_DELAY
            last_before_close = now.meter < closes <= now.meter + state.read_period
            lost = last_before_close and state.read_hour != hour_start(now.meter)
            given = CommInput.RETRIES_EXHAUSTED if lost else CommInput.READ_FAILED
        elif attempt >= MAX_ATTEMPTS or now.meter + RETRY_DELAY >= closes:
            retry_at, given = None, CommInput.RETRIES_EXHAUSTED
        else:
            given = CommInput.READ_FAILED
        retry_true = None if retry_at is None else now.at + (retry_at - now.meter)
        events: list[Event] = [ReadFailed(now.at, channel, reason, attempt, retry_true)]
        return events + self._feed(now, state, given)

    def command_valve(self, now: Instant, channel: int, action: ValveAction) -> list[Event]:
        self._coupled(channel)
        code = valve_refused_code(channel)
        return self.recorder.record(ValveCommandRefused(now.at, now.local, code, channel, action, VALVE_REFUSAL))

    # -- clock synchronisation and status housekeeping (gas_clock) -------------------------------------

    def clock_changed(self) -> None:
        """The E-meter's clock changed: sync every coupled device at once (DSMR-M 4.5.89)."""
        for state in self.channels.values():
            if state.coupled:
                state.clock.trigger(SyncReason.CLOCK_CHANGE, at_once=True)

    def clock_off(self, channel: int) -> None:
        """A reply was refused only for its time stamp: the device's clock is off; sync it at once."""
        state = self.channels[check_channel(channel)]
        if state.coupled:
            state.clock.trigger(SyncReason.CLOCK_OFF, at_once=True)

    def power_restored(self) -> None:
        """After an M-Bus master breakdown: sync after the next read (DSMR-M 4.5.89)."""
        for state in self.channels.values():
            if state.coupled:
                state.clock.trigger(SyncReason.COMMUNICATION_RESTART, at_once=False)

    def syncs_at_once(self) -> list[int]:
        return [x for x, s in self.channels.items() if s.coupled and s.clock.pending and s.clock.at_once]

    def after_read(self, channel: int) -> list[GasCommand]:
        state = self.channels[check_channel(channel)]
        return state.clock.after_read() if state.coupled else []

    def record_gas_command(self, now: Instant, channel: int, command: GasCommand, failure: str | None) -> list[Event]:
        """The shell sent ``command`` (``failure`` None: acknowledged with E5)."""
        state = self._coupled(channel)
        if failure is not None:
            state.clock.failed(command)
            return [GasCommandFailed(now.at, channel, command, failure)]
        if command is GasCommand.CLEAR_STATUS:
            state.clock.housekeeping = False
            return [GasStatusCleared(now.at, channel, state.last_status)]
        return [GasClockSynchronized(now.at, channel, state.clock.synced(now.local), now.local)]

    # -- capture at xx:11 -----------------------------------------------------------------------------

    def channel_status(self, state: Channel, flags: AmrStatus, clock: datetime) -> AmrStatus:
        status = flags
        if not state.fresh:
            status |= AmrStatus.DNV
        if state.master is not None and state.master.status & StatusBit.PERMANENT_ERROR:
            status |= AmrStatus.ERR
        if state.master is not None and state.master.status & StatusBit.CLOCK_SYNC_ERROR:
            status |= AmrStatus.CAD  # the device's clock was set > 60 s [P2-4.0.7 §6.2.4, P3-4.2.2 §4.2.5]
        return entry_status(status, clock)

    def capture(self, now: Instant, clock: datetime, flags: AmrStatus) -> tuple[list[Event], AmrStatus]:
        """File hour ``clock`` (local xx:00) for every coupled channel; return events and combined status."""
        events: list[Event] = []
        combined = AmrStatus(0)
        for state in self.channels.values():
            if not state.coupled:
                continue
            combined |= self.channel_status(state, flags, clock)
            hourly = state.hourly
            if hourly is None or not state.profile.accepts(clock):
                continue
            status = self.channel_status(state, flags | state.profile.take_pending(), clock)
            entry = HourlyEntry(clock, status, hourly.value_m3, hourly.capture_time)
            state.profile.append(entry)
            state.fresh = False
            state.last_filed_capture = as_utc(hourly.capture_time)
            events.append(ProfileEntryFiled(now.at, state.profile.obis, entry))
        return events, combined
