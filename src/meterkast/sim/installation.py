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
take ``channel`` (None: supply 1's meter).

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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from meterkast.emeter.emeter import EMeter
from meterkast.emeter.events import Event as EMeterEvent
from meterkast.emeter.readings import MbusDeviceIdentity
from meterkast.errors import ClockError, CommandRefused, LinkError
from meterkast.gasmeter import commands as gas_commands
from meterkast.gasmeter.events import Event as GasEvent
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import METROLOGY, MeterType
from meterkast.mbus.keys import KEY_SIZE
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
from meterkast.sim.p2_link import P2GasLink, RefusedFrame
from meterkast.sim.truth import GroundTruth
from meterkast.sim.weather import WeatherSeries
from meterkast.timeutil import HOUR, microseconds_between, require_utc
from meterkast.units import ZERO

# The commands live in installation_commands.py; other modules import them from here too.
__all__ = [
    "DEFAULT_E_METER", "DEFAULT_GAS_METER", "P2_FAULT_KINDS", "ZONE", "AddGasMeter", "Command",
    "CommandFailed", "CoupleGasMeter", "DecoupleGasMeter", "DriftGasMeterClock", "Event", "FlowPlan",
    "GasSupply", "Installation", "LoadPlan", "OperateGasMeter", "PowerDown", "PowerUp", "ReplaceGasMeter",
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
    | SetP2Fault | SetP2WrongKey | TransferMbusKey | SetMbusUserKey
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
        weather: WeatherSeries | None = None,
    ) -> None:
        self.emeter = emeter
        self.link: GasLink = link if link is not None else DirectGasLink()
        if isinstance(self.link, P2GasLink):  # the P2 plausibility window is around the E-meter's clock
            self.link.emeter_clock = self._emeter_clock  # a bound method: the world is pickled
        self.weather = weather
        self.truth = GroundTruth()
        self.supplies: list[GasSupply] = [GasSupply(1, plan)]
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
        if gas_meter is not None:
            self._pending += self._couple(self.supplies[0], gas_meter)

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
    ) -> Installation:
        """A household with a new gas meter and E-meter, all installed at ``start`` (more meters after it,
        on channels 2, 3, … in order). ``annual_m3`` overrides the household's annual total."""
        start = require_utc(start, "start")
        gas = GasMeter.manufacture(
            meter_type, gas_meter_number, start, rng, initial_index_m3=initial_index_m3, default_key=default_key
        )
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
            emeter, rng, gas_meter=gas, plan=house.plan, load=electricity.load, link=link, weather=weather
        )
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

    # Transitional: live/session.py wraps supply 1's plan through these two names (from before
    # ``set_gas_temperature`` existed); new code uses ``set_gas_temperature`` and ``supplies``.
    @property
    def _plan(self) -> FlowPlan | None:
        return self.supplies[0].plan

    @_plan.setter
    def _plan(self, plan: FlowPlan | None) -> None:
        self.supplies[0].plan = plan

    @property
    def _steps(self) -> list[tuple[datetime, FlowStep]]:
        return self.supplies[0].steps

    @_steps.setter
    def _steps(self, steps: list[tuple[datetime, FlowStep]]) -> None:
        self.supplies[0].steps = steps

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

    def _emeter_clock(self) -> datetime:
        return self.emeter.meter_time().astimezone(UTC)

    def _read(self, channel: int) -> list[Event]:
        events: list[Event] = []
        try:
            reading = self.link.read(self._now, channel)
        except LinkError as exc:  # a RefusedFrame arrived whole and was refused: the E-meter counts it
            events += self.link.take_events()
            rejected = isinstance(exc, RefusedFrame)
            events += self.emeter.record_read_failure(self._now, channel, str(exc), rejected=rejected)
            return events
        events += self.link.take_events()
        events += self.emeter.record_reading(self._now, channel, reading)
        return events

    def _wrap(self, supply: GasSupply, gas_events: Sequence[GasEvent]) -> list[Event]:
        meter, channel = supply.meter, supply.channel
        assert meter is not None and channel is not None
        number = str(meter.meter_number)
        return [GasMeterEvent(event.at, channel, number, event) for event in gas_events]

    # -- commands ------------------------------------------------------------------------------------

    def _apply(self, command: Command) -> list[Event]:
        match command:
            case ReplaceGasMeter():
                return self._replace(command)
            case DecoupleGasMeter():
                return self._decouple(self._supply_for(command.channel, "decouple"))
            case CoupleGasMeter():
                supply = self.supplies[0]
                self._refuse_if_coupled(supply)
                meter = self._manufacture(
                    supply, command.meter_type, command.meter_number, command.initial_index_m3, command.default_key
                )
                return self._couple(supply, meter)
            case AddGasMeter():
                return self._add(command)
            case OperateGasMeter():
                supply = self._supply_for(command.channel, "operate")
                return self._wrap(supply, self._meter(supply).handle(self._now, command.command))
            case _:
                return self._apply_to_e_meter(command)

    def _apply_to_e_meter(self, command: Command) -> list[Event]:  # noqa: PLR0911 -- one dispatch per command type
        match command:
            case SendValveCommand():
                channel = self._channel(self._supply_for(command.channel, "send a valve command to"))
                return list(self.emeter.command_valve(self._now, channel, command.action))
            case PowerDown():
                return list(self.emeter.power_down(self._now))
            case PowerUp():
                return list(self.emeter.power_up(self._now))
            case ShiftEMeterClock():
                target = self.emeter.meter_time() + timedelta(seconds=command.seconds)
                return list(self.emeter.adjust_clock(self._now, target))
            case DriftGasMeterClock():
                meter = self._meter(self._supply_for(command.channel, "drift the clock of"))
                meter.clock_offset += timedelta(seconds=command.seconds)
                return []
            case SynchronizeGasMeterClock():
                supply = self._supply_for(command.channel, "synchronise the clock of")
                if not self.emeter.powered:
                    raise CommandRefused("clock synchronisation refused: the E-meter is powered down")
                e_time = self.emeter.meter_time().astimezone(UTC)
                sync = gas_commands.SynchronizeClock(e_time)
                return self._wrap(supply, self._meter(supply).handle(self._now, sync))
            case SetTextMessage():
                return list(self.emeter.set_text_message(self._now, command.text, command.code))
            case SetP2Fault():
                link = self._p2_link("inject a P2 fault")
                value: Any = command.probability > 0 if command.kind == "echo" else command.probability
                link.bus.faults = replace(link.bus.faults, **{command.kind: value})
                return []
            case SetP2WrongKey():
                return self._wrong_key(command)
            case TransferMbusKey() | SetMbusUserKey():
                return self._key_change(command)
        raise AssertionError(f"unhandled installation command {command!r}")

    def _manufacture(
        self, supply: GasSupply, meter_type: MeterType, number: str, index_m3: Decimal, key: bytes | None
    ) -> GasMeter:
        meter = GasMeter.manufacture(
            meter_type, number, self._now, self._rng, initial_index_m3=index_m3, default_key=key
        )
        if supply.flow is not None:
            meter.handle(self._now, gas_commands.SetFlow(supply.flow.flow_m3h, self._gas_temp(supply.flow)))
        return meter

    def _refuse_if_coupled(self, supply: GasSupply) -> None:
        if supply.meter is not None:
            raise CommandRefused(
                f"gas meter {supply.meter.meter_number} is still coupled on channel {supply.channel}; "
                "replace or decouple it first"
            )

    def _couple(self, supply: GasSupply, meter: GasMeter) -> list[Event]:
        self._refuse_if_coupled(supply)
        meter.advance(self._now)
        identity = MbusDeviceIdentity.for_meter_number(str(meter.meter_number))
        channel, events = self.emeter.couple(self._now, identity)
        supply.meter, supply.channel = meter, channel
        self.link.attach(channel, meter)
        return list(events)

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
        events = self._couple(supply, meter)
        self.supplies.append(supply)
        return events

    def _replace(self, command: ReplaceGasMeter) -> list[Event]:
        supply = self._supply_for(command.channel, "replace")
        old, channel = self._meter(supply), self._channel(supply)
        meter_type = command.meter_type if command.meter_type is not None else old.meter_type
        new = self._manufacture(supply, meter_type, command.meter_number, command.initial_index_m3, command.default_key)
        identity = MbusDeviceIdentity.for_meter_number(str(new.meter_number))
        events: list[Event] = []
        events += self.emeter.replace(self._now, channel, identity)
        self.link.detach(channel)
        self._saved_keys.pop(channel, None)
        supply.meter = new
        self.link.attach(channel, new)
        return events

    def _decouple(self, supply: GasSupply) -> list[Event]:
        channel = self._channel(supply)
        events: list[Event] = []
        events += self.emeter.decouple(self._now, channel)
        self.link.detach(channel)
        self._saved_keys.pop(channel, None)
        supply.meter, supply.channel = None, None
        return events

    def _wrong_key(self, command: SetP2WrongKey) -> list[Event]:
        link = self._p2_link("give the E-meter a wrong P2 key")
        channel = self._channel(self._supply_for(command.channel, "corrupt the P2 key of"))
        device = link.device(channel)
        if device is None:
            raise CommandRefused(f"no P2 device is installed on channel {channel}")
        if command.wrong and channel not in self._saved_keys:
            self._saved_keys[channel] = device.user_key
            device.user_key = bytes(b ^ 0x5A for b in device.user_key)
        elif not command.wrong and channel in self._saved_keys:
            device.user_key = self._saved_keys.pop(channel)
        return []

    def _key_change(self, command: TransferMbusKey | SetMbusUserKey) -> list[Event]:
        """A P2 key change the central system asked for over P3. A lost relay is refused here (the device keeps
        its old key); a key wrapped with the wrong default key is taken by the device all the same and shows
        as failed reads from then on (P2-4.0.7 §6.5.1 has no check value)."""
        link = self._p2_link("change a P2 key")
        channel = command.channel
        key = command.user_key if isinstance(command, SetMbusUserKey) else command.wrapped
        if len(key) != KEY_SIZE:
            raise CommandRefused(f"cannot change the P2 key on channel {channel}: the key is {len(key)} bytes, "
                                 f"not {KEY_SIZE} (AES-128)")
        if link.device(channel) is None:
            raise CommandRefused(f"cannot change the P2 key on channel {channel}: no P2 device is installed there")
        if isinstance(command, SetMbusUserKey):
            self._saved_keys.pop(channel, None)  # an injected wrong key is overtaken by the new key
            link.set_user_key(channel, command.user_key)
            return []
        if not self.emeter.powered:
            raise CommandRefused(f"cannot relay the new P2 key to channel {channel}: the E-meter is powered down")
        try:
            link.transfer_key(self._now, channel, command.wrapped)
        except LinkError as exc:  # the gas meter's events stay in the link for the next read to hand over
            raise CommandRefused(f"the new P2 key did not reach the gas meter on channel {channel}: {exc}") from exc
        return list(link.take_events())

    def _p2_link(self, what: str) -> P2GasLink:
        if not isinstance(self.link, P2GasLink):
            raise CommandRefused(f"cannot {what}: the installation reads its gas meters directly, not over P2")
        return self.link

    def _supply_for(self, channel: int | None, what: str) -> GasSupply:
        if channel is None:
            supply = self.supplies[0]
            if supply.meter is None:
                raise CommandRefused(f"cannot {what} the gas meter: none is coupled; couple one first")
            return supply
        for supply in self.supplies:
            if supply.meter is not None and supply.channel == channel:
                return supply
        raise CommandRefused(f"cannot {what} the gas meter on channel {channel}: no gas meter is coupled there")

    @staticmethod
    def _meter(supply: GasSupply) -> GasMeter:
        assert supply.meter is not None, "_supply_for only returns supplies with a meter"
        return supply.meter

    @staticmethod
    def _channel(supply: GasSupply) -> int:
        assert supply.channel is not None, "a coupled meter has a channel"
        return supply.channel
