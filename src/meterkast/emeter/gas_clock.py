"""When the E-meter synchronises a gas meter's clock and clears its status over P2 (sans-I/O schedule).

DSMR-M 4.5.89 ([MAIN-4.0.7 §5.14.1]): the E-meter synchronises the G-meter's clock
- "after installation of a G meter" ("after the first encrypted response is received", Figure 5-14a);
- "at every time change of the bus master (including daylight savings time related changes)";
- "at every restart of the communication (after communication breakdown, after M-Bus master breakdown,
  and after M-Bus slave breakdown)";
- "every 24 hours, to ensure a maximum deviation below 60 seconds" [P2-4.0.7 §6.2.1].

And [P2-4.0.7 §6.2.4]: "The E-meter should clean the status byte after each time a non-permanent error
is retrieved from the M-Bus device" with ``01 FD 97 06 73``.

How this model times them (the standard names the triggers, not the moments):
- a time change of the E-meter (``adjust_clock``: P3 set clock or a scenario's shift; a DST change) syncs
  every coupled channel at once, with the frame counter of the last accepted reply [P2 §5.2];
- every other trigger waits for the channel's next accepted read and goes right after it: the E-meter
  then holds the device's current frame counter (the §5.2 note: the E-meter "shall issue a REQ_UD2, to
  establish the current value of the frame counter"), and a device that did not answer the read would not
  answer the command either;
- the daily sync goes after the first accepted read of each day of the E-meter's clock (``DAILY_AT``,
  00:00 local, so normally the 00:01 read): a fixed time, once per calendar day, right after the read of
  the 00:00 value that is the daily billing value (DSMR-M 4.5.4), which starts each billing day with a
  fresh clock. DSMR-M 4.3.5 allows a P2 clock 10 s a day, so a day's drift stays far below the 60 s;
- after a read that took over a status with a non-permanent bit (mask 73h), the clear goes first, then
  any sync: a sync that finds the clock more than 60 s off sets bit 5 again, and the next read must see it;
- a reply refused only for its time stamp (the E-meter's plausibility window, ``gas_acceptance``) shows
  a gas clock far off: that too is a breakdown of communication, and the sync goes at once (its frame
  counter is above the last accepted one, and the sync carries one above it);
- a command that fails (no E5) is not repeated on the spot: the sync stays pending for after the next
  accepted read; the clear follows the next read that still shows the bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum

from meterkast.emeter.events import Event

DAILY_AT = time(0, 0)  # local time of the E-meter's clock; see the module docstring
NON_PERMANENT = 0x73  # bits 0, 1, 4, 5, 6 [P2-4.0.7 §6.2.4]


class SyncReason(Enum):
    INSTALLATION = "installation"
    CLOCK_CHANGE = "clock change"
    COMMUNICATION_RESTART = "communication restart"
    DAILY = "daily"
    CLOCK_OFF = "time stamp out of window"  # a genuine reply refused only for its time stamp (gas_acceptance)
    REQUESTED = "requested"  # a scenario or operator asked for it


class GasCommand(Enum):
    CLEAR_STATUS = "clear status"
    SYNC_CLOCK = "synchronise clock"


@dataclass(slots=True)
class ClockSync:
    """One channel's synchronisation and housekeeping state."""

    pending: SyncReason | None = None
    at_once: bool = False  # send at the next instant, not only after the next read
    housekeeping: bool = False  # the last reading carried a non-permanent status bit
    last_sync: datetime | None = None  # the E-meter's clock (local) at the last acknowledged sync
    last_reason: SyncReason | None = None
    last_daily: date | None = None
    failures: int = 0  # failed commands since the device was installed

    @classmethod
    def installed(cls) -> ClockSync:
        return cls(pending=SyncReason.INSTALLATION)

    def trigger(self, reason: SyncReason, *, at_once: bool) -> None:
        if self.pending is None or at_once:
            self.pending = reason
        self.at_once = self.at_once or at_once

    def note_reading(self, local: datetime, status: int, *, restarted: bool) -> None:
        """An accepted reading at ``local`` (E-meter clock) whose status was taken over."""
        self.housekeeping = bool(status & NON_PERMANENT)
        if restarted:
            self.trigger(SyncReason.COMMUNICATION_RESTART, at_once=False)
        if self.last_daily != local.date() and local.time() >= DAILY_AT:
            self.last_daily = local.date()
            self.trigger(SyncReason.DAILY, at_once=False)

    def after_read(self) -> list[GasCommand]:
        """What to send right after an accepted read, in order (module docstring)."""
        commands = [GasCommand.CLEAR_STATUS] if self.housekeeping else []
        return commands + ([GasCommand.SYNC_CLOCK] if self.pending is not None else [])

    def synced(self, local: datetime) -> SyncReason:
        reason = self.pending or SyncReason.REQUESTED
        self.pending, self.at_once, self.last_sync, self.last_reason = None, False, local, reason
        return reason

    def failed(self, command: GasCommand) -> None:
        self.failures += 1
        if command is GasCommand.SYNC_CLOCK:
            self.at_once = False  # retried after the next accepted read
        else:
            self.housekeeping = False


@dataclass(frozen=True, slots=True)
class GasClockSynchronized(Event):
    """The E-meter set a gas meter's clock over P2 (CI 6C) [P2-4.0.7 §6.2.1]; ``clock`` is its local time."""

    channel: int
    reason: SyncReason
    clock: datetime


@dataclass(frozen=True, slots=True)
class GasStatusCleared(Event):
    """The E-meter sent ``01 FD 97 06 73`` after taking over ``status`` [P2-4.0.7 §6.2.4]."""

    channel: int
    status: int


@dataclass(frozen=True, slots=True)
class GasCommandFailed(Event):
    """A clock sync or status clear got no acknowledgement; the sync is retried after the next read."""

    channel: int
    command: GasCommand
    reason: str
