"""Capturing E values into the E profiles and the combined billing profiles.

DSMR-M 4.5.1 (E reading at 00:00 every day), 4.5.4 (the 00:00 gas reading copied into the daily
profile), 4.5.6 (M-Bus values filed at 11 minutes past the hour), 4.5.8 (first day of the month),
4.5.22 (E interval data, 15 minutes, 10 days); [P3-4.2.2 §5.5, §6.3].

Rules this module keeps:
- 1-0:99.1.0 gets one entry at every quarter hour of the meter's clock;
- 1-0:99.2.0 (daily) and 0-0:98.1.0 (monthly, the 1st of the month) take the E registers at 00:00 and
  are filed at 00:11 together with the M-Bus values of that hour, as one combined entry whose status
  combines the E-meter's and the channels' (footnote 7 of §6.3);
- gaps: P3 asks the 15-minute and the daily profile to hold "exactly one entry per capture period"
  [P3-4.2.2 §6.3]; the monthly one is driven by a schedule that, once missed, runs at the next chance.
  So when the meter was without power (or its clock jumped forward past the sync limit) those profiles
  get the entries of the missed periods afterwards, marked PDN (or CAD) and DNV ("no values have been
  recorded during the capture period", §4.2.5). Their E values are exact: nothing is metered while the
  meter is off. The M-Bus hourly profiles only ask for "no irregular entries" (§7.4), so missed hours are
  not invented there (``channels.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterkast.emeter.amr import AmrStatus, entry_status
from meterkast.emeter.channels import MbusMaster
from meterkast.emeter.electricity import EnergyRegisters
from meterkast.emeter.events import Event, ProfileEntryFiled
from meterkast.emeter.localtime import CAPTURE_OFFSET, QUARTER, Instant, hour_start, to_local
from meterkast.emeter.profiles import (
    DAILY_SPEC,
    LOAD_SPEC,
    MONTHLY_SPEC,
    BillingEntry,
    ChannelValue,
    LoadEntry,
    Profile,
)

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """E registers taken at 00:00, waiting for the M-Bus values of 00:11."""

    clock: datetime
    import_kwh: tuple[Decimal, Decimal]
    export_kwh: tuple[Decimal, Decimal]
    flags: AmrStatus


def is_midnight(local: datetime) -> bool:
    return local.hour == 0 and local.minute == 0


def is_month_start(local: datetime) -> bool:
    return local.day == 1 and is_midnight(local)


class Capturer:
    def __init__(self) -> None:
        self.load = Profile[LoadEntry](LOAD_SPEC)
        self.daily = Profile[BillingEntry](DAILY_SPEC)
        self.monthly = Profile[BillingEntry](MONTHLY_SPEC)
        self._waiting: dict[str, Snapshot] = {}

    def quarter(self, now: Instant, registers: EnergyRegisters, flags: AmrStatus) -> list[Event]:
        clock = now.local
        return self._file_load(now, clock, registers, flags | self.load.pending, consume=True)

    def _file_load(
        self, now: Instant, clock: datetime, registers: EnergyRegisters, flags: AmrStatus, *, consume: bool
    ) -> list[Event]:
        if not self.load.accepts(clock):
            return []
        if consume:
            flags |= self.load.take_pending()
        entry = LoadEntry(clock, entry_status(flags, clock), registers.import_total_kwh(), registers.export_total_kwh())
        self.load.append(entry)
        return [ProfileEntryFiled(now.at, self.load.obis, entry)]

    def hour(self, now: Instant, registers: EnergyRegisters, flags: AmrStatus) -> None:
        """At xx:00: take the E registers for the daily and monthly entries of 00:00."""
        local = now.local
        if is_midnight(local):
            snap = Snapshot(local, registers.import_kwh(), registers.export_kwh(), flags)
            self._waiting[self.daily.obis] = snap
            if is_month_start(local):
                self._waiting[self.monthly.obis] = snap

    def file_billing(
        self, now: Instant, hour_clock: datetime, master: MbusMaster, combined: AmrStatus
    ) -> list[Event]:
        """At xx:11: complete and file the billing entries waiting for hour ``hour_clock``."""
        events: list[Event] = []
        for profile in (self.daily, self.monthly):
            snap = self._waiting.get(profile.obis)
            if snap is None or snap.clock != hour_clock or snap.clock.utcoffset() != hour_clock.utcoffset():
                continue
            del self._waiting[profile.obis]
            events += self._file_billing(now, profile, snap, master, combined, consume=True)
        return events

    @staticmethod
    def _file_billing(
        now: Instant,
        profile: Profile[BillingEntry],
        snap: Snapshot,
        master: MbusMaster,
        combined: AmrStatus,
        *,
        consume: bool,
    ) -> list[Event]:
        if not profile.accepts(snap.clock):
            return []
        flags = snap.flags | combined
        if consume:
            flags |= profile.take_pending()
        values = []
        for state in master.channels.values():
            mv = state.hourly  # the whole-hour value (SMR 5 devices: not the latest 5-minute one)
            values.append(None if mv is None else ChannelValue(mv.value_m3, mv.capture_time))
        entry = BillingEntry(
            snap.clock,
            entry_status(flags, snap.clock),
            snap.import_kwh,
            snap.export_kwh,
            (values[0], values[1], values[2], values[3]),
        )
        profile.append(entry)
        return [ProfileEntryFiled(now.at, profile.obis, entry)]

    def fill_gap(
        self,
        now: Instant,
        start: datetime,
        end: datetime,
        *,
        registers: EnergyRegisters,
        flags: AmrStatus,
        master: MbusMaster,
    ) -> list[Event]:
        """Entries for the capture instants in (start, end] of the meter clock that were missed."""
        missed = flags | AmrStatus.DNV
        events: list[Event] = []
        first = max(start, end - QUARTER * self.load.capacity)
        moment = first.replace(minute=first.minute - first.minute % 15, second=0, microsecond=0)
        while moment <= end:
            if moment > start:
                events += self._file_load(now, to_local(moment), registers, missed, consume=False)
            moment += QUARTER
        for obis_code, snap in list(self._waiting.items()):  # 00:00 taken, but its 00:11 fell in the gap
            if snap.clock + CAPTURE_OFFSET <= end:
                del self._waiting[obis_code]
                profile = self.daily if obis_code == self.daily.obis else self.monthly
                stale = Snapshot(snap.clock, snap.import_kwh, snap.export_kwh, snap.flags | missed)
                events += self._file_billing(now, profile, stale, master, AmrStatus(0), consume=False)
        horizon = max(start, end - timedelta(days=31 * (self.monthly.capacity + 1)))
        moment = hour_start(horizon)
        midnights: list[datetime] = []
        while moment <= end:
            if moment > start and is_midnight(to_local(moment)):
                midnights.append(moment)
            moment += HOUR
        for index, midnight in enumerate(midnights):
            local = to_local(midnight)
            still_open = index == len(midnights) - 1 and end < midnight + CAPTURE_OFFSET
            targets = [self.daily] + ([self.monthly] if is_month_start(local) else [])
            snap = Snapshot(local, registers.import_kwh(), registers.export_kwh(), flags)
            for profile in targets:
                if still_open:  # the gas value of 00:00 can still arrive before 00:11
                    self._waiting[profile.obis] = snap
                else:
                    stale = Snapshot(local, snap.import_kwh, snap.export_kwh, missed)
                    events += self._file_billing(now, profile, stale, master, AmrStatus(0), consume=False)
        return events

    def mark_all(self, flag: AmrStatus) -> None:
        for profile in (self.load, self.daily, self.monthly):
            profile.pending |= flag
