"""The Itron smart gas meter: one sans-I/O, time-injected object (SYSTEM G1–G13).

Rules this module keeps:
- time only enters through ``now`` arguments, which never go backwards (``ClockError``);
- ``advance(now)`` runs the meter up to ``now`` in segments that end at every instant where something
  happens on its own (a whole hour of the meter's clock, a display idle deadline, Dutch local midnight,
  the end of a display lockout), so the
  result is the same however the caller slices time;
- every command first advances to its ``now``, then acts, and returns past-tense events;
- refusals (valve, firmware) are events and entries in ``log``, not exceptions: the meter refuses, it does
  not crash; only bad input and use of a disabled P0 raise ``MeterkastError``s;
- ``next_deadline()`` says when the meter next needs ``advance`` even if nothing else happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from meterkast.errors import ClockError, InvalidInput
from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.battery import COSTS_NAH, Battery, Drain
from meterkast.gasmeter.display import (
    IDLE_S,
    LONG_PRESS_S,
    PRESSES_PER_DAY,
    TRANSITIONS,
    DisplayInput,
    DisplayState,
    LcdFrame,
    is_lit,
    render,
)
from meterkast.gasmeter.display_day import is_local_midnight, lockout_end, next_local_midnight
from meterkast.gasmeter.events import (
    BatteryEmpty,
    BatteryLow,
    BatteryReplaced,
    ClockSynchronized,
    DisplayChanged,
    DisplayLocked,
    Event,
    Fault,
    FaultCleared,
    FaultRaised,
    FirmwarePart,
    FirmwareUpdateRefused,
    HourlyValueStored,
    ReadingChanged,
    RegisterWrapped,
    SealBroken,
    SealRestored,
    StatusBitsCleared,
    ValveCommandRefused,
    ValvePosition,
)
from meterkast.gasmeter.factory import FactoryPort
from meterkast.gasmeter.firmware import REFUSAL, Firmware, default_firmware
from meterkast.gasmeter.identity import MeterNumber
from meterkast.gasmeter.meterclock import DriftingClock, drift_ppb
from meterkast.gasmeter.metrology import METROLOGY, MeterType, is_counted
from meterkast.gasmeter.nameplate import Nameplate, nameplate_for
from meterkast.gasmeter.register import VolumeRegister
from meterkast.gasmeter.variant import FIVE_MINUTES, GasMeterVariant, period_start
from meterkast.randomness import RandomSource
from meterkast.timeutil import microseconds_between, next_whole_hour, require_utc
from meterkast.units import ZERO, to_decimal

LOG_SIZE = 100
CLOCK_SYNC_LIMIT = timedelta(seconds=60)  # [P2-4.0.7 §6.2.1]: status bit 5 above 60 s deviation
CLOCK_SYNC_ERROR_BIT = 1 << 5  # [P2-4.0.7 §6.2.4]
_ONE_US = timedelta(microseconds=1)
GAS_TEMP_RANGE_C = (Decimal(-40), Decimal(70))
_US_PER_HOUR = 3_600_000_000
VALVE_REFUSAL = (
    "valve operation is disabled: since 2015 the E-meter firmware lets no one operate the gas valve "
    "(SYSTEM G12; valve control was removed in DSMR 4.2.2)"
)
LEGAL_VERSION = "1.08"
FUNCTIONAL_VERSION = "2.14"


@dataclass(frozen=True, slots=True)
class HourlyValue:
    """The one value the meter keeps for P2: index at the last whole hour of its clock (UTC)."""

    captured_at: datetime
    index_m3: Decimal


class GasMeter:
    # Issue 11 item 9 (``variant.py``): an SMR 5 meter also stores its register every 5 minutes. Class-level
    # defaults, so meters pickled before the variant existed load as DSMR 4 meters.
    variant: GasMeterVariant = GasMeterVariant.DSMR4
    interval_value: HourlyValue | None = None  # SMR 5: the value of the last 5-minute mark of its clock

    def __init__(
        self,
        meter_type: MeterType,
        factory: FactoryPort,
        now: datetime,
        *,
        access_number: int,
        legal_firmware: Firmware,
        functional_firmware: Firmware,
    ) -> None:
        settings = factory.settings
        self.meter_type = meter_type
        self.metrology = METROLOGY[meter_type]
        self.nameplate: Nameplate = nameplate_for(meter_type, settings.meter_number)
        self.p0 = factory
        self.legal_firmware = legal_firmware
        self.functional_firmware = functional_firmware
        self.access_number = access_number % 256
        self.register = VolumeRegister(self.metrology, initial_m3=settings.initial_index_m3)
        self.battery = Battery()
        self.valve = ValvePosition.OPEN
        self.seal_broken = False
        self.faults: set[Fault] = set()
        self.clock = DriftingClock.exact(now)
        self.clock_sync_error = False
        self._hour_mark = floor_hour(now)  # the last whole hour of the meter's clock it has seen
        self._interval_mark = period_start(now, FIVE_MINUTES)  # SMR 5: the last 5-minute mark it has seen
        self.hourly_value: HourlyValue | None = None
        self.flow_m3h = ZERO
        self.gas_temp_c = Decimal(15)
        self._conversion_temp_c = self.gas_temp_c
        self._now = require_utc(now, "manufacture time")
        self._display = DisplayState.OFF
        self._display_deadline: datetime | None = None
        self._presses_today = 0
        self._locked_until: datetime | None = None
        self._pending_charge = 0  # nAh × µs / h not yet drawn from the battery
        self._log: list[Event] = []
        self._handlers: dict[type, Callable[[Any], list[Event]]] = {
            cmd.SetFlow: self._set_flow,
            cmd.PressButton: self._press,
            cmd.BreakSeal: self._break_seal,
            cmd.Reseal: self._reseal,
            cmd.CommandValve: self._command_valve,
            cmd.UpdateFirmware: self._update_firmware,
            cmd.ReplaceBattery: self._replace_battery,
            cmd.DrainBattery: self._drain_battery,
            cmd.RaiseFault: self._raise_fault,
            cmd.ClearFault: self._clear_fault,
            cmd.SynchronizeClock: self._synchronize_clock,
            cmd.SetClockDrift: self._set_clock_drift,
            cmd.ClearStatusBits: self._clear_status_bits,
        }

    @classmethod
    def manufacture(
        cls,
        meter_type: MeterType,
        meter_number: str,
        now: datetime,
        rng: RandomSource,
        *,
        default_key: bytes | None = None,
        initial_index_m3: Decimal = ZERO,
        legal_version: str = LEGAL_VERSION,
        functional_version: str = FUNCTIONAL_VERSION,
    ) -> GasMeter:
        """Program the meter through P0, disable P0 for good, and return the meter in service."""
        factory = FactoryPort()
        key = default_key if default_key is not None else rng.getrandbits(128).to_bytes(16, "big")
        factory.program(meter_number, key, initial_index_m3)
        factory.disable()
        return cls(
            meter_type,
            factory,
            now,
            # "initialised by a random number" [P2-4.0.7 §4.2.4]
            access_number=rng.randrange(256),
            legal_firmware=default_firmware(FirmwarePart.LEGAL, legal_version),
            functional_firmware=default_firmware(FirmwarePart.FUNCTIONAL, functional_version),
        )

    # -- queries ---------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def meter_number(self) -> MeterNumber:
        return self.p0.settings.meter_number

    @property
    def default_key(self) -> bytes:
        return self.p0.settings.default_key

    @property
    def index_m3(self) -> Decimal:
        return self.register.index_m3

    @property
    def display_state(self) -> DisplayState:
        return self._display

    @property
    def presses_today(self) -> int:
        """Presses in the current Dutch calendar day (the budget restarts at local midnight)."""
        return self._presses_today

    @property
    def display_locked_until(self) -> datetime | None:
        """When a lockout ends (one local day after the press that caused it), or None (SYSTEM G7)."""
        return self._locked_until

    @property
    def log(self) -> tuple[Event, ...]:
        return tuple(self._log)

    @property
    def flowing(self) -> bool:
        return is_counted(self.metrology, self.flow_m3h) and not self.battery.is_empty

    @property
    def alarm(self) -> bool:
        """The error triangle: any error or fraud (SYSTEM G9)."""
        return self.seal_broken or bool(self.faults)

    @property
    def can_communicate(self) -> bool:
        """An empty battery silences P2 (SYSTEM G10)."""
        return not self.battery.is_empty

    def meter_time(self, now: datetime) -> datetime:
        """The meter's own clock, which the E-meter keeps in sync over P2 (``meterclock``)."""
        return self.clock.time_at(now)

    @property
    def clock_offset(self) -> timedelta:
        """The meter's clock minus true time, now: what drift and synchronisation leave."""
        return self.clock.offset_at(self._now)

    @clock_offset.setter
    def clock_offset(self, offset: timedelta) -> None:
        self.clock.set_time(self._now, self._now + offset)

    def frame(self, now: datetime) -> LcdFrame:
        """What the LCD shows at ``now`` (call ``advance(now)`` first so idle deadlines have fired)."""
        return render(
            self._display,
            now=now,
            index_m3=self.index_m3,
            decimals=self.metrology.decimals,
            legal_version=self.legal_firmware.version,
            flowing=self.flowing,
            alarm=self.alarm,
        )

    def status_byte(self) -> int:
        """The P2 status record `01 FD 17 ss` [P2-4.0.7 §6.2.4]."""
        status = 0
        if self.battery.is_low:
            status |= 1 << 2  # power low
        if Fault.TEMPERATURE_SENSOR in self.faults:
            status |= 1 << 3  # permanent error
        if self.clock_sync_error:
            status |= CLOCK_SYNC_ERROR_BIT
        if self.seal_broken or Fault.MAGNETIC_TAMPER in self.faults:
            status |= 1 << 6  # fraud attempt
        return status

    @property
    def p2_value(self) -> HourlyValue | None:
        """The stored value P2 sends: the last whole hour's (DSMR 4), the last 5-minute mark's (SMR 5)."""
        return self.interval_value if self.variant is GasMeterVariant.SMR5 else self.hourly_value

    def next_deadline(self) -> datetime:
        """The next instant at which the meter acts on its own."""
        meter_now = self.meter_time(self._now)
        hour = self.clock.true_time_of(next_whole_hour(meter_now))
        candidates = [max(hour, self._now + _ONE_US), next_local_midnight(self._now)]
        if self.variant is GasMeterVariant.SMR5:
            mark = self.clock.true_time_of(period_start(meter_now, FIVE_MINUTES) + FIVE_MINUTES)
            candidates.append(max(mark, self._now + _ONE_US))
        if self._display_deadline is not None:
            candidates.append(self._display_deadline)
        if self._locked_until is not None:
            candidates.append(self._locked_until)
        return min(candidates)

    # -- time ------------------------------------------------------------------------------------------

    def advance(self, now: datetime) -> list[Event]:
        now = require_utc(now)
        if now < self._now:
            raise ClockError(
                f"meter time cannot go back from {self._now.isoformat()} to {now.isoformat()}"
            )
        events: list[Event] = []
        index_before = self.register.index_m3
        wraps_before = self.register.wraps
        while self._now < now:
            boundary = min(now, self.next_deadline())
            self._run(boundary)
            self._on_instant(boundary, events)
        index_after = self.register.index_m3
        if self.register.wraps != wraps_before:
            events.append(RegisterWrapped(now, index_after))
        if index_after != index_before:
            events.append(ReadingChanged(now, index_after))
        return events

    def handle(self, now: datetime, command: cmd.Command) -> list[Event]:
        """Advance to ``now``, then apply ``command``."""
        events = self.advance(now)
        events.extend(self._handlers[type(command)](command))
        return events

    def note_mbus_exchange(self, now: datetime) -> list[Event]:
        """The P2 slave answered a request: that costs charge (SYSTEM G10)."""
        events = self.advance(now)
        self.battery.draw(Drain.MBUS_EXCHANGE)
        self._check_battery(events)
        return events

    def _run(self, end: datetime) -> None:
        duration_us = microseconds_between(self._now, end)
        if self.battery.is_empty:
            self.register.integrate(self.flow_m3h, self._conversion_temp_c, duration_us, counting=False)
        else:
            cycles = self.register.integrate(self.flow_m3h, self._conversion_temp_c, duration_us)
            rate = COSTS_NAH[Drain.SLEEP_HOUR] + COSTS_NAH[Drain.TEMPERATURE_HOUR]
            if is_lit(self._display):
                rate += COSTS_NAH[Drain.DISPLAY_SECOND] * 3600
            self._pending_charge += rate * duration_us
            whole, self._pending_charge = divmod(self._pending_charge, _US_PER_HOUR)
            self.battery.draw_nah(whole)
            self.battery.draw(Drain.CYCLE, cycles)
        self._now = end

    def _on_instant(self, moment: datetime, events: list[Event]) -> None:
        self._check_battery(events)
        self._check_hour(moment, events)
        if self.variant is GasMeterVariant.SMR5:
            self._check_interval(moment)
        if self._display_deadline is not None and moment >= self._display_deadline:
            self._feed(DisplayInput.IDLE_TIMEOUT, moment, events)
        if is_local_midnight(moment):
            self._presses_today = 0
            self._feed(DisplayInput.NEW_DAY, moment, events)
        if self._locked_until is not None and moment >= self._locked_until:
            self._feed(DisplayInput.LOCK_EXPIRED, moment, events)

    def _check_hour(self, moment: datetime, events: list[Event]) -> None:
        """Store the hourly value when the meter's clock has reached a new whole hour [P2-4.0.7 §6.1];
        set back, the clock reaches the hours it repeats again."""
        hour = floor_hour(self.meter_time(moment))
        if hour < self._hour_mark:
            self._hour_mark = hour
        elif hour > self._hour_mark:
            self._hour_mark = hour
            self.hourly_value = HourlyValue(hour, self.register.index_m3)
            events.append(HourlyValueStored(moment, hour, self.register.index_m3))

    def _check_interval(self, moment: datetime) -> None:
        """SMR 5: store the value at each 5-minute mark the meter's clock reaches [P1-5.0.2 §7.3]; as with
        the hours, a clock set back reaches the marks it repeats again."""
        mark = period_start(self.meter_time(moment), FIVE_MINUTES)
        if mark > self._interval_mark:
            self.interval_value = HourlyValue(mark, self.register.index_m3)
        self._interval_mark = mark

    def _check_battery(self, events: list[Event]) -> None:
        if self.battery.is_low and not self.battery.low_reported:
            self.battery.low_reported = True
            self._record(events, BatteryLow(self._now, round(self.battery.remaining_percent, 2)))
        if self.battery.is_empty and self._display is not DisplayState.DEAD:
            self._record(events, BatteryEmpty(self._now))
            self._feed(DisplayInput.BATTERY_EMPTY, self._now, events)

    def _feed(self, given: DisplayInput, moment: datetime, events: list[Event]) -> None:
        before = self._display
        after = TRANSITIONS[before, given]
        self._display = after
        if after is not DisplayState.LOCKED:
            self._locked_until = None  # expired, or a battery replacement restarted the display
        if given in (DisplayInput.SHORT_PRESS, DisplayInput.LONG_PRESS) or after is not before:
            self._display_deadline = moment + timedelta(seconds=IDLE_S[after]) if is_lit(after) else None
        if after is not before:
            events.append(DisplayChanged(self._now, after, self.frame(self._now)))

    def _record(self, events: list[Event], event: Event) -> None:
        events.append(event)
        self._log.append(event)
        del self._log[:-LOG_SIZE]

    # -- commands --------------------------------------------------------------------------------------

    def _set_flow(self, command: cmd.SetFlow) -> list[Event]:
        flow = to_decimal(command.flow_m3h, "flow")
        temp = to_decimal(command.gas_temp_c, "gas temperature")
        if flow < 0:
            raise InvalidInput(f"flow {flow} m³/h is negative; gas only flows forward through a meter")
        low, high = GAS_TEMP_RANGE_C
        if not low <= temp <= high:
            raise InvalidInput(f"gas temperature {temp} °C is outside {low}…{high} °C")
        self.flow_m3h = flow
        self.gas_temp_c = temp
        if Fault.TEMPERATURE_SENSOR not in self.faults:
            self._conversion_temp_c = temp
        return []

    def _press(self, command: cmd.PressButton) -> list[Event]:
        hold = to_decimal(command.hold_s, "button hold time")
        if hold < 0:
            raise InvalidInput(f"button hold time {hold} s is negative")
        events: list[Event] = []
        if self._display in (DisplayState.DEAD, DisplayState.LOCKED):
            return events
        self.battery.draw(Drain.BUTTON_PRESS)
        self._presses_today += 1
        if self._presses_today > PRESSES_PER_DAY:
            self._locked_until = lockout_end(self._now)
            self._record(events, DisplayLocked(self._now, self._presses_today, self._locked_until))
            given = DisplayInput.PRESS_OVER_LIMIT
        else:
            given = DisplayInput.LONG_PRESS if hold > LONG_PRESS_S else DisplayInput.SHORT_PRESS
        release = self._now + timedelta(seconds=float(hold))
        self._feed(given, release, events)
        self._check_battery(events)
        return events

    def _break_seal(self, _: cmd.BreakSeal) -> list[Event]:
        if self.seal_broken:
            return []
        self.seal_broken = True
        events: list[Event] = []
        self._record(events, SealBroken(self._now))
        return events

    def _reseal(self, command: cmd.Reseal) -> list[Event]:
        if not command.operator.strip():
            raise InvalidInput("reseal needs the grid operator's name; only the grid operator reseals a meter")
        if not self.seal_broken:
            return []
        self.seal_broken = False
        events: list[Event] = []
        self._record(events, SealRestored(self._now, command.operator))
        return events

    def _command_valve(self, command: cmd.CommandValve) -> list[Event]:
        events: list[Event] = []
        self._record(events, ValveCommandRefused(self._now, command.action, VALVE_REFUSAL))
        return events

    def _update_firmware(self, command: cmd.UpdateFirmware) -> list[Event]:
        events: list[Event] = []
        self._record(
            events, FirmwareUpdateRefused(self._now, command.part, command.version, REFUSAL[command.part])
        )
        return events

    def _replace_battery(self, command: cmd.ReplaceBattery) -> list[Event]:
        self.battery.replace()
        events: list[Event] = []
        self._record(events, BatteryReplaced(self._now, command.operator))
        self._feed(DisplayInput.BATTERY_REPLACED, self._now, events)
        return events

    def _drain_battery(self, command: cmd.DrainBattery) -> list[Event]:
        if command.amount_nah < 0:
            raise InvalidInput(f"battery drain {command.amount_nah} nAh is negative; a drain only takes charge")
        self.battery.draw_nah(command.amount_nah)
        events: list[Event] = []
        self._check_battery(events)
        return events

    def _raise_fault(self, command: cmd.RaiseFault) -> list[Event]:
        if command.fault in self.faults:
            return []
        self.faults.add(command.fault)
        events: list[Event] = []
        self._record(events, FaultRaised(self._now, command.fault))
        return events

    def _clear_fault(self, command: cmd.ClearFault) -> list[Event]:
        if command.fault not in self.faults:
            return []
        self.faults.discard(command.fault)
        if command.fault is Fault.TEMPERATURE_SENSOR:
            self._conversion_temp_c = self.gas_temp_c
        events: list[Event] = []
        self._record(events, FaultCleared(self._now, command.fault))
        return events

    def _synchronize_clock(self, command: cmd.SynchronizeClock) -> list[Event]:
        """Set the clock to the E-meter's time; more than 60 s off latches bit 5 [P2-4.0.7 §6.2.1]."""
        target = require_utc(command.e_meter_time, "E-meter time")
        deviation = target - self.meter_time(self._now)
        self.clock.set_time(self._now, target)
        events: list[Event] = []
        self._check_hour(self._now, events)  # set forward past a whole hour: the meter reached it now
        if self.variant is GasMeterVariant.SMR5:
            self._check_interval(self._now)
        out_of_sync = abs(deviation) > CLOCK_SYNC_LIMIT
        self.clock_sync_error = self.clock_sync_error or out_of_sync
        self._record(events, ClockSynchronized(self._now, deviation.total_seconds(), out_of_sync))
        return events

    def _set_clock_drift(self, command: cmd.SetClockDrift) -> list[Event]:
        self.clock.set_drift(self._now, drift_ppb(command.ppm))
        return []

    def _clear_status_bits(self, command: cmd.ClearStatusBits) -> list[Event]:
        """``01 FD 97 06 mm`` [P2-4.0.7 §6.2.4]: only the clock sync error is a latched non-permanent bit
        here (fraud and battery follow the meter's present state, bits 0, 1, 4 are never set)."""
        if not 0 <= command.mask <= 0xFF:
            raise InvalidInput(f"status clear mask {command.mask} is not one byte")
        if not command.mask & CLOCK_SYNC_ERROR_BIT or not self.clock_sync_error:
            return []
        self.clock_sync_error = False
        return [StatusBitsCleared(self._now, command.mask, CLOCK_SYNC_ERROR_BIT)]


def floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)
