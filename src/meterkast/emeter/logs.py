"""Event logs, the error register and the alarm register [P3-4.2.2 §4.2.2–§4.2.4, §5.6, §5.7].

Rules this module keeps:
- each logged event goes to exactly one log, chosen by ``EVENT_SPECS`` (not configurable, §4.2.1);
- logs are FIFO ring buffers of (clock, code): standard 100, fraud 30, M-Bus 30 entries (§4.2.2);
  clearing a log leaves one entry, code 255 "event log cleared";
- an event with a register bit sets it in the error register 0-0:97.97.0 and, if the alarm filter
  0-0:97.98.10 lets it through, in the alarm register 0-0:97.98.0; alarm bits stay until the management
  client clears the register (§4.2.4); self-clearing error bits clear when their condition goes (§4.2.3).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime

from meterkast.emeter.events import (
    EVENT_SPECS,
    LOG_SIZES,
    AlarmRaised,
    Code,
    Event,
    EventLogCleared,
    Logged,
    LogId,
    RegisterCleared,
)

ALL_ALARMS = 0x0F_FF_3F_07  # every bit §4.2.4 defines: bytes 1–4 (0–2, 8–13, 16–23, 24–27)


@dataclass(frozen=True, slots=True)
class LogEntry:
    clock: datetime
    code: int


class Recorder:
    """Writes logged events into their log and the error and alarm registers."""

    def __init__(self, alarm_filter: int = ALL_ALARMS) -> None:
        self.logs: dict[LogId, deque[LogEntry]] = {log: deque(maxlen=size) for log, size in LOG_SIZES.items()}
        self.error_register = 0
        self.alarm_register = 0
        self.alarm_filter = alarm_filter

    def record(self, event: Logged) -> list[Event]:
        spec = EVENT_SPECS[event.code]
        self.logs[spec.log].append(LogEntry(event.clock, event.code))
        out: list[Event] = [event]
        if spec.register_bit is not None:
            bit = 1 << spec.register_bit
            self.error_register |= bit
            new = bit & self.alarm_filter & ~self.alarm_register
            if new:
                self.alarm_register |= new
                out.append(AlarmRaised(event.at, self.alarm_register, new))
        return out

    def condition_gone(self, bit: int) -> None:
        """A self-clearing error condition disappeared (e.g. M-Bus communication is ok again)."""
        self.error_register &= ~(1 << bit)

    def clear_alarms(self, at: datetime, clock: datetime) -> list[Event]:
        self.alarm_register = 0
        return self.record(RegisterCleared(at, clock, Code.ALARM_REGISTER_CLEARED))

    def clear_errors(self, at: datetime, clock: datetime) -> list[Event]:
        self.error_register = 0
        return self.record(RegisterCleared(at, clock, Code.ERROR_REGISTER_CLEARED))

    def clear_log(self, at: datetime, clock: datetime, log: LogId) -> list[Event]:
        self.logs[log].clear()
        self.logs[log].append(LogEntry(clock, Code.EVENT_LOG_CLEARED))
        return [EventLogCleared(at, clock, Code.EVENT_LOG_CLEARED, log)]

    def entries(self, log: LogId) -> tuple[LogEntry, ...]:
        return tuple(self.logs[log])
