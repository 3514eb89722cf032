"""The installation in a meter cupboard: household → gas meter → P2 link → E-meter, on injected time.

SYSTEM G5, E1, E3, M3; DSMR-M 4.5.5 (the E-meter reads each gas meter once an hour), DSMR-M 4.5.6 (it
files the value at 11 minutes past the hour), DSMR-M 4.3.43 (UTC capture time → local time at reception).

One object ties the device models together. ``advance(now)`` runs everything to ``now`` and returns
what happened: the E-meter's events as they are, and the gas meter's wrapped in ``GasMeterEvent``
(which channel, which meter). Inside, time moves in steps that end at every instant where something
happens: a household flow change, the start of an hour (next hour's flow plan and electricity load), a
scheduled command, and each E-meter deadline (capture instants, M-Bus polls). At each poll the E-meter
says which channels are due (``polls_due``, first read at xx:01, one retry) and the installation reads
them through its ``GasLink``, reporting the reading or the failure back.

Rules this module keeps:
- time only enters as ``now`` (aware, never backwards); nothing here reads a clock or draws randomness
  except through the injected ``rng`` (new gas meters' keys and access numbers) and the plans;
- results do not depend on how the caller slices time: every internal instant is visited, and the flow
  and load plans are consumed hour by hour in order (tested with one big step against many small ones);
- the household keeps using gas whatever happens to the meter: while no gas meter is coupled the plan is
  still consumed (so a scenario with a decoupling draws the same random numbers as one without);
- a replaced gas meter starts with the flow of the one it replaces, on the same channel; the E-meter
  logs the replacement (event 105) and the channel shows no value until the new meter's first read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterkast.emeter.emeter import EMeter
from meterkast.emeter.events import Event as EMeterEvent
from meterkast.emeter.readings import MbusDeviceIdentity
from meterkast.errors import ClockError, CommandRefused, LinkError
from meterkast.gasmeter import commands as gas_commands
from meterkast.gasmeter.events import Event as GasEvent
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.randomness import RandomSource
from meterkast.sim.electricity import ElectricityUse, LoadStep
from meterkast.sim.gaslink import DirectGasLink, GasLink, GasMeterEvent
from meterkast.sim.household import FlowStep, Household
from meterkast.timeutil import HOUR, require_utc
from meterkast.units import ZERO

ZONE = ZoneInfo("Europe/Amsterdam")
DEFAULT_GAS_METER = "G0001123456789012"
DEFAULT_E_METER = "E0031003239456716"

Event = EMeterEvent | GasMeterEvent
FlowPlan = Callable[[datetime], Sequence[FlowStep]]  # local hour start → steps (seconds into the hour)
LoadPlan = Callable[[datetime], LoadStep]  # local hour start → load from then on


# -- commands (imperative, STYLE 8) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplaceGasMeter:
    """The grid operator swaps the gas meter: a new meter (new equipment id) on the same channel."""

    meter_number: str
    meter_type: MeterType | None = None  # None: the same type as the old meter
    initial_index_m3: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class DecoupleGasMeter:
    """The gas meter is decoupled from the E-meter (and no longer driven by the household)."""


@dataclass(frozen=True, slots=True)
class CoupleGasMeter:
    """A gas meter is installed and coupled on the first free channel (SYSTEM M3)."""

    meter_number: str
    meter_type: MeterType = MeterType.G4
    initial_index_m3: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OperateGasMeter:
    """Something done to the gas meter itself (press its button, break its seal, drain its battery)."""

    command: gas_commands.Command


Command = ReplaceGasMeter | DecoupleGasMeter | CoupleGasMeter | OperateGasMeter


@dataclass(order=True, slots=True)
class _Scheduled:
    at: datetime
    order: int
    command: Command = field(compare=False)


class Installation:
    def __init__(
        self,
        emeter: EMeter,
        rng: RandomSource,
        *,
        gas_meter: GasMeter | None = None,
        plan: FlowPlan | None = None,
        load: LoadPlan | None = None,
        link: GasLink | None = None,
    ) -> None:
        self.emeter = emeter
        self.link: GasLink = link if link is not None else DirectGasLink()
        self._rng = rng
        self._plan = plan
        self._load = load
        self._now = emeter.now
        self._next_hour = self._now.replace(minute=0, second=0, microsecond=0)
        self._steps: list[tuple[datetime, FlowStep]] = []
        self._flow: FlowStep | None = None
        self._scheduled: list[_Scheduled] = []
        self._order = 0
        self._pending: list[Event] = []
        self.gas_meter: GasMeter | None = None
        self.gas_channel: int | None = None
        if gas_meter is not None:
            self._pending += self._couple(gas_meter)

    @classmethod
    def build(
        cls,
        start: datetime,
        rng: RandomSource,
        *,
        meter_type: MeterType = MeterType.G4,
        gas_meter_number: str = DEFAULT_GAS_METER,
        e_meter_id: str = DEFAULT_E_METER,
        phases: int = 1,
        annual_m3: float = 1200.0,
        annual_kwh: float = 2700.0,
        solar_kwp: float = 0.0,
        initial_index_m3: Decimal = ZERO,
        link: GasLink | None = None,
    ) -> Installation:
        """A typical household with a new gas meter and E-meter, both installed at ``start``."""
        start = require_utc(start, "start")
        gas = GasMeter.manufacture(meter_type, gas_meter_number, start, rng, initial_index_m3=initial_index_m3)
        household = Household(rng, annual_m3=annual_m3, max_flow_m3h=float(gas.metrology.qmax_m3h))
        electricity = ElectricityUse(rng, annual_kwh=annual_kwh, solar_kwp=solar_kwp, phases=phases)
        emeter = EMeter(e_meter_id, start, phases=phases)
        return cls(emeter, rng, gas_meter=gas, plan=household.plan, load=electricity.load, link=link)

    # -- queries -------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    def next_deadline(self) -> datetime:
        """The next instant at which something in the installation happens on its own."""
        return max(self._now, self._next_internal())

    # -- time ----------------------------------------------------------------------------------------

    def advance(self, now: datetime) -> list[Event]:
        now = require_utc(now)
        if now < self._now:
            raise ClockError(
                f"installation time cannot go back from {self._now.isoformat()} to {now.isoformat()}"
            )
        events, self._pending = self._pending, []
        while True:
            self._run_due(events)
            step = min(now, self._next_internal())
            if step <= self._now:
                return events
            self._move(step, events)

    def handle(self, now: datetime, command: Command) -> list[Event]:
        """Advance to ``now``, then carry out ``command``."""
        events = self.advance(now)
        events += self._apply(command)
        self._run_due(events)  # a new meter may be due for a read at once
        return events

    def schedule(self, at: datetime, command: Command) -> None:
        """Carry out ``command`` when time reaches ``at`` (during a later ``advance``)."""
        at = require_utc(at, "scheduled time")
        if at < self._now:
            raise ClockError(f"cannot schedule at {at.isoformat()}: it is before now ({self._now.isoformat()})")
        self._order += 1
        self._scheduled.append(_Scheduled(at, self._order, command))
        self._scheduled.sort()

    def _next_internal(self) -> datetime:
        candidates = [self._next_hour, self.emeter.next_deadline()]
        if self._steps:
            candidates.append(self._steps[0][0])
        if self._scheduled:
            candidates.append(self._scheduled[0].at)
        return min(candidates)

    def _move(self, moment: datetime, events: list[Event]) -> None:
        if self.gas_meter is not None and self.gas_channel is not None:
            events += self._wrap(self.gas_meter.advance(moment))
        events += self.emeter.advance(moment)
        self._now = moment

    def _run_due(self, events: list[Event]) -> None:
        """Everything that is due at ``self._now``, in a fixed order: plans, flow, commands, polls."""
        now = self._now
        if now >= self._next_hour:
            self._start_hour(self._next_hour, events)
        due = [step for at, step in self._steps if at <= now]
        if due:
            self._steps = [(at, step) for at, step in self._steps if at > now]
            self._set_flow(due[-1], events)
        while self._scheduled and self._scheduled[0].at <= now:
            events += self._apply(self._scheduled.pop(0).command)
        for channel in self.emeter.polls_due(now):
            events += self._read(channel)

    def _start_hour(self, hour: datetime, events: list[Event]) -> None:
        local = hour.astimezone(ZONE)
        self._next_hour = hour + HOUR
        if self._plan is not None:
            self._steps = [(hour + timedelta(seconds=s.offset_s), s) for s in self._plan(local)]
        if self._load is not None:
            step = self._load(local)
            events += self.emeter.set_load(self._now, step.import_w, step.export_w, step.voltage_v)

    def _set_flow(self, step: FlowStep, events: list[Event]) -> None:
        self._flow = step
        if self.gas_meter is not None:
            command = gas_commands.SetFlow(step.flow_m3h, step.gas_temp_c)
            events += self._wrap(self.gas_meter.handle(self._now, command))

    def _read(self, channel: int) -> list[Event]:
        events: list[Event] = []
        try:
            reading = self.link.read(self._now, channel)
        except LinkError as exc:
            events += self.link.take_events()
            events += self.emeter.record_read_failure(self._now, channel, str(exc))
            return events
        events += self.link.take_events()
        events += self.emeter.record_reading(self._now, channel, reading)
        return events

    def _wrap(self, gas_events: Sequence[GasEvent]) -> list[Event]:
        meter, channel = self.gas_meter, self.gas_channel
        assert meter is not None and channel is not None
        number = str(meter.meter_number)
        return [GasMeterEvent(event.at, channel, number, event) for event in gas_events]

    # -- commands ------------------------------------------------------------------------------------

    def _apply(self, command: Command) -> list[Event]:
        if isinstance(command, ReplaceGasMeter):
            return self._replace(command)
        if isinstance(command, DecoupleGasMeter):
            return self._decouple()
        if isinstance(command, CoupleGasMeter):
            meter = self._manufacture(command.meter_type, command.meter_number, command.initial_index_m3)
            return self._couple(meter)
        return self._operate(command)

    def _manufacture(self, meter_type: MeterType, number: str, index_m3: Decimal) -> GasMeter:
        meter = GasMeter.manufacture(meter_type, number, self._now, self._rng, initial_index_m3=index_m3)
        if self._flow is not None:
            meter.handle(self._now, gas_commands.SetFlow(self._flow.flow_m3h, self._flow.gas_temp_c))
        return meter

    def _couple(self, meter: GasMeter) -> list[Event]:
        if self.gas_meter is not None:
            raise CommandRefused(
                f"gas meter {self.gas_meter.meter_number} is still coupled on channel {self.gas_channel}; "
                "replace or decouple it first"
            )
        meter.advance(self._now)
        identity = MbusDeviceIdentity.for_meter_number(str(meter.meter_number))
        channel, events = self.emeter.couple(self._now, identity)
        self.gas_meter, self.gas_channel = meter, channel
        self.link.attach(channel, meter)
        return list(events)

    def _replace(self, command: ReplaceGasMeter) -> list[Event]:
        old, channel = self._require_gas_meter("replace")
        meter_type = command.meter_type if command.meter_type is not None else old.meter_type
        new = self._manufacture(meter_type, command.meter_number, command.initial_index_m3)
        identity = MbusDeviceIdentity.for_meter_number(str(new.meter_number))
        events: list[Event] = []
        events += self.emeter.replace(self._now, channel, identity)
        self.link.detach(channel)
        self.gas_meter = new
        self.link.attach(channel, new)
        return events

    def _decouple(self) -> list[Event]:
        _, channel = self._require_gas_meter("decouple")
        events: list[Event] = []
        events += self.emeter.decouple(self._now, channel)
        self.link.detach(channel)
        self.gas_meter, self.gas_channel = None, None
        return events

    def _operate(self, command: OperateGasMeter) -> list[Event]:
        meter, _ = self._require_gas_meter("operate")
        return self._wrap(meter.handle(self._now, command.command))

    def _require_gas_meter(self, what: str) -> tuple[GasMeter, int]:
        if self.gas_meter is None or self.gas_channel is None:
            raise CommandRefused(f"cannot {what} the gas meter: none is coupled; couple one first")
        return self.gas_meter, self.gas_channel
