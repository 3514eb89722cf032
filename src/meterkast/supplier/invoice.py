"""The supplier's view of a gas connection: per period the metered volume, the corrected volume and the
energy (SYSTEM G4; manual §9, Drukaanpassing; parameters and their sources in ``parameters.py``).

Input is a series of register readings (index in m³ at an instant, per gas meter), as the central system
keeps them and passes them on over P4. A period runs from one boundary reading to the next of the same
gas meter::

    metered   = index_end − index_start                       m³ at the meter's own assumption (DSMR-M 4.3.48)
    corrected = metered × pressure factor of the period start  m³(n) at the legal air pressure (ACM, 2015)
    energy    = corrected × Hs                                 MJ;  kWh = MJ / 3.6

Rules this module keeps:
- a lenient reader of stored data (STYLE): a period whose index goes down is not invoiced but listed in
  ``skipped`` with the reason, next to every good period; no period spans two gas meters (a replaced
  meter starts its own series); readings without a boundary (e.g. an hourly reading when days are
  asked for) are passed over, and a missing boundary makes the period longer, which its start and end show;
- ``Granularity`` chooses the boundaries: every reading (the profile's own hour, day or month), local
  midnight (Europe/Amsterdam, as the E-meter files daily values), or local midnight on the 1st;
- a period is wholly in the pressure regime in force at its start (the consumption is counted from then);
- all arithmetic is exact Decimal; figures are rounded once, when shown (``parameters.ROUNDING``);
- sans-I/O: no clock, no files; time zones come from ``zoneinfo`` data only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from enum import Enum
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from meterkast.errors import InvalidInput
from meterkast.supplier.parameters import (
    ENERGY_STEP,
    FACTOR_STEP,
    MJ_PER_KWH,
    ROUNDING,
    VOLUME_STEP,
    InvoiceParameters,
    quantize,
)
from meterkast.units import PRECISION, ZERO

ZONE = ZoneInfo("Europe/Amsterdam")  # the E-meter's local time (P3-4.2.2 §5.3), where days and months begin
JSON = dict[str, Any]


class Granularity(Enum):
    """Where periods begin and end."""

    READING = "reading"  # every reading: the profile's own period (hour, day or month)
    DAY = "day"  # 00:00 local time
    MONTH = "month"  # 00:00 local time on the 1st

    def is_boundary(self, moment: datetime) -> bool:
        if self is Granularity.READING:
            return True
        local = moment.astimezone(ZONE)
        midnight = (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)
        return midnight and (self is Granularity.DAY or local.day == 1)


@dataclass(frozen=True, slots=True)
class IndexReading:
    """The register of ``gas_meter`` showed ``index_m3`` at ``at`` (an aware instant)."""

    at: datetime
    index_m3: Decimal
    gas_meter: str

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidInput(f"reading of {self.gas_meter} at {self.at.isoformat()} has no time zone")
        if not isinstance(self.index_m3, Decimal) or not self.index_m3.is_finite() or self.index_m3 < 0:
            raise InvalidInput(f"reading of {self.gas_meter} at {self.at.isoformat()}: index {self.index_m3!r} "
                               "must be a finite, non-negative Decimal (m³), never a float")


@dataclass(frozen=True, slots=True)
class Period:
    """One invoiced period, exact; ``to_json`` rounds."""

    start: datetime
    end: datetime
    gas_meter: str
    index_start_m3: Decimal
    index_end_m3: Decimal
    pressure_factor: Decimal

    @property
    def metered_m3(self) -> Decimal:
        return self.index_end_m3 - self.index_start_m3

    @property
    def corrected_m3(self) -> Decimal:
        with localcontext(PRECISION):
            return self.metered_m3 * self.pressure_factor

    def to_json(self, parameters: InvoiceParameters) -> JSON:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "gas_meter": self.gas_meter,
                "index_start_m3": str(self.index_start_m3), "index_end_m3": str(self.index_end_m3),
                "pressure_factor": str(quantize(self.pressure_factor, FACTOR_STEP)),
                **_figures(self.metered_m3, self.corrected_m3, parameters)}


@dataclass(frozen=True, slots=True)
class Skipped:
    """A stretch between two readings that is not invoiced, and why."""

    start: datetime
    end: datetime
    gas_meter: str
    reason: str

    def to_json(self) -> JSON:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "gas_meter": self.gas_meter,
                "reason": self.reason}


def energy_mj(corrected_m3: Decimal, parameters: InvoiceParameters) -> Decimal:
    """Energy of a volume in m³(n) at the calorific value Hs (SYSTEM G4)."""
    with localcontext(PRECISION):
        return corrected_m3 * parameters.calorific_mj_per_m3


def mj_to_kwh(mj: Decimal) -> Decimal:
    with localcontext(PRECISION):
        return mj / MJ_PER_KWH


def _figures(metered: Decimal, corrected: Decimal, parameters: InvoiceParameters) -> JSON:
    mj = energy_mj(corrected, parameters)
    return {"metered_m3": str(quantize(metered, VOLUME_STEP)), "corrected_m3": str(quantize(corrected, VOLUME_STEP)),
            "energy_mj": str(quantize(mj, ENERGY_STEP)), "energy_kwh": str(quantize(mj_to_kwh(mj), ENERGY_STEP))}


@dataclass(frozen=True, slots=True)
class SupplierView:
    granularity: Granularity
    parameters: InvoiceParameters
    periods: tuple[Period, ...]
    skipped: tuple[Skipped, ...]

    @property
    def metered_m3(self) -> Decimal:
        return sum((p.metered_m3 for p in self.periods), ZERO)

    @property
    def corrected_m3(self) -> Decimal:
        with localcontext(PRECISION):
            return sum((p.corrected_m3 for p in self.periods), ZERO)

    @property
    def energy_mj(self) -> Decimal:
        return energy_mj(self.corrected_m3, self.parameters)

    def total_json(self) -> JSON | None:
        """The whole range asked for (the custom period): exact sums, rounded once."""
        if not self.periods:
            return None
        return {"start": min(p.start for p in self.periods).isoformat(),
                "end": max(p.end for p in self.periods).isoformat(), "periods": len(self.periods),
                **_figures(self.metered_m3, self.corrected_m3, self.parameters)}

    def to_json(self) -> JSON:
        return {"granularity": self.granularity.value, "parameters": self.parameters.to_json(),
                "rounding": ROUNDING, "periods": [p.to_json(self.parameters) for p in self.periods],
                "total": self.total_json(), "skipped": [s.to_json() for s in self.skipped]}


def supplier_view(
    readings: Iterable[IndexReading],
    granularity: Granularity = Granularity.READING,
    parameters: InvoiceParameters | None = None,
) -> SupplierView:
    """Periods between consecutive boundary readings of each gas meter, oldest first."""
    params = parameters or InvoiceParameters()
    by_meter: dict[str, dict[datetime, IndexReading]] = {}
    skipped: list[Skipped] = []
    for reading in readings:
        if not granularity.is_boundary(reading.at):
            continue
        series = by_meter.setdefault(reading.gas_meter, {})
        seen = series.get(reading.at)
        if seen is None:
            series[reading.at] = reading
        elif seen.index_m3 != reading.index_m3:
            skipped.append(Skipped(reading.at, reading.at, reading.gas_meter,
                                   f"two readings at the same instant: {seen.index_m3} and {reading.index_m3} m³; "
                                   "the first is kept"))
    periods: list[Period] = []
    for meter, series in by_meter.items():
        ordered = [series[at] for at in sorted(series)]
        for first, last in pairwise(ordered):
            if last.index_m3 < first.index_m3:
                skipped.append(Skipped(first.at, last.at, meter,
                                       f"the index went down from {first.index_m3} to {last.index_m3} m³; a "
                                       "register only counts up, so this stretch is not invoiced"))
                continue
            factor = params.pressure_factor(params.regime_at(first.at))
            periods.append(Period(first.at, last.at, meter, first.index_m3, last.index_m3, factor))
    periods.sort(key=lambda p: (p.start, p.gas_meter))
    skipped.sort(key=lambda s: (s.start, s.gas_meter))
    return SupplierView(granularity, params, tuple(periods), tuple(skipped))


def parse_granularity(text: str, where: str = "granularity") -> Granularity:
    try:
        return Granularity(text)
    except ValueError:
        raise InvalidInput(f"{where} {text!r} is not one of {', '.join(g.value for g in Granularity)}") from None
