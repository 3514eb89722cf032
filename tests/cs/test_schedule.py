"""The scheduler core: consent → profiles, windows, plans, and the per-meter link state machine with
throttling and backoff (cs/schedule.py), all on injected time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.central import rules
from meterkast.central.model import ConsentLevel, Gap, PeriodType
from meterkast.cs.schedule import (
    TRANSITIONS,
    CommunicationLost,
    CommunicationRestored,
    LinkInput,
    LinkState,
    RetryScheduled,
    RoundStarted,
    Scheduler,
    ScheduleSettings,
    periods_allowed,
    plan_meter,
    read_window,
    retention_start,
)
from meterkast.errors import CommandRefused, InvalidInput
from tests.cs.helpers import CONN, E_ID, G_ID

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_the_link_table_is_total() -> None:
    assert set(TRANSITIONS) == {(s, i) for s in LinkState for i in LinkInput}


@pytest.mark.parametrize("level", list(ConsentLevel))
def test_consent_decides_the_profiles(level: ConsentLevel) -> None:
    expected = {p for p in PeriodType if level.rank >= rules.REQUIRED_CONSENT[p].rank}
    assert set(periods_allowed(level)) == expected
    assert {
        ConsentLevel.NONE: set(), ConsentLevel.STANDARD: {PeriodType.MONTHLY}, ConsentLevel.DETAILED: set(PeriodType),
    }[level] == expected


def test_windows_follow_the_meters_retention_and_the_xx11_filing() -> None:
    now = datetime(2026, 3, 20, 10, 15, tzinfo=UTC)
    assert retention_start(PeriodType.INTERVAL, now) == now - timedelta(days=10)
    assert retention_start(PeriodType.DAILY, now) == now - timedelta(days=40)
    assert retention_start(PeriodType.MONTHLY, now) == rules.months_before(now, 13)
    assert read_window(PeriodType.INTERVAL, now, T0) == (now - timedelta(days=10), datetime(2026, 3, 20, 10, 0,
                                                                                          tzinfo=UTC))
    assert read_window(PeriodType.INTERVAL, T0 + timedelta(minutes=14), T0) is None  # nothing filed yet
    assert read_window(PeriodType.DAILY, now, T0) == (T0, now - timedelta(minutes=15))


def test_a_plan_reads_each_gap_run_and_refuses_what_consent_does_not_allow() -> None:
    gaps = {PeriodType.MONTHLY: [Gap(G_ID, 1, PeriodType.MONTHLY, T0, T0, 1)]}
    plan = plan_meter(E_ID, CONN, ConsentLevel.STANDARD, gaps, now=T0, events_after=T0)
    assert [(r.period_type, r.logical_name, r.count) for r in plan.reads] == [
        (PeriodType.MONTHLY, "0-0:98.1.0.255", 1)]
    assert [(r.period_type, r.required) for r in plan.refused] == [
        (PeriodType.DAILY, ConsentLevel.DETAILED), (PeriodType.INTERVAL, ConsentLevel.DETAILED)]
    hourly = Gap(G_ID, 2, PeriodType.INTERVAL, T0, T0 + timedelta(hours=3), 4)
    with pytest.raises(InvalidInput, match="consent is standard"):
        plan_meter(E_ID, CONN, ConsentLevel.STANDARD, {PeriodType.INTERVAL: [hourly]}, now=T0, events_after=T0)
    detailed = plan_meter(E_ID, CONN, ConsentLevel.DETAILED, {PeriodType.INTERVAL: [hourly]}, now=T0, events_after=T0)
    assert detailed.refused == () and detailed.reads[0].logical_name == "0-2:24.3.0.255"
    assert detailed.reads[0].instants() == [T0 + timedelta(hours=h) for h in range(4)] and detailed.expected == 4
    nothing = plan_meter(E_ID, CONN, ConsentLevel.NONE, {}, now=T0, events_after=T0)
    assert nothing.reads == () and len(nothing.refused) == 3


def test_settings_refuse_nonsense() -> None:
    with pytest.raises(InvalidInput):
        ScheduleSettings(max_concurrent=0)
    with pytest.raises(InvalidInput):
        ScheduleSettings(round_offset=timedelta(hours=2))
    with pytest.raises(InvalidInput):
        ScheduleSettings(backoff_base=timedelta(hours=2), backoff_cap=timedelta(hours=1))
    s = ScheduleSettings()
    assert [s.backoff(n) for n in (1, 2, 3, 7, 100)] == [timedelta(seconds=60), timedelta(seconds=120),
                                                        timedelta(seconds=240), timedelta(hours=1), timedelta(hours=1)]
    assert s.next_round(T0) == T0 + timedelta(minutes=15)
    assert s.next_round(T0 + timedelta(minutes=15)) == T0 + timedelta(hours=1, minutes=15)


def test_misuse_is_refused_and_a_round_during_a_read_makes_the_meter_due_again() -> None:
    scheduler = Scheduler(ScheduleSettings(), T0)
    scheduler.add(E_ID, T0)
    with pytest.raises(CommandRefused, match="'success' is not possible while 'due'"):
        scheduler.succeeded(E_ID, T0)
    assert scheduler.take_due(T0) == [E_ID]
    assert isinstance(scheduler.advance(T0 + timedelta(minutes=15))[0], RoundStarted)
    assert scheduler.links[E_ID].state is LinkState.READING_DUE
    scheduler.succeeded(E_ID, T0 + timedelta(minutes=16))
    assert scheduler.take_due(T0 + timedelta(minutes=16)) == [E_ID]
    with pytest.raises(InvalidInput, match="not scheduled"):
        scheduler.failed("E0031000000000125", T0, "x")


# ---- property: throttling, backoff and loss over random runs -------------------------------------------

Op = tuple[str, int]
ops = st.lists(st.tuples(st.sampled_from(["wait", "take", "ok", "fail"]), st.integers(0, 200)), max_size=120)


@settings(max_examples=150, deadline=None)
@given(ops, st.integers(1, 4), st.integers(1, 4), st.integers(1, 6))
def test_scheduler_throttles_backs_off_and_reports_loss_once(
    steps: list[Op], max_concurrent: int, loss_after: int, meters: int
) -> None:
    cfg = ScheduleSettings(max_concurrent=max_concurrent, loss_after=loss_after)
    scheduler = Scheduler(cfg, T0)
    names = [f"E0031{n:010d}25" for n in range(1, meters + 1)]
    for name in names:
        scheduler.add(name, T0)
    now, reading, failures = T0, [], dict.fromkeys(names, 0)
    lost: dict[str, int] = dict.fromkeys(names, 0)
    for op, arg in steps:
        if op == "wait":
            now += timedelta(minutes=arg)
            scheduler.advance(now)
        elif op == "take":
            taken = scheduler.take_due(now)
            for name in taken:
                link = scheduler.links[name]
                assert link.retry_at is None or link.retry_at <= now  # a backoff is never cut short
            reading += taken
        elif reading:
            name = reading.pop(arg % len(reading))
            if op == "ok":
                events = scheduler.succeeded(name, now)
                restored = [e for e in events if isinstance(e, CommunicationRestored)]
                assert bool(restored) == (failures[name] >= loss_after)
                failures[name] = lost[name] = 0
            else:
                events = scheduler.failed(name, now, "no answer")
                failures[name] += 1
                retry = next(e for e in events if isinstance(e, RetryScheduled))
                assert retry.at == now + cfg.backoff(failures[name])
                lost[name] += sum(isinstance(e, CommunicationLost) for e in events)
                assert lost[name] == (1 if failures[name] >= loss_after else 0)
        assert scheduler.busy == len(reading) <= max_concurrent
        assert scheduler.next_deadline() <= scheduler.next_round_at
    # Left alone, every meter is read again: finish what is in flight, then let time pass.
    for name in reading:
        scheduler.succeeded(name, now)
    now += timedelta(hours=2)
    scheduler.advance(now)
    seen: set[str] = set()
    while taken := scheduler.take_due(now):
        assert len(taken) <= max_concurrent
        seen |= set(taken)
        for name in taken:
            scheduler.succeeded(name, now)
    assert seen == set(names)
