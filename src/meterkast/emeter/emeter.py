"""The DSMR E-meter: one sans-I/O, time-injected object (SYSTEM E1–E4, M3, P1).

Rules this module keeps:
- time only enters through ``now`` (true UTC, aware), which never goes backwards (``ClockError``);
  the meter's own clock is ``now`` plus the offset that ``adjust_clock`` leaves, shown in Europe/Amsterdam;
- ``advance(now)`` runs the meter to ``now`` in slices that end at every capture instant of its clock
  (xx:00, :11, :15, :30, :45) and every sag/swell timer, so results do not depend on how the caller
  slices time; ``next_deadline()`` says when it next acts on its own (also when an M-Bus poll falls due);
- every command first advances to its ``now``, then acts, and returns past-tense events;
- the meter never talks to the bus: ``polls_due`` says which channels the shell should read, the shell
  reports ``record_reading`` or ``record_read_failure``;
- while powered down nothing is metered, captured, polled or logged, and no P1 telegram exists; at power
  up the counters, logs and profiles are brought up to date (``power.py``, ``capture.py``);
- refusals that the standard demands (valve commands) are events and log entries, not exceptions; misuse
  (a fifth device, reading an empty channel, P1 while off) raises ``CommandRefused``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.capture import Capturer
from meterkast.emeter.channels import HOUR, MasterValue, MbusMaster
from meterkast.emeter.electricity import EnergyRegisters, Load
from meterkast.emeter.events import (
    ClockAdjusted,
    ClockInvalidated,
    Code,
    DaylightSavingChanged,
    Event,
    LogId,
    PoweredDown,
    PoweredUp,
    TariffSwitched,
    VoltageSagDetected,
    VoltageSwellDetected,
)
from meterkast.emeter.gas_clock import GasCommand
from meterkast.emeter.localtime import ZONE, Instant, boundaries, dst_changed, hour_start, next_boundary
from meterkast.emeter.logs import LogEntry, Recorder
from meterkast.emeter.obis import check_channel
from meterkast.emeter.p1view import DecoupledStyle, P1View, build_p1_view
from meterkast.emeter.power import PowerFailureRecord, PowerFailures
from meterkast.emeter.profiles import BillingEntry, HourlyEntry, LoadEntry, PeriodType, Profile
from meterkast.emeter.quality import PhaseQuality, QualityAction, QualityInput, classify
from meterkast.emeter.readings import MbusDeviceIdentity, MbusReading, ValveAction
from meterkast.emeter.tariff import tariff_at
from meterkast.errors import ClockError, CommandRefused, InvalidInput
from meterkast.timeutil import microseconds_between, require_utc

CLOCK_TIME_SHIFT_LIMIT = timedelta(seconds=60)  # 1-0:0.9.11.255 [P3-4.2.2 §5.3]
NEVER = datetime.max.replace(tzinfo=UTC)
TEXT_MAX = 1024  # 0-0:96.13.0 [P3-4.2.2 §5.11]


class EMeter:
    def __init__(
        self,
        equipment_id: str,
        now: datetime,
        *,
        phases: int = 1,
        p1_version: str = "42",
        decoupled_style: DecoupledStyle = DecoupledStyle.EMPTIED,
        long_failure_threshold_s: int = 180,
    ) -> None:
        if phases not in (1, 3):
            raise InvalidInput(f"a meter has 1 or 3 phases, not {phases}")
        if not equipment_id.isascii() or len(equipment_id) > 96:
            raise InvalidInput(f"equipment identifier {equipment_id!r} must be ASCII, at most 96 characters")
        self.equipment_id = equipment_id
        self.phases = phases
        self.p1_version = p1_version
        self.decoupled_style = decoupled_style
        self._now = require_utc(now, "installation time")
        self._offset = timedelta(0)
        self.clock_invalid = False
        self.recorder = Recorder()
        self.mbus = MbusMaster(self.recorder)
        self.capturer = Capturer()
        self.registers = EnergyRegisters()
        self.load = Load.idle(phases)
        self.quality = [PhaseQuality() for _ in range(phases)]
        self.power = PowerFailures(long_failure_threshold_s)
        self.tariff = tariff_at(self.meter_time())
        self.text_message = ""
        self.text_code = ""

    # -- time --------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def powered(self) -> bool:
        return self.power.powered

    def _instant(self) -> Instant:
        return Instant(self._now, self._now + self._offset)

    def meter_time(self) -> datetime:
        """The E-meter's clock in local time (Europe/Amsterdam)."""
        return (self._now + self._offset).astimezone(ZONE)

    def _flags(self) -> AmrStatus:
        return AmrStatus.CIV if self.clock_invalid else AmrStatus(0)

    def _next_internal(self) -> datetime:
        meter = self._now + self._offset
        candidates = [next_boundary(meter) - self._offset]
        candidates += [q.deadline for q in self.quality if q.deadline is not None]
        return min(candidates)

    def next_deadline(self) -> datetime:
        if not self.powered:
            return NEVER
        candidates = [self._next_internal()]
        poll = self.mbus.next_poll(self._instant())
        if poll is not None:
            candidates.append(poll - self._offset)
        return min(candidates)

    def advance(self, now: datetime) -> list[Event]:
        now = require_utc(now)
        if now < self._now:
            raise ClockError(f"E-meter time cannot go back from {self._now.isoformat()} to {now.isoformat()}")
        events: list[Event] = []
        while self._now < now:
            if not self.powered:
                self._now = now
                break
            target = min(now, self._next_internal())
            self.registers.integrate(self.load.net_w, self.tariff, microseconds_between(self._now, target))
            self._now = target
            self._on_instant(events)
        return events

    def _on_instant(self, events: list[Event]) -> None:
        at = self._now
        for phase, quality in enumerate(self.quality, start=1):
            if quality.deadline is not None and quality.deadline <= at:
                self._quality_action(phase, quality.feed(QualityInput.TIMER, at), events)
        meter = at + self._offset
        if meter.second == meter.microsecond == 0 and meter.minute in (0, 11, 15, 30, 45):
            self._boundary(self._instant(), events)

    def _boundary(self, now: Instant, events: list[Event]) -> None:
        meter, flags = now.meter, self._flags()
        if meter.minute == 0 and dst_changed(meter):
            before = (meter - timedelta(microseconds=1)).astimezone(ZONE).utcoffset()
            assert before is not None
            clock = meter.astimezone(timezone(before))  # "the time before the change" [P3 §4.2.1]
            events += self.recorder.record(DaylightSavingChanged(now.at, clock, Code.DST_CHANGED))
            self.mbus.clock_changed()  # "including daylight savings time related changes" (DSMR-M 4.5.89)
        if meter.minute % 15 == 0:
            events += self.capturer.quarter(now, self.registers, flags)
            self._update_tariff(events)
        if meter.minute == 0:
            self.capturer.hour(now, self.registers, flags)
        if meter.minute == 11:
            hour_clock = hour_start(meter).astimezone(ZONE)
            filed, combined = self.mbus.capture(now, hour_clock, flags)
            events += filed
            events += self.capturer.file_billing(now, hour_clock, self.mbus, combined)

    def _update_tariff(self, events: list[Event]) -> None:
        tariff = tariff_at(self.meter_time())
        if tariff is not self.tariff:
            self.tariff = tariff
            events.append(TariffSwitched(self._now, int(tariff)))

    def _quality_action(self, phase: int, action: QualityAction, events: list[Event]) -> None:
        quality = self.quality[phase - 1]
        if action is QualityAction.COUNT_SAG:
            events.append(VoltageSagDetected(self._now, phase, quality.sags))
        elif action is QualityAction.COUNT_SWELL:
            events.append(VoltageSwellDetected(self._now, phase, quality.swells))

    def _require_power(self, what: str) -> None:
        if not self.powered:
            raise CommandRefused(f"{what} refused: the E-meter is powered down; call power_up(now) first")

    # -- clock and power -----------------------------------------------------------------------------

    def adjust_clock(self, now: datetime, new_local_time: datetime) -> list[Event]:
        """Set the meter's clock; beyond the 60 s shift limit: events 4/5 and CAD on the next entries."""
        events = self.advance(now)
        self._require_power("clock adjustment")
        target = require_utc(new_local_time, "new clock time")
        before = self._instant()
        shift = target - before.meter
        self._offset += shift
        after = self._instant()
        if abs(shift) > CLOCK_TIME_SHIFT_LIMIT:
            events += self.recorder.record(ClockAdjusted(self._now, before.local, Code.CLOCK_ADJUSTED_OLD))
            events += self.recorder.record(ClockAdjusted(self._now, after.local, Code.CLOCK_ADJUSTED_NEW))
            if shift > timedelta(0):
                events += self.capturer.fill_gap(
                    after, before.meter, after.meter, registers=self.registers, flags=AmrStatus.CAD, master=self.mbus
                )
            self._mark_all(AmrStatus.CAD)
        elif shift > timedelta(0):
            for moment in boundaries(before.meter, after.meter):
                self._boundary(Instant(after.at, moment), events)
        self.clock_invalid = False
        self.mbus.clock_changed()  # sync the gas meters' clocks (DSMR-M 4.5.89)
        self._update_tariff(events)
        return events

    def _mark_all(self, flag: AmrStatus) -> None:
        self.capturer.mark_all(flag)
        for state in self.mbus.channels.values():
            state.profile.pending |= flag

    def power_down(self, now: datetime) -> list[Event]:
        events = self.advance(now)
        self._require_power("power down")
        events += self.recorder.record(PoweredDown(self._now, self.meter_time(), Code.POWER_DOWN))
        self.power.fail(self._now)
        for quality in self.quality:
            quality.reset()
        return events

    def power_up(self, now: datetime) -> list[Event]:
        events = self.advance(now)
        down_since = self.power.down_since
        if down_since is None:
            raise CommandRefused("power up refused: the E-meter is not powered down")
        up = self._instant()
        outage = self.power.restore(self._now, up.local)
        events += self.capturer.fill_gap(
            up, down_since + self._offset, up.meter, registers=self.registers, flags=AmrStatus.PDN, master=self.mbus
        )
        self._mark_all(AmrStatus.PDN)
        self.mbus.power_restored()
        events += self.recorder.record(
            PoweredUp(self._now, up.local, Code.POWER_UP, outage.duration_s, outage.long)
        )
        if outage.clock_lost:
            self.clock_invalid = True
            events += self.recorder.record(ClockInvalidated(self._now, up.local, Code.CLOCK_INVALID))
        for phase, quality in enumerate(self.quality, start=1):
            self._quality_action(phase, quality.feed(classify(self.load.voltage_v[phase - 1]), self._now), events)
        self._update_tariff(events)
        return events

    # -- M-Bus master (SYSTEM M3, E1) ------------------------------------------------------------------

    def couple(
        self, now: datetime, identity: MbusDeviceIdentity, *, read_period: timedelta = HOUR
    ) -> tuple[int, list[Event]]:
        """``read_period``: 1 h for a DSMR 4 device, 5 minutes for an SMR 5 one (``channels.py``)."""
        events = self.advance(now)
        self._require_power("coupling")
        channel, more = self.mbus.couple(self._instant(), identity, read_period=read_period)
        return channel, events + more

    def decouple(self, now: datetime, channel: int) -> list[Event]:
        events = self.advance(now)
        self._require_power("decoupling")
        return events + self.mbus.decouple(self._instant(), channel)

    def replace(
        self, now: datetime, channel: int, identity: MbusDeviceIdentity, *, read_period: timedelta = HOUR
    ) -> list[Event]:
        events = self.advance(now)
        self._require_power("replacing a device")
        return events + self.mbus.replace(self._instant(), channel, identity, read_period=read_period)

    def polls_due(self, now: datetime) -> list[int]:
        """Channels the shell should read now (call ``advance(now)`` first)."""
        if not self.powered:
            return []
        return self.mbus.polls_due(Instant(require_utc(now), require_utc(now) + self._offset))

    def record_reading(self, now: datetime, channel: int, reading: MbusReading) -> list[Event]:
        events = self.advance(now)
        self._require_power("an M-Bus reading")
        return events + self.mbus.record_reading(self._instant(), channel, reading)

    def record_read_failure(self, now: datetime, channel: int, reason: str, *, rejected: bool = False) -> list[Event]:
        """A failed P2 read; ``rejected``: the reply arrived whole and was refused (key, replay, implausible)."""
        events = self.advance(now)
        self._require_power("an M-Bus read failure")
        return events + self.mbus.record_failure(self._instant(), channel, reason, rejected=rejected)

    def record_gas_command(self, now: datetime, channel: int, command: GasCommand, failure: str | None) -> list[Event]:
        """The shell sent a P2 clock sync or status clear (``gas_clock``); ``failure`` None: acknowledged."""
        return self.advance(now) + self.mbus.record_gas_command(self._instant(), channel, command, failure)

    def rejected_frames(self, channel: int) -> int:
        """Refused P2 replies of the device on ``channel`` since it was installed."""
        return self.mbus.channels[check_channel(channel)].rejected_frames

    def command_valve(self, now: datetime, channel: int, action: ValveAction) -> list[Event]:
        """Always refused and logged: DSMR 4.2.2 removed valve control (SYSTEM E4, G12)."""
        events = self.advance(now)
        self._require_power("a valve command")
        return events + self.mbus.command_valve(self._instant(), channel, action)

    def master_value(self, channel: int) -> MasterValue | None:
        """0-x:24.2.1 (kept, stale, after decoupling)."""
        return self.mbus.channels[check_channel(channel)].master

    def identity(self, channel: int) -> MbusDeviceIdentity | None:
        return self.mbus.channels[check_channel(channel)].identity

    def is_coupled(self, channel: int) -> bool:
        return self.mbus.channels[check_channel(channel)].coupled

    # -- electricity -----------------------------------------------------------------------------------

    def set_load(
        self,
        now: datetime,
        import_w_per_phase: Sequence[Decimal | int | str],
        export_w_per_phase: Sequence[Decimal | int | str],
        voltage_v_per_phase: Sequence[Decimal | int | str],
    ) -> list[Event]:
        events = self.advance(now)
        self.load = Load.parse(self.phases, import_w_per_phase, export_w_per_phase, voltage_v_per_phase)
        if self.powered:
            for phase, quality in enumerate(self.quality, start=1):
                given = classify(self.load.voltage_v[phase - 1])
                self._quality_action(phase, quality.feed(given, self._now), events)
        return events

    def set_text_message(self, now: datetime, text: str, code: str = "") -> list[Event]:
        """0-0:96.13.0 (≤ 1024 characters, no CR/LF [P1-4.2.2 §6.2]) and 0-0:96.13.1 (≤ 8 digits)."""
        events = self.advance(now)
        if len(text) > TEXT_MAX or "\r" in text or "\n" in text or not text.isascii():
            raise InvalidInput(f"text message must be ASCII, at most {TEXT_MAX} characters, without CR/LF")
        if len(code) > 8 or not (code.isascii() and (code.isdigit() or code == "")):
            raise InvalidInput(f"message code {code!r} must be at most 8 digits (0-0:96.13.1)")
        self.text_message, self.text_code = text, code
        return events

    # -- registers, logs, profiles ----------------------------------------------------------------------

    @property
    def alarm_register(self) -> int:
        return self.recorder.alarm_register

    @property
    def error_register(self) -> int:
        return self.recorder.error_register

    def clear_alarm_register(self, now: datetime) -> list[Event]:
        events = self.advance(now)
        return events + self.recorder.clear_alarms(self._now, self.meter_time())

    def clear_error_register(self, now: datetime) -> list[Event]:
        events = self.advance(now)
        return events + self.recorder.clear_errors(self._now, self.meter_time())

    def clear_event_log(self, now: datetime, log: LogId) -> list[Event]:
        events = self.advance(now)
        return events + self.recorder.clear_log(self._now, self.meter_time(), log)

    def event_log(self, log: LogId) -> tuple[LogEntry, ...]:
        return self.recorder.entries(log)

    @property
    def power_failure_log(self) -> tuple[PowerFailureRecord, ...]:
        return self.power.log

    def hourly_profile(self, channel: int) -> Profile[HourlyEntry]:
        return self.mbus.channels[check_channel(channel)].profile

    @property
    def daily_profile(self) -> Profile[BillingEntry]:
        return self.capturer.daily

    @property
    def monthly_profile(self) -> Profile[BillingEntry]:
        return self.capturer.monthly

    @property
    def load_profile(self) -> Profile[LoadEntry]:
        return self.capturer.load

    def gas_profile(self, period: PeriodType, channel: int) -> Profile[HourlyEntry] | Profile[BillingEntry]:
        """The profile a central system asks for with PeriodType INTERVAL / DAILY / MONTHLY."""
        if period is PeriodType.INTERVAL:
            return self.hourly_profile(channel)
        return self.daily_profile if period is PeriodType.DAILY else self.monthly_profile

    def profile(self, obis_code: str) -> Profile[HourlyEntry] | Profile[BillingEntry] | Profile[LoadEntry]:
        found: dict[str, Profile[HourlyEntry] | Profile[BillingEntry] | Profile[LoadEntry]] = {
            p.obis: p for p in (self.load_profile, self.daily_profile, self.monthly_profile)
        }
        found.update({s.profile.obis: s.profile for s in self.mbus.channels.values()})
        if obis_code not in found:
            raise InvalidInput(f"no profile {obis_code!r}; known: {', '.join(sorted(found))}")
        return found[obis_code]

    def p1_view(self, now: datetime) -> P1View:
        """Everything a P1 telegram shows at ``now`` (call ``advance(now)`` first)."""
        now = require_utc(now)
        if now != self._now:
            raise ClockError(
                f"p1_view({now.isoformat()}) but the meter is at {self._now.isoformat()}; call advance(now) first"
            )
        self._require_power("a P1 telegram")
        return build_p1_view(self)
