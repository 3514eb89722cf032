"""Ground truth: what really flowed, hour by hour, so a P1 tool's figures can be checked (issue 5).

The installation tells :class:`GroundTruth` every stretch of constant flow (``add_flow``) and every whole
UTC hour (``close_hour``); ``hours()`` then lists, per simulated hour:
- ``consumed_m3``: the gas that really flowed, **converted as the meter converts** (DSMR-M 4.3.48: to
  0 °C and 1013.25 mbar at the meter's assumed pressure, 1041.25 mbar for this DSMR 4.0.5 meter, SYSTEM
  G3), at the true gas temperature, exactly (no diaphragm-cycle counting, no error curve, no register
  truncation, no dead battery). A perfect meter's index would move by exactly this much;
- ``actual_m3``: the same gas as volume at gas conditions (what flowed through the pipe, unconverted);
- ``index_m3``: the index of the gas meter on that supply at the hour's end (``None`` while none is
  installed), so the difference between index steps and ``consumed_m3`` is the meter's own error.

Gas flows whatever happens to the meter (decoupled, replaced, battery empty): the truth keeps counting.
Each supply (a household's gas line, numbered 1, 2, … in order of installation) has its own rows. Hours
are UTC, start-stamped; the first hour may be partial (it starts when the installation does).

Rules: exact ``Decimal`` sums (slicing time differently gives the same totals); plain data, so it pickles
with the installation; at most ``keep_hours`` rows per supply are kept (the totals keep counting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext

from meterkast.units import ASSUMED_PRESSURE_DSMR40_MBAR, PRECISION, ZERO, conversion_factor

_US_PER_HOUR = Decimal(3_600_000_000)
REPORT_QUANTUM = Decimal("0.000001")  # 1 cm³: far below any register's resolution
DEFAULT_KEEP_HOURS = 24 * 400  # a year and a month of hours per supply


@dataclass(frozen=True, slots=True)
class TruthHour:
    """One simulated hour of one supply (``hour`` is its UTC start)."""

    hour: datetime
    consumed_m3: Decimal  # converted volume, as the meter converts (normal m³)
    actual_m3: Decimal  # volume at gas conditions
    index_m3: Decimal | None  # the supply's gas meter at the hour's end
    meter_number: str | None = None
    channel: int | None = None
    supply: int = 1


@dataclass(slots=True)
class _Supply:
    open_converted: Decimal = ZERO
    open_actual: Decimal = ZERO
    total_converted: Decimal = ZERO
    total_actual: Decimal = ZERO
    rows: list[TruthHour] = field(default_factory=list)


class GroundTruth:
    def __init__(
        self, *, pressure_mbar: Decimal = ASSUMED_PRESSURE_DSMR40_MBAR, keep_hours: int = DEFAULT_KEEP_HOURS
    ) -> None:
        self.pressure_mbar = pressure_mbar
        self.keep_hours = keep_hours
        self._supplies: dict[int, _Supply] = {}
        self._factors: dict[Decimal, Decimal] = {}

    def _supply(self, supply: int) -> _Supply:
        return self._supplies.setdefault(supply, _Supply())

    def add_flow(self, supply: int, flow_m3h: Decimal, gas_temp_c: Decimal, duration_us: int) -> None:
        """``flow_m3h`` ran for ``duration_us`` microseconds inside the current hour."""
        if flow_m3h <= 0 or duration_us <= 0:
            return
        factor = self._factors.get(gas_temp_c)
        if factor is None:
            factor = self._factors[gas_temp_c] = conversion_factor(gas_temp_c, self.pressure_mbar)
        state = self._supply(supply)
        with localcontext(PRECISION):
            actual = flow_m3h * duration_us / _US_PER_HOUR
            state.open_actual += actual
            state.open_converted += actual * factor

    def close_hour(
        self,
        hour: datetime,
        supply: int,
        *,
        index_m3: Decimal | None,
        meter_number: str | None = None,
        channel: int | None = None,
    ) -> TruthHour:
        """The hour that started at ``hour`` is over: file its row and start the next one at zero."""
        state = self._supply(supply)
        row = TruthHour(
            hour,
            state.open_converted.quantize(REPORT_QUANTUM),
            state.open_actual.quantize(REPORT_QUANTUM),
            index_m3,
            meter_number,
            channel,
            supply,
        )
        with localcontext(PRECISION):
            state.total_converted += state.open_converted
            state.total_actual += state.open_actual
        state.open_converted = state.open_actual = ZERO
        state.rows.append(row)
        del state.rows[: -self.keep_hours]
        return row

    # -- queries ---------------------------------------------------------------------------------------

    @property
    def supplies(self) -> list[int]:
        return sorted(self._supplies)

    def hours(self, supply: int = 1) -> list[TruthHour]:
        """Every kept hour of ``supply``, oldest first."""
        state = self._supplies.get(supply)
        return list(state.rows) if state is not None else []

    def last(self, supply: int = 1) -> TruthHour | None:
        state = self._supplies.get(supply)
        return state.rows[-1] if state is not None and state.rows else None

    def total_m3(self, supply: int = 1) -> Decimal:
        """Converted gas of every closed hour since the start (including hours no longer kept)."""
        state = self._supplies.get(supply)
        return state.total_converted.quantize(REPORT_QUANTUM) if state is not None else ZERO

    def current_m3(self, supply: int = 1) -> Decimal:
        """Converted gas so far in the hour that is still running."""
        state = self._supplies.get(supply)
        return state.open_converted.quantize(REPORT_QUANTUM) if state is not None else ZERO
