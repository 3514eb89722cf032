"""The live installation behind ``meterkast run``: one object that implements ``Control`` (issue 5).

``LiveSession`` owns the world (the installation with its random generator, the P1 output stage) and
the ``SimClock``. It moves the world forward on request (``step``), makes the P1 telegrams (with the
faults asked for: CRC errors, truncated telegrams), keeps the recent events and telegrams numbered for
polling, and writes down, per simulated hour, the ground truth beside the gas value the P1 stream
showed. The runner (``runner.py``) decides when to step and what to send; ``store.py`` keeps what the
session hands over (``take_commits``); ``views.py`` shapes what it shows as JSON. Moving time, closing
hours and the commits are ``session_time.SessionTime`` (a part of this class), the telegrams
``p1_output.P1Output``; this module keeps the world, the commands, the replay and the control surface.

Rules this module keeps:
- no I/O and no waiting: the session is called on the event loop thread and returns at once;
- every whole hour on the way is closed in order, whatever the step size (``session_time.py``), so a
  restart that replays time reaches the same state (``replay``);
- what the control surface does to the installation is a command, numbered and kept for the store,
  applied by one function both live and when replaying after a crash;
- a commit never holds events beyond its instant, so a crash loses at most the open hour;
- ``World`` and the commands are pickled (snapshots, stored commands) under this module's name: they stay
  here.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from meterkast.central.model import ConsentLevel
from meterkast.clock import SimClock
from meterkast.cosem.events import MbusCommandReceived, P3Event
from meterkast.dlms import OctetString
from meterkast.errors import CommandRefused, InvalidInput
from meterkast.gasmeter import commands as gas_commands
from meterkast.gasmeter.battery import CAPACITY_NAH
from meterkast.gasmeter.events import ValveAction
from meterkast.gasmeter.events import ValveCommandRefused as GasValveRefused
from meterkast.gasmeter.meter import GasMeter
from meterkast.live.control import JSON, MAX_JUMP_S
from meterkast.live.p1_output import TELEGRAM_WINDOW
from meterkast.live.session_time import EVENT_WINDOW, HOUR_WINDOW, SessionTime
from meterkast.live.store import CommandRecord, Commit, EventRecord, HourRecord
from meterkast.live.views import clock_json, emeter_json, gas_clock_json, gas_meter_json, profile_json
from meterkast.sim.installation import Command as InstallationCommand
from meterkast.sim.installation import (
    Event,
    Installation,
    OperateGasMeter,
    SetMbusUserKey,
    SetP2Fault,
    SetP2WrongKey,
    SynchronizeGasMeterClock,
    TransferMbusKey,
)
from meterkast.sim.p1_source import P1Cipher
from meterkast.sim.scenario import P1FaultWindow
from meterkast.sim.truth import TruthHour

# The window sizes moved with the parts that use them (session_time.py, p1_output.py); other modules import
# them from here too.
__all__ = [
    "EPOCH", "EVENT_WINDOW", "HOUR_WINDOW", "P1_FAULTS", "P2_FAULTS", "STATE_EVENTS", "TELEGRAM_WINDOW",
    "CentralSystemLink", "Command", "FromP3", "Instruct", "LiveSession", "P1Faults", "SetGasTemperature",
    "SetP1Fault", "World",
]

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


class LiveSession(SessionTime):
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
        super().__init__(world, last_seq=last_seq, events=events, hours=hours)
        self.clock = clock
        self.speed = speed
        clock.speed = speed or 0.0
        self.p1_port: int | None = None  # where P1 listens; set by whoever opens it
        self.wake: Callable[[], None] = lambda: None  # the runner's: something changed, look again
        self.cs: CentralSystemLink | None = None  # set by live.cs_link (``run --cs``)
        self._command_seq = last_command

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
        last = self.p1.recent[-1] if self.p1.recent else None
        faults = self.world.p1_faults
        return {
            "clock": clock_json(self.now, self.speed),
            "gas_meter": None if meter is None else gas_meter_json(meter, self.now),
            "emeter": emeter_json(installation),
            "gas_clock": gas_clock_json(installation),
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
        return [dict(t) for t in self.p1.recent if t["seq"] > after_seq]

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
        if seconds > MAX_JUMP_S:
            raise InvalidInput(f"seconds {seconds:g} is more than 31 days ({MAX_JUMP_S}): the installation catches up "
                               "at once, on the server's loop; jump in steps, or run with --speed max --until")
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
        differ. ``synchronize_clock`` (method 5) makes the E-meter sync that gas meter's clock over P2 now
        (P2-4.0.7 §6.2.1). The other class 72 methods are not modelled on P2 yet and are only logged.
        """
        if isinstance(event, MbusCommandReceived) and event.method == "synchronize_clock":
            self._execute(FromP3(SynchronizeGasMeterClock(event.channel)))
            return
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
