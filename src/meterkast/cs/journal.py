"""What the central system did lately, kept small for a dashboard: reads and consent refusals (SYSTEM C1, C2).

- ``ReadRecord``: one profile read (period type, channel, the run of instants asked for, how many entries
  were new to the store, already there, or not on the meter);
- ``RefusalRecord``: a profile the CS did not read because consent did not allow it. The same refusal
  (connection, E-meter, period type, level) round after round is one record with a count and its first
  and last instant, so a connection without consent cannot push everything else out of the list.

Rules this module keeps: bounded (``keep`` newest of each); JSON views follow ``meterkast.jsonable``
(instants ISO 8601 with offset); no clock: every record carries the instant the caller gave.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meterkast.central.model import ConsentLevel, PeriodType
from meterkast.cs.schedule import ProfileRead, Refusal

JSON = dict[str, Any]
DEFAULT_KEEP = 200


@dataclass(frozen=True, slots=True)
class ReadRecord:
    at: datetime
    emeter: str
    connection: str
    read: ProfileRead
    stored: int  # new to the store
    repeated: int  # already stored (an idempotent repeat)
    unavailable: int  # planned instants the meter had no value for

    def to_json(self) -> JSON:
        r = self.read
        return {"at": self.at.isoformat(), "emeter": self.emeter, "connection": self.connection,
                "period_type": r.period_type.value, "channel": r.channel, "gas_meter": r.gas_meter,
                "first": r.first.isoformat(), "last": r.last.isoformat(), "planned": r.count,
                "stored": self.stored, "repeated": self.repeated, "unavailable": self.unavailable}


@dataclass(slots=True)
class RefusalRecord:
    connection: str
    emeter: str
    period_type: PeriodType
    level: ConsentLevel
    required: ConsentLevel
    first_at: datetime
    last_at: datetime
    times: int = 1

    def to_json(self) -> JSON:
        return {"connection": self.connection, "emeter": self.emeter, "period_type": self.period_type.value,
                "consent": self.level.value, "required": self.required.value, "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(), "times": self.times}


class Journal:
    def __init__(self, keep: int = DEFAULT_KEEP) -> None:
        self.keep = keep
        self.reads: deque[ReadRecord] = deque(maxlen=keep)
        self._refusals: OrderedDict[tuple[str, str, PeriodType, ConsentLevel], RefusalRecord] = OrderedDict()
        self.refused_total = 0

    def read(self, record: ReadRecord) -> None:
        self.reads.append(record)

    def refused(self, refusal: Refusal) -> None:
        self.refused_total += 1
        key = (refusal.connection.ean, refusal.emeter, refusal.period_type, refusal.level)
        found = self._refusals.pop(key, None)
        if found is None:
            found = RefusalRecord(refusal.connection.ean, refusal.emeter, refusal.period_type, refusal.level,
                                  refusal.required, refusal.at, refusal.at, 0)
        found.last_at, found.times = refusal.at, found.times + 1
        self._refusals[key] = found
        while len(self._refusals) > self.keep:
            self._refusals.popitem(last=False)

    @property
    def refusals(self) -> list[RefusalRecord]:
        """Newest last."""
        return list(self._refusals.values())
