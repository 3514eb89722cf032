"""The gas meter's LCD as a state machine and a drawable frame (SYSTEM G7, G8, G9).

Rules this module keeps:
- the display is off by default; one short press shows the reading; it switches itself off after
  ``READING_IDLE_S``; more than ``PRESSES_PER_DAY`` presses in one local calendar day lock it for one
  local day, until the same wall-clock time tomorrow (``display_day.py`` says why);
- a press held longer than 10 s enters test mode on the legal firmware version; each short press then
  steps: firmware → all segments on → all segments off → reading → firmware …; test mode switches off
  after ``TEST_IDLE_S`` without a press (seed §10 "Extra informatie");
- an empty battery kills the display until the battery is replaced;
- ``TRANSITIONS`` is total: every (state, input) pair has an entry (tests/gasmeter/test_display.py);
- what the LCD shows at an instant is a :class:`LcdFrame`: 8 character cells, decimal points, the flow
  arrow (blinking 0.5 s on / 0.5 s off while gas flows) and the error triangle (error or fraud).

The manual gives no figures for the idle times or the daily press limit; the values below are this
model's, chosen so that the display budget fits the 20-year battery (see battery.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum

READING_IDLE_S = 30
TEST_IDLE_S = 60
LONG_PRESS_S = Decimal(10)
PRESSES_PER_DAY = 30
DIGITS = 8


class DisplayState(Enum):
    OFF = "off"
    READING = "reading"
    TEST_FIRMWARE = "test-firmware"
    TEST_ALL_ON = "test-all-on"
    TEST_ALL_OFF = "test-all-off"
    TEST_READING = "test-reading"
    LOCKED = "locked"  # pressed too often today
    DEAD = "dead"  # battery empty


class DisplayInput(Enum):
    SHORT_PRESS = "short-press"
    LONG_PRESS = "long-press"
    PRESS_OVER_LIMIT = "press-over-limit"
    IDLE_TIMEOUT = "idle-timeout"
    NEW_DAY = "new-day"  # local midnight: the press budget starts afresh
    LOCK_EXPIRED = "lock-expired"  # one local day after the press that locked the display
    BATTERY_EMPTY = "battery-empty"
    BATTERY_REPLACED = "battery-replaced"


S, In = DisplayState, DisplayInput
_TEST_STEP = {
    S.TEST_FIRMWARE: S.TEST_ALL_ON,
    S.TEST_ALL_ON: S.TEST_ALL_OFF,
    S.TEST_ALL_OFF: S.TEST_READING,
    S.TEST_READING: S.TEST_FIRMWARE,
}


def _build_table() -> dict[tuple[DisplayState, DisplayInput], DisplayState]:
    table: dict[tuple[DisplayState, DisplayInput], DisplayState] = {}
    lit = [S.READING, *_TEST_STEP]
    for state in [S.OFF, *lit]:
        table[state, In.LONG_PRESS] = S.TEST_FIRMWARE
        table[state, In.PRESS_OVER_LIMIT] = S.LOCKED
        table[state, In.IDLE_TIMEOUT] = S.OFF
        table[state, In.NEW_DAY] = state  # ignored: the press budget resets, the display does not change
        table[state, In.LOCK_EXPIRED] = state  # ignored: only a locked display waits for it
        table[state, In.BATTERY_EMPTY] = S.DEAD
        table[state, In.BATTERY_REPLACED] = S.OFF
    table[S.OFF, In.SHORT_PRESS] = S.READING
    table[S.READING, In.SHORT_PRESS] = S.READING  # restarts the idle timer
    for state, following in _TEST_STEP.items():
        table[state, In.SHORT_PRESS] = following
    for inp in In:
        table[S.LOCKED, inp] = S.LOCKED  # presses, and midnight, are ignored until the lock expires
        table[S.DEAD, inp] = S.DEAD  # nothing works without a battery
    table[S.LOCKED, In.LOCK_EXPIRED] = S.OFF
    table[S.LOCKED, In.BATTERY_EMPTY] = S.DEAD
    table[S.LOCKED, In.BATTERY_REPLACED] = S.OFF
    table[S.DEAD, In.BATTERY_REPLACED] = S.OFF
    return table


TRANSITIONS: dict[tuple[DisplayState, DisplayInput], DisplayState] = _build_table()

IDLE_S: dict[DisplayState, int] = {
    S.READING: READING_IDLE_S,
    S.TEST_FIRMWARE: TEST_IDLE_S,
    S.TEST_ALL_ON: TEST_IDLE_S,
    S.TEST_ALL_OFF: TEST_IDLE_S,
    S.TEST_READING: TEST_IDLE_S,
}


def is_lit(state: DisplayState) -> bool:
    """Whether the LCD draws current (TEST_ALL_OFF is lit: the segments are driven off on purpose)."""
    return state in IDLE_S


@dataclass(frozen=True, slots=True)
class LcdFrame:
    """What the LCD shows: 8 cells, decimal points after given cells, and the symbol segments."""

    cells: str
    dots: frozenset[int]
    arrow: bool
    triangle: bool
    unit_m3: bool
    lit: bool

    def text(self) -> str:
        """The cells with their decimal points, e.g. ``00391.391``; spaces for dark cells."""
        return "".join(c + ("." if i in self.dots else "") for i, c in enumerate(self.cells))

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text(),
            "cells": self.cells,
            "dots": sorted(self.dots),
            "arrow": self.arrow,
            "triangle": self.triangle,
            "unit_m3": self.unit_m3,
            "lit": self.lit,
        }


BLANK = LcdFrame(" " * DIGITS, frozenset(), arrow=False, triangle=False, unit_m3=False, lit=False)
ALL_ON = LcdFrame("8" * DIGITS, frozenset(range(DIGITS)), arrow=True, triangle=True, unit_m3=True, lit=True)


def reading_cells(index_m3: Decimal, decimals: int) -> tuple[str, frozenset[int]]:
    """The index as 8 digits with the decimal point after the integer part (``00391.391``)."""
    scaled = int(index_m3.scaleb(decimals))
    return f"{scaled:0{DIGITS}d}"[-DIGITS:], frozenset({DIGITS - decimals - 1})


def firmware_cells(version: str) -> tuple[str, frozenset[int]]:
    """``L`` for the legal part, then the version's digits right-aligned, dots where the version has them."""
    digits = version.replace(".", "")
    body = ("L" + digits.rjust(DIGITS - 1))[:DIGITS]
    dots: set[int] = set()
    position = DIGITS - len(digits) - 1
    for char in version:
        if char == ".":
            dots.add(position)
        else:
            position += 1
    return body, frozenset(dots)


def blink_on(now: datetime) -> bool:
    """The arrow's blink phase: lit in the first half of every second."""
    return now.microsecond < 500_000


def render(
    state: DisplayState,
    *,
    now: datetime,
    index_m3: Decimal,
    decimals: int,
    legal_version: str,
    flowing: bool,
    alarm: bool,
) -> LcdFrame:
    """The frame for ``state`` at ``now``."""
    if state in (S.READING, S.TEST_READING):
        cells, dots = reading_cells(index_m3, decimals)
    elif state is S.TEST_FIRMWARE:
        cells, dots = firmware_cells(legal_version)
    elif state is S.TEST_ALL_ON:
        return ALL_ON
    elif state is S.TEST_ALL_OFF:
        return LcdFrame(" " * DIGITS, frozenset(), arrow=False, triangle=False, unit_m3=False, lit=True)
    else:
        return BLANK
    return LcdFrame(
        cells,
        dots,
        arrow=flowing and blink_on(now),
        triangle=alarm,
        unit_m3=state is not S.TEST_FIRMWARE,
        lit=True,
    )
