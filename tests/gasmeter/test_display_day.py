""""A day" of display lockout as a Dutch user lives it (SYSTEM G7; seed §9 "Display"; issue 11 item 4).

The budget of presses restarts at local midnight (Europe/Amsterdam), and a lockout lasts one local day: it
ends tomorrow at the wall-clock time of the press that caused it, 23 h or 25 h later across a DST change.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.display import PRESSES_PER_DAY, DisplayState
from meterkast.gasmeter.display_day import ZONE, is_local_midnight, lockout_end, next_local_midnight
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType

H = timedelta(hours=1)
S = timedelta(seconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("moment", "midnight"),
    [
        (utc(2026, 1, 15, 12), utc(2026, 1, 15, 23)),  # CET: local midnight is 23:00 UTC
        (utc(2026, 1, 15, 23, 30), utc(2026, 1, 16, 23)),  # 00:30 local is already the next day
        (utc(2026, 7, 15, 12), utc(2026, 7, 15, 22)),  # CEST: 22:00 UTC
        (utc(2026, 3, 28, 12), utc(2026, 3, 28, 23)),  # the night before spring-forward is still CET
        (utc(2026, 10, 24, 12), utc(2026, 10, 24, 22)),  # the night before fall-back is still CEST
    ],
)
def test_the_budget_day_turns_at_local_midnight(moment: datetime, midnight: datetime) -> None:
    assert next_local_midnight(moment) == midnight
    assert is_local_midnight(midnight) and not is_local_midnight(midnight + S)


@pytest.mark.parametrize(
    ("locked_at", "ends", "hours"),
    [
        (utc(2026, 1, 15, 22, 41), utc(2026, 1, 16, 22, 41), 24),  # 23:41 local: until 23:41 tomorrow
        (utc(2026, 3, 28, 19), utc(2026, 3, 29, 18), 23),  # Sat 20:00 CET → Sun 20:00 CEST
        (utc(2026, 10, 24, 18), utc(2026, 10, 25, 19), 25),  # Sat 20:00 CEST → Sun 20:00 CET
        (utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30), 24),  # 02:30 does not exist on Sunday: 03:30 CEST
        (utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), 24),  # 02:30 exists twice on Sunday: the first
    ],
)
def test_a_lockout_lasts_one_local_day_across_both_dst_changes(locked_at: datetime, ends: datetime, hours: int) -> None:
    assert lockout_end(locked_at) == ends
    assert ends - locked_at == hours * H


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)))
def test_lockout_is_23_to_25_hours_and_keeps_the_wall_clock(locked_at: datetime) -> None:
    ends = lockout_end(locked_at)
    assert 23 * H <= ends - locked_at <= 25 * H
    before, after = locked_at.astimezone(ZONE), ends.astimezone(ZONE)
    assert after.date() == before.date() + timedelta(days=1)
    if ends - locked_at == 24 * H or after.time() == before.time():
        return
    # Only the DST hour on the changeover Sunday may shift the wall clock (a time that does not exist).
    assert after.month in (3, 10) and after.weekday() == 6


def locked_meter(locked_at: datetime) -> GasMeter:
    """A G4 whose display the press at ``locked_at`` locks (the budget used up just before)."""
    meter = GasMeter.manufacture(MeterType.G4, "G0001123456789012", locked_at - H, random.Random(1))
    first = locked_at - (PRESSES_PER_DAY * 2 + 5) * S
    for i in range(PRESSES_PER_DAY):
        meter.handle(first + i * 2 * S, cmd.PressButton())
    meter.handle(locked_at, cmd.PressButton())
    assert meter.display_state is DisplayState.LOCKED
    return meter


@pytest.mark.parametrize(
    ("locked_at", "hours"),
    [(utc(2026, 1, 15, 22, 41), 24), (utc(2026, 3, 28, 19), 23), (utc(2026, 10, 24, 18), 25)],
)
def test_the_meter_stays_dark_for_one_local_day(locked_at: datetime, hours: int) -> None:
    meter = locked_meter(locked_at)
    meter.advance(next_local_midnight(locked_at) + S)  # midnight restarts the budget, not the display
    assert meter.display_state is DisplayState.LOCKED
    meter.handle(locked_at + hours * H - S, cmd.PressButton())
    assert meter.display_state is DisplayState.LOCKED
    assert meter.next_deadline() == locked_at + hours * H
    meter.handle(locked_at + hours * H, cmd.PressButton())
    assert meter.display_state is DisplayState.READING


@pytest.mark.parametrize("midnight", [utc(2026, 1, 15, 23), utc(2026, 7, 15, 22)])
def test_the_press_budget_restarts_at_local_midnight(midnight: datetime) -> None:
    meter = GasMeter.manufacture(MeterType.G4, "G0001123456789012", midnight - 2 * H, random.Random(1))
    start = midnight - 10 * 60 * S
    for i in range(PRESSES_PER_DAY):
        meter.handle(start + i * 2 * S, cmd.PressButton())
    assert meter.presses_today == PRESSES_PER_DAY
    meter.handle(midnight + S, cmd.PressButton())  # UTC says the same day; Amsterdam says a new one
    assert meter.display_state is DisplayState.READING and meter.presses_today == 1
