"""The live installation behind ``meterkast run``: one object that implements ``Control`` (issue 5).

``LiveSession`` owns the world (the installation with its random generator, the P1 output stage) and
the ``SimClock``. It moves the world forward on request (``step``), makes the P1 telegrams (with the
faults asked for: CRC errors, truncated telegrams), keeps the recent events and telegrams numbered for
polling, and writes down, per simulated hour, the ground truth beside the gas value the P1 stream
showed. The runner (``runner.py``) decides when to step and what to send; ``store.py`` keeps what the
session hands over (``take_commits``); ``views.py`` shapes what it shows as JSON.

Rules this module keeps:
- no I/O and no waiting: the session is called on the event loop thread and returns at once;
- every whole hour on the way is closed in order, whatever the step size: the world advances to
  xx:00:00, the telegram of that instant is made (it shows the previous hour's gas value, which the
  E-meter read at xx:01 [DSMR-M 4.5.5]), and the previous hour's record is finalised. Results do not
  depend on how time is sliced, so a restart that replays time reaches the same state (``restore``);
- what the control surface does to the installation is a command, numbered and kept for the store,
  applied by one function both live and when replaying after a crash;
- a commit never holds events beyond its instant: what happened after the last whole hour stays open
  until the next one (or until ``take_all`` at a clean stop), so a crash loses at most that hour.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from meterkast.central.model import ConsentLevel
from meterkast.clock import SimClock
from meterkast.cosem.events import MbusCommandReceived, P3Event
from meterkast.dlms import OctetString
from meterkast.errors import CodecError, CommandRefused, InvalidInput
from meterkast.gasmeter import commands as gas_commands
from meterkast.gasmeter.battery import CAPACITY_NAH
from meterkast.gasmeter.events import ValveAction
from meterkast.gasmeter.events import ValveCommandRefused as GasValveRefused
from meterkast.gasmeter.meter import GasMeter
from meterkast.live.control import JSON
from meterkast.live.store import CommandRecord, Commit, EventRecord, HourRecord
from meterkast.live.views import clock_json, emeter_json, event_record, gas_meter_json, profile_json
from meterkast.p1.decode import decode_telegram
from meterkast.p1.encode import encode_telegram
from meterkast.p1.values import CapturedValue
from meterkast.sim.installation import Command as InstallationCommand
from meterkast.sim.installation import (
    Event,
    Installation,
    OperateGasMeter,
    SetMbusUserKey,
    SetP2Fault,
    SetP2WrongKey,
    TransferMbusKey,
)
from meterkast.sim.p1_source import P1Cipher, P1Port, telegram_data
from meterkast.sim.scenario import P1FaultKind, P1FaultWindow
from meterkast.sim.truth import TruthHour
from meterkast.timeutil import HOUR, next_whole_hour

EVENT_WINDOW = 1000  # events kept for polling (the store keeps them all)
TELEGRAM_WINDOW = 200
HOUR_WINDOW = 24 * 400  # the web API asks for up to 400 days of hours
STATE_EVENTS = 50
P1_FAULTS = ("p1_crc_error", "p1_truncate")
P2_FAULTS = ("p2_no_reply", "p2_flip_bit", "p2_wrong_key")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- the world: everything a snapshot holds -------------------------------------------------------------


@dataclass(slots=True)
class P1Faults:
    """Probabilities per telegram."""

    crc_error: float = 0.0
    truncate: float = 0.0


@dataclass(slots=True)
class World:
    installation: Installation
    rng: random.Random  # the installation's (household, P2 bus faults, new keys)
    p1_version: str
    p1_faults: P1Faults  # set through the control surface, on all the time
    fault_rng: random.Random  # the P1 output stage's own, so P1 faults never change the installation
    p1_windows: tuple[P1FaultWindow, ...] = ()  # a scenario's P1 faults, each for a while
    cipher: P1Cipher | None = None  # AES-GCM frames around each telegram (a scenario's P1 keys)
    p1_seen: dict[datetime, Decimal] = field(default_factory=dict)  # capture hour → value the P1 showed
    first_hour: datetime = field(default=EPOCH)  # the first hour with a record: the run's start hour
    truth_pending: TruthHour | None = None  # the last truth row, until the P1 has shown its end index


# -- commands (imperative, STYLE 8): what the control surface does, replayable ---------------------------


@dataclass(frozen=True, slots=True)
class Instruct:
    """Hand a command to the installation (press the button, a P2 fault, ...)."""

    command: InstallationCommand


@dataclass(frozen=True, slots=True)
class SetGasTemperature:
    celsius: Decimal | None


@dataclass(frozen=True, slots=True)
class SetP1Fault:
    kind: str  # one of P1_FAULTS
    probability: float


@dataclass(frozen=True, slots=True)
class FromP3:
    """An installation command the central system gave over P3: carried out now, a refusal is an event."""

    command: InstallationCommand


Command = Instruct | SetGasTemperature | SetP1Fault | FromP3


class CentralSystemLink(Protocol):
    """The central system next to the installation, as the session sees it (``live.cs_link.CsLink``)."""

    def status(self) -> JSON: ...

    def set_consent(self, level: ConsentLevel) -> JSON: ...


# -- the session -------------------------------------------------------------------------------------------


class LiveSession:
    def __init__(
        self,
        world: World,
        clock: SimClock,
        speed: float | None,
        *,
        last_seq: int = 0,
        last_command: int = 0,
        events: Sequence[EventRecord] = (),
        hours: Sequence[HourRecord] = (),
    ) -> None:
        self.world = world
        self.clock = clock
        self.speed = speed
        clock.speed = speed or 0.0
        self.port = P1Port(world.installation, world.p1_version)  # the telegram grid
        self.p1_port: int | None = None  # where P1 listens; set by whoever opens it
        self.wake: Callable[[], None] = lambda: None  # the runner's: something changed, look again
        self.cs: CentralSystemLink | None = None  # set by live.cs_link (``run --cs``)
        self._seq = last_seq
        self._command_seq = last_command
        self._telegram_seq = 0
        self._events: deque[EventRecord] = deque(events, EVENT_WINDOW)
        self._telegrams: deque[JSON] = deque(maxlen=TELEGRAM_WINDOW)
        self._hours: deque[HourRecord] = deque(hours, HOUR_WINDOW)
        self._open = Commit(world.installation.now)
        self._closed: list[Commit] = []
        self.telegrams_made = 0
        self.telegrams_dropped = 0
        self.replaying = False

    @property
    def installation(self) -> Installation:
        return self.world.installation

    @property
    def now(self) -> datetime:
        return self.world.installation.now

    # -- time --------------------------------------------------------------------------------------------

    def step(self, moment: datetime, *, telegram: bool = False) -> list[bytes]:
        """Run to ``moment``, closing every whole hour on the way; return the telegrams made.

        Those are the telegram of each whole hour passed and, with ``telegram``, the one at ``moment``.
        """
        made: list[bytes] = []
        while (hour := next_whole_hour(self.now)) <= moment:
            self._advance(hour)
            data = self._telegram(hour)
            made += [data] if data is not None else []
            self._close_hour(hour)
        if moment > self.now:
            self._advance(moment)
            if telegram and (data := self._telegram(moment)) is not None:
                made.append(data)
        return made

    def next_telegram_at(self) -> datetime:
        return self.port.next_telegram_at(self.now)

    def is_telegram_instant(self, moment: datetime) -> bool:
        return self.port.next_telegram_at(moment - timedelta(microseconds=1)) == moment

    def _advance(self, moment: datetime) -> None:
        self._record(self.installation.advance(moment))

    def _record(self, events: Sequence[Event]) -> list[EventRecord]:
        if self.replaying:
            return []  # stored before the crash
        records = []
        for event in events:
            self._seq += 1
            record = event_record(self._seq, event)
            self._open.events.append(record)
            self._events.append(record)
            records.append(record)
        return records

    def _close_hour(self, hour: datetime) -> None:
        """At ``hour``: finalise the record of the hour that ended one hour ago, and close a commit here.

        The record of the hour [S, S+1h) sets the truth's index at S+1h beside the gas value that the
        P1 stream showed with capture time S+1h; telegrams show it from S+1h+1min up to and including
        the one at S+2h, so the record is complete only now (S = ``hour`` − 2 h).
        """
        world = self.world
        newest = self.installation.truth.last()
        pending, world.truth_pending = world.truth_pending, newest if newest and newest.hour == hour - HOUR else None
        shown = world.p1_seen.pop(hour - HOUR, None)
        for old in [t for t in world.p1_seen if t < hour - HOUR]:
            del world.p1_seen[old]
        start = hour - 2 * HOUR
        record = None
        if start >= world.first_hour:
            consumed, index = (None, None) if pending is None else (pending.consumed_m3, pending.index_m3)
            record = HourRecord(start, consumed, index, shown)
        if self.replaying:
            return
        if record is not None:
            self._remember(record)
            self._open.hours.append(record)
        self._open.through = hour
        self._closed.append(self._open)
        self._open = Commit(hour)

    # -- the P1 output stage ---------------------------------------------------------------------------

    def _telegram(self, moment: datetime) -> bytes | None:
        """The telegram the port sends at ``moment`` (None: the E-meter is off, or a fault dropped it)."""
        installation, world = self.installation, self.world
        if not installation.emeter.powered:
            return None
        crc_p, truncate_p, drop_p = self._fault_chances(moment)
        rng = world.fault_rng
        if drop_p and rng.random() < drop_p:
            self.telegrams_dropped += 1
            return None
        plain = encode_telegram(telegram_data(installation, self.port.spec), self.port.spec)
        bad_crc = bool(crc_p) and rng.random() < crc_p
        truncated = bool(truncate_p) and rng.random() < truncate_p
        if bad_crc:
            crc = int(plain[-6:-2], 16) ^ (1 + rng.randrange(0xFFFF))
            plain = plain[:-6] + f"{crc:04X}".encode() + b"\r\n"
        elif not truncated:
            self._saw(plain)
        data = plain if world.cipher is None else world.cipher.wrap(plain)
        if truncated:
            data = data[: rng.randrange(1, len(data) - 1)]
            plain = plain if world.cipher is not None else data
        fault = "truncated" if truncated else "crc" if bad_crc else None
        self.telegrams_made += 1
        if not self.replaying:
            self._telegram_seq += 1
            self._telegrams.append({
                "seq": self._telegram_seq, "at": moment.isoformat(), "text": plain.decode("ascii", errors="replace"),
                "crc_ok": None if fault == "truncated" else fault is None, "fault": fault,
                "encrypted": world.cipher is not None,
            })
        return data

    def _fault_chances(self, moment: datetime) -> tuple[float, float, float]:
        """(CRC error, truncation, drop) probabilities for a telegram at ``moment``."""
        faults = self.world.p1_faults
        chances = {P1FaultKind.CRC_ERROR: faults.crc_error, P1FaultKind.TRUNCATE: faults.truncate,
                   P1FaultKind.DROP: 0.0}
        for window in self.world.p1_windows:
            if window.at <= moment < window.until:
                chances[window.kind] = max(chances[window.kind], window.probability)
        return chances[P1FaultKind.CRC_ERROR], chances[P1FaultKind.TRUNCATE], chances[P1FaultKind.DROP]

    def _saw(self, data: bytes) -> None:
        """Note the gas value this telegram shows, by capture hour, as a reader would decode it."""
        channel = self.installation.gas_channel
        if channel is None:
            return
        try:
            device = decode_telegram(data).mbus.get(channel)
        except CodecError as exc:  # our own encoder's output: failing to read it back is a bug
            raise AssertionError(f"a telegram meterkast made does not decode: {exc}") from exc
        reading = None if device is None else device.reading
        if isinstance(reading, CapturedValue) and reading.time is not None:
            captured = reading.time.astimezone(self.now.tzinfo)
            if captured.minute == 0 and captured.second == 0:
                self.world.p1_seen.setdefault(captured, reading.value)

    # -- handing over to the store ---------------------------------------------------------------------

    def take_commits(self) -> list[Commit]:
        """Commits for every whole hour closed since the last call, oldest first."""
        closed, self._closed = self._closed, []
        return closed

    def at_checkpoint(self) -> bool:
        """Is the world exactly at the last closed hour, with nothing open? (A snapshot may be taken.)"""
        return self.now == self._open.through and not self._open.events and not self._open.commands

    def take_all(self) -> list[Commit]:
        """Everything not yet handed over, the open hour included (a clean stop).

        It also carries the hour that ended at the last whole hour, provisionally: its truth is known
        then, but the P1 port shows its value only after it (``_close_hour``), so ``run --until T --stop``
        would otherwise never record the hour that ends at T. The next run's final record replaces it.
        """
        self._open.through = self.now
        self._open.provisional = self._provisional_hour()
        if self._open.provisional is not None:
            self._remember(self._open.provisional)
        closed, self._closed, self._open = [*self._closed, self._open], [], Commit(self.now)
        return closed

    def _provisional_hour(self) -> HourRecord | None:
        world = self.world
        pending = world.truth_pending  # the hour that ended at the last whole hour closed
        if pending is None or pending.hour < world.first_hour:
            return None
        return HourRecord(pending.hour, pending.consumed_m3, pending.index_m3,
                          world.p1_seen.get(pending.hour + HOUR))

    def _remember(self, record: HourRecord) -> None:
        """Keep ``record`` for the API; a final record replaces the provisional one of its hour."""
        if self._hours and self._hours[-1].hour == record.hour:
            self._hours[-1] = record
        else:
            self._hours.append(record)

    # -- restoring ----------------------------------------------------------------------------------------

    def replay(self, commands: Sequence[CommandRecord], through: datetime) -> None:
        """Redo, without recording, what was committed after the snapshot: commands at their instants, then
        time up to ``through``. The simulation is deterministic, so this reaches the committed state."""
        self.replaying = True
        try:
            for record in commands:
                self.step(record.at)
                command = record.command
                if not isinstance(command, Instruct | SetGasTemperature | SetP1Fault | FromP3):
                    raise InvalidInput(f"stored command {record.seq} is not one this meterkast knows: {command!r}")
                self._apply(command)
            self.step(through)
        finally:
            self.replaying = False
        self._open = Commit(self.now)
        self._clock_not_behind()

    def _clock_not_behind(self) -> None:
        """The clock may run ahead of the world (the runner catches up), never behind it."""
        behind = self.now - self.clock.now()
        if behind > timedelta(0):
            self.clock.jump(behind)  # a step, not a target: a running clock cannot overshoot it backwards

    # -- commands ----------------------------------------------------------------------------------------

    def _execute(self, command: Command) -> list[EventRecord]:
        events = self._apply(command)
        self._command_seq += 1
        self._open.commands.append(CommandRecord(self._command_seq, self.now, command))
        return self._record(events)

    def _apply(self, command: Command) -> list[Event]:
        installation = self.installation
        if isinstance(command, Instruct):
            return installation.handle(installation.now, command.command)
        if isinstance(command, SetGasTemperature):
            return installation.set_gas_temperature(installation.now, command.celsius)
        if isinstance(command, FromP3):
            installation.schedule(installation.now, command.command)  # due at once; a refusal is CommandFailed
            return installation.advance(installation.now)
        faults = self.world.p1_faults
        if command.kind == "p1_crc_error":
            faults.crc_error = command.probability
        else:
            faults.truncate = command.probability
        return []

    def _gas_meter(self) -> GasMeter:
        meter = self.installation.gas_meter
        if meter is None:
            raise CommandRefused("no gas meter is coupled; there is nothing to operate")
        return meter

    # -- Control: reading ----------------------------------------------------------------------------------

    def state(self) -> JSON:
        installation = self.installation
        meter = installation.gas_meter
        truth = installation.truth
        newest = truth.last()
        last = self._telegrams[-1] if self._telegrams else None
        faults = self.world.p1_faults
        return {
            "clock": clock_json(self.now, self.speed),
            "gas_meter": None if meter is None else gas_meter_json(meter, self.now),
            "emeter": emeter_json(installation),
            "p1": {
                "version": self.port.spec.name,
                "port": self.p1_port,
                "last_telegram": None if last is None else last["text"],
                "crc_ok": None if last is None else last["crc_ok"],
                "telegrams": self.telegrams_made,
                "faults": {"p1_crc_error": faults.crc_error, "p1_truncate": faults.truncate},
            },
            "truth": {
                "last_hour": None if newest is None
                else {"hour": newest.hour.isoformat(), "consumed_m3": str(newest.consumed_m3)},
                "total_m3": str(truth.total_m3()),
            },
            "events": [e.to_json() for e in reversed(list(self._events)[-STATE_EVENTS:])],
        }

    def profile(self, kind: str, channel: int = 1) -> list[JSON]:
        return profile_json(self.installation.emeter, kind, channel)

    def events(self, after_seq: int = 0) -> list[JSON]:
        return [e.to_json() for e in self._events if e.seq > after_seq]

    def telegrams(self, after_seq: int = 0) -> list[JSON]:
        return [dict(t) for t in self._telegrams if t["seq"] > after_seq]

    def truth(self, hours: int = 48) -> list[JSON]:
        if hours < 1:
            raise InvalidInput(f"hours {hours} must be at least 1")
        return [h.to_json() for h in list(self._hours)[-hours:]]

    def hour_records(self) -> list[HourRecord]:
        return list(self._hours)

    def cs_status(self) -> JSON:
        """The central system next to this installation (``meterkast run --cs``; docs/cs.md), or
        ``{"enabled": false}`` when none runs."""
        return {"enabled": False} if self.cs is None else self.cs.status()

    # -- Control: acting --------------------------------------------------------------------------------

    def press_button(self, hold_s: float) -> JSON:
        if not 0 <= hold_s <= 3600:
            raise InvalidInput(f"hold_s {hold_s} must lie between 0 and 3600 seconds")
        self._gas_meter()
        return self._result(self._execute(_operate(gas_commands.PressButton(Decimal(str(hold_s))))))

    def break_seal(self) -> JSON:
        self._gas_meter()
        return self._result(self._execute(_operate(gas_commands.BreakSeal())))

    def reseal(self, operator: str) -> JSON:
        if not operator.strip():
            raise InvalidInput("reseal needs the grid operator's name; only the grid operator reseals a meter")
        self._gas_meter()
        return self._result(self._execute(_operate(gas_commands.Reseal(operator))))

    def command_valve(self, action: str) -> JSON:
        try:
            valve = ValveAction(action)
        except ValueError:
            raise InvalidInput(f"valve action {action!r} is not one of open, close, release") from None
        self._gas_meter()
        events = self._execute(_operate(gas_commands.CommandValve(valve)))
        reason = next((str(e.detail["reason"]) for e in events if e.kind == GasValveRefused.__name__), None)
        return {**self._result(events), "refused": True, "action": action, "reason": reason}

    def set_gas_temperature(self, celsius: float | None) -> JSON:
        value = None if celsius is None else Decimal(str(celsius))
        if value is not None and not Decimal(-40) <= value <= Decimal(70):
            raise InvalidInput(f"gas temperature {celsius} °C is outside -40…70 °C")
        self._gas_meter()
        result = self._result(self._execute(SetGasTemperature(value)))
        return {**result, "override_c": None if value is None else str(value)}

    def drain_battery(self, fraction: float) -> JSON:
        if not 0 <= fraction <= 1:
            raise InvalidInput(f"fraction {fraction} must lie between 0 and 1 (share of the full capacity)")
        self._gas_meter()
        amount = int(CAPACITY_NAH * Decimal(str(fraction)))
        return self._result(self._execute(_operate(gas_commands.DrainBattery(amount))))

    def set_speed(self, speed: float | None) -> JSON:
        if speed is not None and not speed > 0:
            raise InvalidInput(f"speed {speed} must be above 0 (1 = real time), or null for as fast as possible")
        self._clock_not_behind()
        self.speed = speed
        self.clock.speed = speed or 0.0
        self.wake()
        return {"clock": clock_json(self.now, self.speed)}

    def jump_clock(self, seconds: float) -> JSON:
        if not seconds >= 0:
            raise InvalidInput(f"seconds {seconds} must not be negative: simulated time only moves forward")
        self._clock_not_behind()
        self.step(self.clock.jump(timedelta(seconds=seconds)))
        self.wake()
        return {"clock": clock_json(self.now, self.speed)}

    def inject_fault(self, kind: str, value: float | bool = True) -> JSON:
        if kind not in P1_FAULTS + P2_FAULTS:
            raise InvalidInput(f"fault {kind!r} is not one of {', '.join(P1_FAULTS + P2_FAULTS)}")
        if kind != "p2_wrong_key" and not 0 <= float(value) <= 1:
            raise InvalidInput(f"{kind} is a probability; {value} must lie between 0 and 1")
        if kind in P1_FAULTS:
            command: Command = SetP1Fault(kind, float(value))
        elif kind == "p2_wrong_key":
            command = Instruct(SetP2WrongKey(bool(value)))
        else:
            command = Instruct(SetP2Fault(kind.removeprefix("p2_"), float(value)))
        self._execute(command)
        return {"kind": kind, "value": value, "at": self.now.isoformat()}

    def p3_event(self, event: P3Event) -> None:
        """What the E-meter's P3 server reports (``io.p3_server`` ``on_event``); the P2 key change is acted on.

        ``transfer_key`` and ``set_encryption_key`` (class 72, 0-x:24.1.0) become installation commands, kept
        like any other so a restarted run replays them. The meter already answered success (P3 §3.5: "as soon
        as the command was received"), so a change the installation refuses (no P2 link, no device on the
        channel, the relay lost on the bus) becomes a ``CommandFailed`` event, never an error here; the central
        system sees it as failed gas reads (M-Bus communication error) if the gas meter and the E-meter now
        differ. The other class 72 methods are not modelled on P2 yet and are only logged by the server.
        """
        if not isinstance(event, MbusCommandReceived) or not isinstance(event.parameters, OctetString):
            return
        key = event.parameters.value
        if event.method == "transfer_key":
            self._execute(FromP3(TransferMbusKey(event.channel, key)))
        elif event.method == "set_encryption_key":
            self._execute(FromP3(SetMbusUserKey(event.channel, key)))

    def set_consent(self, level: str) -> JSON:
        """The customer's new consent for the CS, from now on (SYSTEM C2). Not a command of the installation:
        the CS store keeps it, so a restarted run knows it without a replay."""
        try:
            consent = ConsentLevel(level)
        except ValueError:
            known = ", ".join(c.value for c in ConsentLevel)
            raise InvalidInput(f"consent level {level!r} is not one of {known}") from None
        if self.cs is None:
            raise CommandRefused("no central system runs next to this installation; start it with meterkast run --cs")
        return self.cs.set_consent(consent)

    def _result(self, events: Sequence[EventRecord]) -> JSON:
        meter = self.installation.gas_meter
        return {
            "at": self.now.isoformat(),
            "events": [e.to_json() for e in events],
            "gas_meter": None if meter is None else gas_meter_json(meter, self.now),
        }


def _operate(command: gas_commands.Command) -> Instruct:
    return Instruct(OperateGasMeter(command))
