"""Clocks: simulated time with a speed knob and forward-only jumps; real clock in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meterkast.clock import SimClock, SystemClock
from meterkast.errors import ClockError

START = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_speed_scales_real_elapsed_time() -> None:
    mono = FakeMonotonic()
    clock = SimClock(START, speed=3600, monotonic=mono)
    mono.t += 2.0
    assert clock.now() == START + timedelta(hours=2)


def test_speed_zero_only_moves_when_told() -> None:
    mono = FakeMonotonic()
    clock = SimClock(START, monotonic=mono)
    mono.t += 1000
    assert clock.now() == START
    assert clock.jump(timedelta(minutes=5)) == START + timedelta(minutes=5)


def test_changing_speed_keeps_the_current_instant() -> None:
    mono = FakeMonotonic()
    clock = SimClock(START, speed=10, monotonic=mono)
    mono.t += 6
    clock.speed = 1
    assert clock.now() == START + timedelta(seconds=60)
    mono.t += 1
    assert clock.now() == START + timedelta(seconds=61)


def test_never_backwards() -> None:
    clock = SimClock(START, monotonic=FakeMonotonic())
    with pytest.raises(ClockError, match="backwards"):
        clock.jump(timedelta(seconds=-1))
    with pytest.raises(ClockError, match="before now"):
        clock.advance_to(START - timedelta(seconds=1))
    with pytest.raises(ClockError, match="negative"):
        SimClock(START, speed=-1)


def test_naive_start_is_refused() -> None:
    with pytest.raises(ClockError, match="no time zone"):
        SimClock(datetime(2026, 1, 1))


def test_system_clock_is_utc() -> None:
    assert SystemClock(lambda: 0.0).now() == datetime(1970, 1, 1, tzinfo=UTC)
