"""The installation in a meter cupboard: households → gas meters → P2 link → E-meter, on injected time.

SYSTEM G5, E1, E3, E4, M3; DSMR-M 4.5.5 (the E-meter reads each gas meter once an hour), DSMR-M 4.5.6 (it
files the value at 11 minutes past the hour), DSMR-M 4.3.43 (UTC capture time → local time at reception).

One object ties the device models together. ``advance(now)`` runs everything to ``now`` and returns
what happened: the E-meter's events as they are, the gas meters' wrapped in ``GasMeterEvent`` (which
channel, which meter), and ``CommandFailed`` for a scheduled command the devices refused. Inside, time
moves in steps that end at every instant where something happens: a household flow change, the start of
an hour (next hour's flow plans, electricity load, ground-truth row), a scheduled command, and each
E-meter deadline (capture instants, M-Bus polls). At each poll the E-meter says which channels are due
(``polls_due``, first read at xx:01, one retry) and the installation reads them through its ``GasLink``.

Gas supplies (SYSTEM M3): supply 1 is the house's own gas line with its household; ``AddGasMeter`` adds
another line (a second dwelling or a workshop with its own household) whose meter the E-meter couples on
the first free channel, so channels 1–4 follow the order of installation. Commands aimed at a gas meter
take ``channel`` (None: supply 1's meter). What a command does to the meters and the M-Bus/P2 link, and the
E-meter's reads over that link, are ``installation_wiring.Wiring``, a part of this class; this module keeps
the world and its time (households, hours, electricity load, ground truth, the command timeline).

Rules this module keeps:
- time only enters as ``now`` (aware, never backwards); nothing here reads a clock or draws randomness
  except through the injected ``rng`` (new gas meters' keys and access numbers, new households) and the
  plans;
- results do not depend on how the caller slices time: every internal instant is visited, and the flow
  and load plans are consumed hour by hour in order (tested with one big step against many small ones);
- the households keep using gas whatever happens to the meters: while no gas meter is coupled the plan is
  still consumed, and ``truth`` (:class:`~meterkast.sim.truth.GroundTruth`) counts what really flowed;
- a replaced gas meter starts with the flow of the one it replaces, on the same channel; the E-meter
  logs the replacement (event 105) and the channel shows no value until the new meter's first read;
- a scheduled command the devices refuse (``CommandRefused``: power is down, no meter on that channel,
  a fifth M-Bus device) becomes a ``CommandFailed`` event and the run goes on; ``handle`` raises instead;
- everything stored is plain data or a bound method of plain data, so an installation pickles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meterkast.emeter.emeter import EMeter
from meterkast.emeter.events import Event as EMeterEvent
from meterkast.errors import ClockError, CommandRefused
from meterkast.gasmeter import commands as gas_commands
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import METROLOGY, MeterType
from meterkast.gasmeter.variant import GasMeterVariant
from meterkast.randomness import RandomSource
from meterkast.sim.electricity import ElectricityUse, LoadStep
from meterkast.sim.gaslink import DirectGasLink, GasLink, GasMeterEvent
from meterkast.sim.household import FlowStep, Household, HouseholdConfig
from meterkast.sim.installation_commands import (
    P2_FAULT_KINDS,
    AddGasMeter,
    CoupleGasMeter,
    DecoupleGasMeter,
    DriftGasMeterClock,
    OperateGasMeter,
    PowerDown,
    PowerUp,
    ReplaceGasMeter,
    SendValveCommand,
    SetMbusUserKey,
    SetP2Fault,
    SetP2WrongKey,
    SetTextMessage,
    ShiftEMeterClock,
    SynchronizeGasMeterClock,
    TransferMbusKey,
)
from meterkast.sim.installation_devices import AddSubMeter, DecoupleSubMeter, SubMeterWiring
from meterkast.sim.installation_wiring import Wiring
from meterkast.sim.p2_link import P2GasLink
from meterkast.sim.truth import GroundTruth
from meterkast.sim.weather import WeatherSeries
from meterkast.timeutil import HOUR, microseconds_between, require_utc
from meterkast.units import ZERO

# The commands live in installation_commands.py; other modules import them from here too.
__all__ = [
    "DEFAULT_E_METER", "DEFAULT_GAS_METER", "P2_FAULT_KINDS", "ZONE", "AddGasMeter", "AddSubMeter", "Command",
    "CommandFailed", "CoupleGasMeter", "DecoupleGasMeter", "DecoupleSubMeter", "DriftGasMeterClock", "Event",
    "FlowPlan", "GasSupply", "Installation", "LoadPlan", "OperateGasMeter", "PowerDown", "PowerUp", "ReplaceGasMeter",
    "SendValveCommand", "SetMbusUserKey", "SetP2Fault", "SetP2WrongKey", "SetTextMessage", "ShiftEMeterClock",
    "SynchronizeGasMeterClock", "TransferMbusKey",
]

ZONE = ZoneInfo("Europe/Amsterdam")
DEFAULT_GAS_METER = "G0001123456789012"
DEFAULT_E_METER = "E0031003239456716"

FlowPlan = Callable[[datetime], Sequence[FlowStep]]  # local hour start → steps (seconds into the hour)
LoadPlan = Callable[[datetime], LoadStep]  # local hour start → load from then on


# -- commands (imperative, STYLE 8): the classes are in installation_commands.py -----------------------


Command = (
    ReplaceGasMeter | DecoupleGasMeter | CoupleGasMeter | AddGasMeter | OperateGasMeter | SendValveCommand
    | PowerDown | PowerUp | ShiftEMeterClock | DriftGasMeterClock | SynchronizeGasMeterClock | SetTextMessage
    | SetP2Fault | SetP2WrongKey | TransferMbusKey | SetMbusUserKey | AddSubMeter | DecoupleSubMeter
)  # fmt: skip


# -- events and state ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandFailed:
    """A scheduled command was refused when its time came; the run goes on."""

    at: datetime
    command: Command
    reason: str


Event = EMeterEvent | GasMeterEvent | CommandFailed


@dataclass(eq=False, slots=True)
class GasSupply:
    """One gas line: the household that draws from it, and the meter (if any) that counts it."""

    number: int  # 1, 2, … in order of installation
    plan: FlowPlan | None
    meter: GasMeter | None = None
    channel: int | None = None
    steps: list[tuple[datetime, FlowStep]] = field(default_factory=list)
    flow: FlowStep | None = None


@dataclass(order=True, slots=True)
class _Scheduled:
    at: datetime
    order: int
    command: Command = field(compare=False)


class Installation(Wiring, SubMeterWiring):
    def __init__(
        self,
        emeter: EMeter,
        rng: RandomSource,
        *,
        gas_meter: GasMeter | None = None,
        plan: FlowPlan | None = None,
        load: LoadPlan | None = None,
        link: GasLink | None = None,
        weather: WeatherSeries | None = None,
        sub_meters: Sequence[AddSubMeter] = (),
    ) -> None:
        self.emeter = emeter
        self.link: GasLink = link if link is not None else DirectGasLink()
        if isinstance(self.link, P2GasLink):  # the P2 plausibility window is around the E-meter's clock
            self.link.emeter_clock = self._emeter_clock  # a bound method: the world is pickled
        self.weather = weather
        self.truth = GroundTruth()
        self.supplies: list[GasSupply] = [GasSupply(1, plan)]
        self.sub_meters = {}  # channel → water or heat meter (``installation_devices``)
        self.gas_temp_override_c: Decimal | None = None
        self._rng = rng
        self._load = load
        self._now = emeter.now
        self._next_hour = self._now.replace(minute=0, second=0, microsecond=0)
        self._hour_open: datetime | None = None
        self._scheduled: list[_Scheduled] = []
        self._order = 0
        self._pending: list[Event] = []
        self._saved_keys: dict[int, bytes] = {}
        self._pending += self._install_first(gas_meter, sub_meters)

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
        annual_m3: float | None = None,
        household: HouseholdConfig | None = None,
        annual_kwh: float = 2700.0,
        solar_kwp: float = 0.0,
        initial_index_m3: Decimal = ZERO,
        link: GasLink | None = None,
        weather: WeatherSeries | None = None,
        default_key: bytes | None = None,
        more_gas_meters: Sequence[AddGasMeter] = (),
        sub_meters: Sequence[AddSubMeter] = (),
        gas_variant: GasMeterVariant = GasMeterVariant.DSMR4,
    ) -> Installation:
        """A household with a new gas meter and E-meter, all installed at ``start`` (more meters after it,
        on channels 2, 3, … in order). ``annual_m3`` overrides the household's annual total; ``gas_variant``
        makes every gas meter of the installation a DSMR 4 (hourly) or SMR 5 (5-minute) one (issue 11 item 9)."""
        start = require_utc(start, "start")
        gas = GasMeter.manufacture(
            meter_type, gas_meter_number, start, rng, initial_index_m3=initial_index_m3, default_key=default_key
        )
        gas.variant = gas_variant
        config = household or HouseholdConfig()
        if annual_m3 is not None:
            config = replace(config, annual_m3=annual_m3)
        metrology = gas.metrology
        house = Household(
            rng, config, max_flow_m3h=float(metrology.qmax_m3h), min_flow_m3h=float(metrology.qmin_m3h), weather=weather
        )
        electricity = ElectricityUse(rng, annual_kwh=annual_kwh, solar_kwp=solar_kwp, phases=phases)
        emeter = EMeter(e_meter_id, start, phases=phases)
        installation = cls(
            emeter, rng, gas_meter=gas, plan=house.plan, load=electricity.load, link=link, weather=weather,
            sub_meters=sub_meters,
        )
        installation.gas_variant = gas_variant
        for command in more_gas_meters:
            installation._pending += installation._add(command)
        return installation

    # -- queries -------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def gas_meter(self) -> GasMeter | None:
        """Supply 1's gas meter (the house's own)."""
        return self.supplies[0].meter

    @property
    def gas_channel(self) -> int | None:
        return self.supplies[0].channel

    def gas_meters(self) -> dict[int, GasMeter]:
        """Every coupled gas meter by channel."""
        return {s.channel: s.meter for s in self.supplies if s.meter is not None and s.channel is not None}

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
        """Advance to ``now``, then carry out ``command`` (a refusal raises ``CommandRefused``)."""
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

    def set_gas_temperature(self, now: datetime, celsius: Decimal | None) -> list[Event]:
        """Override every household's gas temperature (None: back to the households'); truth follows."""
        events = self.advance(now)
        self.gas_temp_override_c = celsius
        for supply in self.supplies:
            if supply.flow is not None:
                self._set_flow(supply, supply.flow, events)
        return events

    def _next_internal(self) -> datetime:
        candidates = [self._next_hour, self.emeter.next_deadline()]
        candidates += [supply.steps[0][0] for supply in self.supplies if supply.steps]
        if self._scheduled:
            candidates.append(self._scheduled[0].at)
        return min(candidates)

    def _gas_temp(self, step: FlowStep) -> Decimal:
        return self.gas_temp_override_c if self.gas_temp_override_c is not None else step.gas_temp_c

    def _move(self, moment: datetime, events: list[Event]) -> None:
        duration_us = microseconds_between(self._now, moment)
        for supply in self.supplies:
            if supply.flow is not None:
                self.truth.add_flow(supply.number, supply.flow.flow_m3h, self._gas_temp(supply.flow), duration_us)
            if supply.meter is not None and supply.channel is not None:
                events += self._wrap(supply, supply.meter.advance(moment))
        self._advance_sub_meters(moment)
        events += self.emeter.advance(moment)
        self._now = moment

    def _run_due(self, events: list[Event]) -> None:
        """Everything that is due at ``self._now``, in a fixed order: hour, flows, commands, polls."""
        now = self._now
        if now >= self._next_hour:
            self._start_hour(self._next_hour, events)
        for supply in self.supplies:
            due = [step for at, step in supply.steps if at <= now]
            if due:
                supply.steps = [(at, step) for at, step in supply.steps if at > now]
                self._set_flow(supply, due[-1], events)
        while self._scheduled and self._scheduled[0].at <= now:
            command = self._scheduled.pop(0).command
            try:
                events += self._apply(command)
            except CommandRefused as exc:
                events.append(CommandFailed(now, command, str(exc)))
        for channel in self.emeter.polls_due(now):
            events += self._read(channel)
        events += self._gas_commands_at_once()  # clock syncs after a clock change (emeter.gas_clock)

    def _start_hour(self, hour: datetime, events: list[Event]) -> None:
        if self._hour_open is not None:
            self._close_hour(self._hour_open)
        self._hour_open = hour
        local = hour.astimezone(ZONE)
        self._next_hour = hour + HOUR
        for supply in self.supplies:
            if supply.plan is not None:
                supply.steps = [(hour + timedelta(seconds=s.offset_s), s) for s in supply.plan(local)]
        if self._load is not None:
            step = self._load(local)
            events += self.emeter.set_load(self._now, step.import_w, step.export_w, step.voltage_v)

    def _close_hour(self, hour: datetime) -> None:
        for supply in self.supplies:
            meter = supply.meter
            self.truth.close_hour(
                hour,
                supply.number,
                index_m3=meter.index_m3 if meter is not None else None,
                meter_number=str(meter.meter_number) if meter is not None else None,
                channel=supply.channel,
            )

    def _set_flow(self, supply: GasSupply, step: FlowStep, events: list[Event]) -> None:
        supply.flow = step
        if supply.meter is not None:
            command = gas_commands.SetFlow(step.flow_m3h, self._gas_temp(step))
            events += self._wrap(supply, supply.meter.handle(self._now, command))

    # -- a new gas line (SYSTEM M3) ------------------------------------------------------------------

    def _add(self, command: AddGasMeter) -> list[Event]:
        supply = GasSupply(len(self.supplies) + 1, None)
        if command.household is not None:
            metrology = METROLOGY[command.meter_type]
            house = Household(
                self._rng,
                command.household,
                max_flow_m3h=float(metrology.qmax_m3h),
                min_flow_m3h=float(metrology.qmin_m3h),
                weather=self.weather,
            )
            supply.plan = house.plan
        meter = self._manufacture(
            supply, command.meter_type, command.meter_number, command.initial_index_m3, command.default_key
        )
        if command.variant is not None:  # before the meter first advances (its supply has no flow yet)
            meter.variant = command.variant
        events = self._couple(supply, meter)
        self.supplies.append(supply)
        return events
