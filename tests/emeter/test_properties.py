"""Hourly deltas sum to daily deltas sum to monthly deltas, over any window (SYSTEM E2, C3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import example, given, settings
from hypothesis import strategies as st

from meterkast.emeter import AmrStatus
from tests.emeter.conftest import drive, new_meter, utc

MONTH_ENDS = [utc(2023, 10, 28), utc(2024, 2, 26), utc(2024, 3, 28), utc(2024, 12, 29), utc(2025, 3, 27)]


@settings(max_examples=25, deadline=None)
@given(
    start=st.sampled_from(MONTH_ENDS).flatmap(lambda d: st.integers(0, 96).map(lambda h: d + timedelta(hours=h))),
    hours=st.integers(min_value=30, max_value=240),
    use=st.lists(st.integers(min_value=0, max_value=4000), min_size=1, max_size=50),
    failures=st.sets(st.integers(min_value=0, max_value=239), max_size=10),
    window=st.tuples(st.integers(0, 10_000), st.integers(0, 10_000)),
)
# Found by Hypothesis: the reads of the first two hours fail, so the first midnight (22:00 UTC, CEST) comes
# before the device was ever read and the daily entry has no value for it.
@example(start=utc(2023, 10, 28, 21), hours=30, use=[0], failures={0, 1}, window=(0, 0))
def test_deltas_add_up_across_profiles(
    start: datetime, hours: int, use: list[int], failures: set[int], window: tuple[int, int]
) -> None:
    def index(_channel: int, hour: datetime) -> Decimal:
        n = int((hour - start).total_seconds()) // 3600 + 1
        return Decimal(sum(use[i % len(use)] for i in range(n))).scaleb(-3)

    def fails(_channel: int, at: datetime) -> bool:
        return int((at - start).total_seconds()) // 3600 in failures

    meter = new_meter(start + timedelta(minutes=30))
    drive(meter, start + timedelta(hours=hours, minutes=30), gas=index, fail=fails)
    hourly = list(meter.hourly_profile(1))
    daily = list(meter.daily_profile)
    monthly = list(meter.monthly_profile)
    assert hourly, "at least one hour was filed"
    # valid hourly entries carry exactly the device's value for their hour
    for entry in hourly:
        if not entry.status & AmrStatus.DNV:
            assert entry.value_m3 == index(1, entry.clock) and entry.capture_time == entry.clock
    # any window of hourly entries: deltas telescope to the difference of its ends
    a, b = sorted(w % len(hourly) for w in window)
    deltas = [y.value_m3 - x.value_m3 for x, y in pairwise(hourly[a : b + 1])]
    assert sum(deltas, Decimal(0)) == hourly[b].value_m3 - hourly[a].value_m3
    # a daily or monthly value is the hourly value of its 00:00, so their deltas equal hourly sums
    by_clock = {e.clock.timestamp(): e for e in hourly}
    read = [e.clock.timestamp() for e in hourly if not e.status & AmrStatus.DNV]
    for coarse in (daily, monthly):
        for entry in coarse:  # no channel value only while the device was never read yet
            assert entry.channel(1) is not None or not read or entry.clock.timestamp() < read[0]
        for x, y in pairwise(coarse):
            hx, hy = by_clock.get(x.clock.timestamp()), by_clock.get(y.clock.timestamp())
            vx, vy = x.channel(1), y.channel(1)
            if vx is None or vy is None:
                continue
            if hx is not None and hy is not None:
                inside = [e for e in hourly if x.clock.timestamp() <= e.clock.timestamp() <= y.clock.timestamp()]
                hourly_sum = sum((q.value_m3 - p.value_m3 for p, q in pairwise(inside)), Decimal(0))
                assert hourly_sum == vy.value_m3 - vx.value_m3
    for entry in monthly:
        same_day = [d for d in daily if d.clock.timestamp() == entry.clock.timestamp()]
        assert same_day and same_day[0].mbus == entry.mbus
        assert entry.clock.day == 1 and entry.clock.hour == 0
