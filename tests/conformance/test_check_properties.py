"""Properties of the checker (Hypothesis): order does not matter; the first difference is the earliest."""

from __future__ import annotations

import random
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.conformance.check import check
from meterkast.conformance.play import play
from meterkast.conformance.records import Record
from meterkast.conformance.situations import SITUATIONS, Situation


@cache
def truths(situation: Situation) -> tuple[Record, ...]:
    return tuple(p.truth for p in play(situation) if p.truth is not None)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SITUATIONS), st.randoms(use_true_random=False))
def test_a_faithful_report_passes_in_any_order(situation: Situation, rng: random.Random) -> None:
    report = [dict(r) for r in truths(situation)]
    rng.shuffle(report)
    result = check(situation, truths(situation), report)
    assert result.passed and result.compared == len(report)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(SITUATIONS), st.data())
def test_the_first_difference_is_the_earliest_missed_telegram(situation: Situation, data: st.DataObject) -> None:
    expected = truths(situation)
    missed = data.draw(st.sets(st.integers(0, len(expected) - 1), min_size=1))
    report = [dict(r) for i, r in enumerate(expected) if i not in missed]
    result = check(situation, expected, report)
    first = expected[min(missed)]["timestamp"]
    assert result.first == f"telegram {first}: intact, but the consumer reported nothing for it"
    assert len(result.differences) == len(missed)
