"""Property (Hypothesis): for random consent histories and outage windows, what the CS plans and performs
stores exactly the periods consent allows, with no gaps and no duplicates once it has caught up
(SYSTEM C1, C2, E2; issue 6). A simulated E-meter on the in-memory P3 link, a SQLite store, simulated time.

The oracle is the rule itself, independent of the scheduler: an entry with clock t of period type P ends
up stored iff the meter holds a value for t and some successful contact at r had t filed by then
(t <= r − 15 min), consent allowing P at t *and* at r (a raise does not reach back; a withdrawal stops
collection at once).
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkast.central import rules
from meterkast.central.model import ConsentLevel, PeriodType
from meterkast.cs.schedule import AVAILABLE_AFTER, ScheduleSettings
from tests.cs.helpers import (
    CONN,
    E_ID,
    drive,
    entry_for,
    memory_cs,
    meter_values,
    new_meter,
    p3_server,
    sqlite_store,
    stored_rows,
)

# 2026-01-30 00:00 local: the window holds a month boundary (monthly entry 2026-02-01 00:00 local).
T0 = datetime(2026, 1, 29, 23, tzinfo=UTC)
ROUND = timedelta(hours=6)
ROUNDS = 14  # 3.5 days
SETTINGS = ScheduleSettings(round_interval=ROUND, round_offset=timedelta(minutes=15))

levels = st.sampled_from(list(ConsentLevel))
changes = st.lists(st.tuples(st.integers(0, ROUNDS * 6), st.integers(0, 59), levels), max_size=5)
outages = st.lists(st.tuples(st.integers(1, ROUNDS - 1), st.integers(1, 5)), max_size=3)


def round_times() -> list[datetime]:
    first = SETTINGS.next_round(T0)
    return [first + k * ROUND for k in range(ROUNDS + 1)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes, outages, levels)
def test_reads_yield_exactly_the_allowed_periods_without_gaps_or_duplicates(
    consent_changes: list[tuple[int, int, ConsentLevel]], outage_windows: list[tuple[int, int]],
    initial: ConsentLevel,
) -> None:
    history = sorted({T0: initial, **{T0 + timedelta(hours=h, minutes=m): lv for h, m, lv in consent_changes}}.items())
    times = round_times()
    down_rounds = {k for start, length in outage_windows for k in range(start, min(start + length, ROUNDS))}
    # the last round always gets through: "after catch-up"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cs.sqlite"
        store = sqlite_store(path)
        meter = new_meter(T0)
        state = {"down": False}
        cs = memory_cs(store, T0, {E_ID: p3_server(meter)}, lambda _e: state["down"], settings=SETTINGS)
        cs.enrol(entry_for(meter, T0), at=T0)
        for valid_from, level in history:  # recorded at T0, in force from valid_from: never backdated
            store.set_consent(CONN, level, valid_from, T0)

        async def run() -> list[datetime]:
            succeeded = []
            for k, moment in enumerate(times):
                drive(meter, moment, T0)
                state["down"] = k in down_rounds
                report = await cs.step(moment)
                if report.contacts and not report.failures:
                    succeeded.append(moment)
            return succeeded

        succeeded = asyncio.run(run())
        store.close()
        kept = stored_rows(path)

    pairs = [(t, lv) for t, lv in history]
    for period_type in PeriodType:
        on_meter = meter_values(meter, period_type)

        def allowed(moment: datetime, p: PeriodType = period_type) -> bool:
            return rules.consent_allows(rules.level_at(pairs, moment), p)

        expected = {
            t for t in on_meter
            if allowed(t) and any(t <= r - AVAILABLE_AFTER and allowed(r) for r in succeeded)
        }
        assert set(kept[period_type]) == expected, period_type
        assert all(kept[period_type][t] == on_meter[t] for t in expected)
    assert times[-1] in succeeded
    assert cs.stats.rows_repeated == 0  # the CS never asked twice for what it had
    assert cs.stats.rows_stored == sum(len(v) for v in kept.values())
