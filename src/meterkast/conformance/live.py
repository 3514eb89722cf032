"""A situation played by ``meterkast run --situation NAME`` (issue 13 item 2; docs/conformance.md, docs/run.md).

``live_plan(name)`` maps a situation of the one table (``situations.SITUATIONS``) onto a live run: the
segment's scenario (its installation and timeline) becomes the run's scenario, the segment's options are
applied to the new world (``prepare``: a decoupled device keeping its last value, the situation's CRC-error
and cut-off rates as the P1 output stage's faults), and the run ends at the situation's last telegram
instant unless ``--until`` says otherwise.

The live run sends every telegram of the port's own grid (every 10 s for DSMR 4 [P1-4.2.2 §4.5], every
second for DSMR 5 [P1-5.0.2 §6]) from the scenario's start, not only the situation's sampled instants, so
its ground truth (``TruthWriter``) has one line per telegram instant the P1 port passed, in the format of
``p1 serve --truth`` (``serve.truth_line``): ``p1 check --truth FILE`` compares a consumer with it.

A situation made of more than one segment (``meter-swap``: two E-meters behind one P1 cable, one after the
other) is no single installation, so a live run cannot play it: ``live_plan`` refuses it and names the
situations it can play (``playable``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from meterkast.conformance.play import Played
from meterkast.conformance.records import truth
from meterkast.conformance.serve import truth_line
from meterkast.conformance.situations import SITUATIONS, Segment, Situation, situation
from meterkast.errors import InvalidInput
from meterkast.p1.data import TelegramData
from meterkast.sim.scenario import Scenario, parse_scenario

# The P1 output stage's fault names (live/p1_output.py) as the truth file names them (conformance/play.py).
_FAULTS = {"truncated": "cut-off", "crc": "crc", "dropped": "dropped"}


def playable() -> tuple[str, ...]:
    """The situations a live run can play: those of one segment (one installation)."""
    return tuple(s.name for s in SITUATIONS if len(s.segments) == 1)


@dataclass(frozen=True, slots=True)
class LivePlan:
    situation: Situation
    segment: Segment
    scenario: Scenario

    @property
    def last(self) -> datetime:
        """The situation's last telegram instant: where ``run --situation --stop`` ends by default."""
        return self.segment.first + (self.segment.count - 1) * self.segment.every


def live_plan(name: str) -> LivePlan:
    chosen = situation(name)
    if len(chosen.segments) != 1:
        raise InvalidInput(
            f"run --situation {name}: this situation is {len(chosen.segments)} installations one after the other "
            f"({chosen.title}), which one live run cannot play; play it with 'meterkast p1 serve --situation "
            f"{name}'. run --situation plays: {', '.join(playable())}"
        )
    segment = chosen.segments[0]
    scenario = parse_scenario(segment.scenario, source=f"situation {name}")
    return LivePlan(chosen, segment, scenario)


class TruthWriter:
    """Writes the ground truth of each telegram instant the live P1 port passes, one JSON line each.

    Given to ``live.p1_output.P1Output.watch``: called with the instant, the telegram's values (None when
    nothing was sent: the E-meter off, a dropped telegram), and the fault (None: sent intact).
    """

    def __init__(self, plan: LivePlan, gas_channel: Callable[[], int | None], write: Callable[[str], None]) -> None:
        self._fixed_channel = plan.segment.gas_channel
        self._gas_channel = gas_channel
        self._write = write
        self.lines = 0

    def __call__(self, moment: datetime, data: TelegramData | None, sent: bytes | None, fault: str | None) -> None:
        record = None
        if data is not None and fault is None:
            record = truth(data, self._fixed_channel or self._gas_channel())
        shown_fault = None if fault is None else _FAULTS.get(fault, fault)
        self._write(truth_line(Played(moment, sent, record, shown_fault)))
        self.lines += 1
