"""The display state machine (SYSTEM G7–G9): totality, reachable sequences, LCD frames."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from meterkast.gasmeter.display import (
    IDLE_S,
    TRANSITIONS,
    DisplayInput,
    DisplayState,
    firmware_cells,
    is_lit,
    reading_cells,
    render,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, 100_000, tzinfo=UTC)


def test_table_is_total() -> None:
    missing = [(s, i) for s in DisplayState for i in DisplayInput if (s, i) not in TRANSITIONS]
    assert not missing
    assert len(TRANSITIONS) == len(DisplayState) * len(DisplayInput)


def test_every_lit_state_has_an_idle_time_and_only_those() -> None:
    assert {s for s in DisplayState if is_lit(s)} == set(IDLE_S)


def test_test_mode_cycle_per_the_manual() -> None:
    # seed §10 "Extra informatie": firmware → all on → all off → reading.
    state = TRANSITIONS[DisplayState.OFF, DisplayInput.LONG_PRESS]
    seen = [state]
    for _ in range(4):
        state = TRANSITIONS[state, DisplayInput.SHORT_PRESS]
        seen.append(state)
    assert seen == [
        DisplayState.TEST_FIRMWARE, DisplayState.TEST_ALL_ON, DisplayState.TEST_ALL_OFF,
        DisplayState.TEST_READING, DisplayState.TEST_FIRMWARE,
    ]


@given(st.lists(st.sampled_from(list(DisplayInput)), max_size=60))
def test_every_sequence_ends_in_a_legal_state(inputs: list[DisplayInput]) -> None:
    state = DisplayState.OFF
    for given_input in inputs:
        state = TRANSITIONS[state, given_input]
        assert state in DisplayState
        if given_input is DisplayInput.BATTERY_EMPTY:
            assert state is DisplayState.DEAD
        if given_input is DisplayInput.IDLE_TIMEOUT:
            assert not is_lit(state)
    # Whatever happened, a battery replacement and the end of a lockout bring back a working display.
    state = TRANSITIONS[TRANSITIONS[state, DisplayInput.BATTERY_REPLACED], DisplayInput.LOCK_EXPIRED]
    assert TRANSITIONS[state, DisplayInput.SHORT_PRESS] is DisplayState.READING


def test_a_locked_display_waits_for_its_lock_to_expire_not_for_midnight() -> None:
    # SYSTEM G7, seed §9: "gedurende een dag" is one local day from the press (display_day.py).
    assert TRANSITIONS[DisplayState.LOCKED, DisplayInput.NEW_DAY] is DisplayState.LOCKED
    assert TRANSITIONS[DisplayState.LOCKED, DisplayInput.LOCK_EXPIRED] is DisplayState.OFF
    for state in DisplayState:
        if state is not DisplayState.LOCKED:
            assert TRANSITIONS[state, DisplayInput.LOCK_EXPIRED] is state


def test_dead_stays_dead_until_replaced() -> None:
    for given_input in DisplayInput:
        expected = DisplayState.OFF if given_input is DisplayInput.BATTERY_REPLACED else DisplayState.DEAD
        assert TRANSITIONS[DisplayState.DEAD, given_input] is expected


def test_reading_cells_g4_and_g10() -> None:
    assert reading_cells(Decimal("391.391"), 3) == ("00391391", frozenset({4}))
    assert reading_cells(Decimal("3913.91"), 2) == ("00391391", frozenset({5}))


def test_firmware_cells() -> None:
    cells, dots = firmware_cells("1.08")
    assert cells == "L    108"
    assert dots == frozenset({5})


def test_frames() -> None:
    common = {"now": NOW, "index_m3": Decimal("12.345"), "decimals": 3, "legal_version": "1.08"}
    reading = render(DisplayState.READING, flowing=True, alarm=True, **common)  # type: ignore[arg-type]
    assert reading.text() == "00012.345"
    assert reading.arrow and reading.triangle and reading.unit_m3
    off = render(DisplayState.OFF, flowing=True, alarm=True, **common)  # type: ignore[arg-type]
    assert not off.lit and not off.arrow and off.cells.strip() == ""
    all_on = render(DisplayState.TEST_ALL_ON, flowing=False, alarm=False, **common)  # type: ignore[arg-type]
    assert all_on.cells == "88888888" and all_on.arrow and all_on.triangle
    all_off = render(DisplayState.TEST_ALL_OFF, flowing=True, alarm=True, **common)  # type: ignore[arg-type]
    assert all_off.lit and not all_off.arrow and not all_off.triangle
    later = NOW.replace(microsecond=600_000)
    blink = render(DisplayState.READING, flowing=True, alarm=False, **{**common, "now": later})  # type: ignore[arg-type]
    assert not blink.arrow  # the arrow blinks: dark in the second half of the second
