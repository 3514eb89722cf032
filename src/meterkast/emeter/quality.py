"""Voltage sags and swells per phase, a table-driven state machine [P3-4.2.2 §6.5], DSMR-M 4.5.37.

A sag is a voltage below the sag threshold (1-0:12.31.0, 207 V) that lasts the sag time threshold
(1-0:12.43.0, 30 s); a swell is a voltage above 1-0:12.35.0 (253 V) for 1-0:12.44.0 (30 s). Each
excursion counts once (1-0:32.32.0 … 72.36.0), however long it lasts.

Rules: ``TRANSITIONS`` is total over ``QualityState`` × ``QualityInput`` (tested); the timer input only
matters in the two pending states, elsewhere it is explicitly ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum

SAG_THRESHOLD_V = Decimal(207)
SWELL_THRESHOLD_V = Decimal(253)
SAG_TIME = timedelta(seconds=30)
SWELL_TIME = timedelta(seconds=30)


class QualityState(Enum):
    NORMAL = "normal"
    SAG_PENDING = "sag-pending"
    SAG = "sag"
    SWELL_PENDING = "swell-pending"
    SWELL = "swell"


class QualityInput(Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    TIMER = "timer"


class QualityAction(Enum):
    NONE = "none"
    START_SAG_TIMER = "start-sag-timer"
    START_SWELL_TIMER = "start-swell-timer"
    COUNT_SAG = "count-sag"
    COUNT_SWELL = "count-swell"


S, In, A = QualityState, QualityInput, QualityAction


def _build() -> dict[tuple[QualityState, QualityInput], tuple[QualityState, QualityAction]]:
    table: dict[tuple[QualityState, QualityInput], tuple[QualityState, QualityAction]] = {}
    for state in S:
        table[state, In.NORMAL] = (S.NORMAL, A.NONE)
        table[state, In.LOW] = (S.SAG_PENDING, A.START_SAG_TIMER)
        table[state, In.HIGH] = (S.SWELL_PENDING, A.START_SWELL_TIMER)
        table[state, In.TIMER] = (state, A.NONE)  # ignored outside the pending states
    table[S.SAG_PENDING, In.LOW] = (S.SAG_PENDING, A.NONE)  # the timer keeps running
    table[S.SAG, In.LOW] = (S.SAG, A.NONE)
    table[S.SWELL_PENDING, In.HIGH] = (S.SWELL_PENDING, A.NONE)
    table[S.SWELL, In.HIGH] = (S.SWELL, A.NONE)
    table[S.SAG_PENDING, In.TIMER] = (S.SAG, A.COUNT_SAG)
    table[S.SWELL_PENDING, In.TIMER] = (S.SWELL, A.COUNT_SWELL)
    return table


TRANSITIONS = _build()


def classify(voltage_v: Decimal) -> QualityInput:
    if voltage_v < SAG_THRESHOLD_V:
        return In.LOW
    if voltage_v > SWELL_THRESHOLD_V:
        return In.HIGH
    return In.NORMAL


@dataclass(slots=True)
class PhaseQuality:
    state: QualityState = QualityState.NORMAL
    deadline: datetime | None = None
    sags: int = 0
    swells: int = 0

    def feed(self, given: QualityInput, at: datetime) -> QualityAction:
        self.state, action = TRANSITIONS[self.state, given]
        if action is A.START_SAG_TIMER:
            self.deadline = at + SAG_TIME
        elif action is A.START_SWELL_TIMER:
            self.deadline = at + SWELL_TIME
        elif self.state not in (S.SAG_PENDING, S.SWELL_PENDING):
            self.deadline = None
        if action is A.COUNT_SAG:
            self.sags += 1
        elif action is A.COUNT_SWELL:
            self.swells += 1
        return action

    def reset(self) -> None:
        """Power is gone: a power failure is not a sag."""
        self.state, self.deadline = QualityState.NORMAL, None
