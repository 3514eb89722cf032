"""``run --situation``'s plan and ground truth (conformance/live.py; docs/conformance.md "Live runs")."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from meterkast.conformance.live import TruthWriter, live_plan, playable
from meterkast.conformance.serve import read_truth
from meterkast.conformance.situations import SITUATIONS
from meterkast.errors import InvalidInput
from meterkast.p1.data import TelegramData


def test_every_situation_of_one_installation_is_playable_live_and_the_meter_swap_is_not() -> None:
    assert set(playable()) == {s.name for s in SITUATIONS} - {"meter-swap"}
    with pytest.raises(InvalidInput, match=r"meter-swap.*p1 serve --situation meter-swap.*run --situation plays: "
                                           r"gas-on-channel-2"):
        live_plan("meter-swap")
    with pytest.raises(InvalidInput, match="no situation 'nope'"):
        live_plan("nope")


@pytest.mark.parametrize("name", playable())
def test_a_live_plan_is_the_situations_own_scenario_and_window(name: str) -> None:
    plan = live_plan(name)
    segment = plan.situation.segments[0]
    assert plan.scenario.start <= segment.first
    assert plan.last == segment.first + (segment.count - 1) * segment.every
    # the situation's instants lie on the port's telegram grid [P1-4.2.2 §4.5] / [P1-5.0.2 §6]
    interval = timedelta(seconds=1 if plan.scenario.p1_version == "5" else 10)
    assert (segment.first - plan.scenario.start) % interval == timedelta(0)


def test_the_truth_writer_writes_p1_serves_format_with_the_situations_fault_names() -> None:
    plan = live_plan("crc-and-cut-off")
    lines: list[str] = []
    writer = TruthWriter(plan, lambda: 1, lines.append)
    at = plan.situation.segments[0].first
    data = TelegramData(equipment_id="E0031003239456716", timestamp=at)
    writer(at, data, b"/x", None)
    writer(at + timedelta(seconds=10), data, b"/x", "truncated")
    writer(at + timedelta(seconds=20), None, None, None)  # the E-meter off: nothing sent
    rows = [json.loads(line) for line in lines]
    assert [(r["sent"], r["fault"]) for r in rows] == [(True, None), (True, "cut-off"), (False, None)]
    assert rows[0]["truth"]["equipment_id"] == "E0031003239456716" and rows[1]["truth"] is None
    assert read_truth(lines, "truth") == [rows[0]["truth"]]
    assert writer.lines == 3
