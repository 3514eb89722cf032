"""The supplier's invoice parameters, each with the source that fixes it (SYSTEM G4; manual §9, Drukaanpassing).

The meter's register is already a volume at 0 °C and 1013.25 mbar (DSMR-M 4.3.48, SYSTEM G3), but it
assumes an absolute gas pressure fixed when the meter was made: 1041.25 mbar (1013.25 atmospheric +
28 working) for the DSMR 4.0.x Itron meter [MAIN-4.0.7 p.35]. Since 1 January 2015 the legal Dutch
average air pressure is 1015.5 mbar (ACM "Codebesluit Administratieve Volumeherleiding": 1,0155 bar
instead of 1,01325 bar), so the gas is at 1043.5 mbar, the value DSMR 4.2.x meters build in
[MAIN-4.2.2 p.34]. The meter is not changed; the manual (§9, "Drukaanpassing"): "De correctie wordt
administratief via de factuur van uw energieleverancier verwerkt". The supplier multiplies by::

    pressure factor = (atmospheric + 28 mbar) / the meter's assumed pressure = 1043.5 / 1041.25 (from 2015)

Before 2015 the legal air pressure was 1013.25 mbar, so the factor is exactly 1. The administrative
*temperature* of the same ACM decision (15 °C instead of 7 °C) applies only to meters that do not convert;
this one converts the gas temperature itself, so its temperature factor is 1.

Energy: the corrected volume in m³(n) times the Groningen-equivalent upper calorific value Hs =
35.17 MJ/m³(n) (SYSTEM G4; DSMR-FACTS §4.3); kWh = MJ / 3.6 (1 kWh = 3.6 MJ exactly, SI). Real
invoices use the calorific value the grid operator publishes per month; ``calorific_mj_per_m3`` takes it.

Not the UK factor: British bills multiply by a "volume correction factor" of 1.02264 and a calorific
value near 39 MJ/m³. That is a different legal regime (ambient 15 °C, sea-level pressure, meters that
do not convert) and does not apply here.

Rules this module keeps: every number is a Decimal with its unit in the name and a ``source`` text; a
table of regimes (data, not ``if``) says which air pressure applies from when; nothing reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from itertools import pairwise

from meterkast.errors import InvalidInput
from meterkast.units import ASSUMED_PRESSURE_DSMR40_MBAR, BASE_PRESSURE_MBAR, PRECISION, WORKING_PRESSURE_MBAR

CALORIFIC_VALUE_MJ_PER_M3 = Decimal("35.17")
CALORIFIC_SOURCE = ("SYSTEM G4; DSMR-FACTS §4.3: Groningen-equivalent upper calorific value Hs, 35.17 MJ/m³(n) "
                    "at 0 °C and 1013.25 mbar")
MJ_PER_KWH = Decimal("3.6")  # 1 kWh = 3 600 000 J, by definition
METER_PRESSURE_SOURCE = "DSMR-M 4.3.48 [MAIN-4.0.7 p.35]: the DSMR 4.0.x meter assumes 1013.25 + 28 mbar"
GAUGE_SOURCE = "DSMR-M 4.3.48: working (gauge) pressure 28 mbar"
TEMPERATURE_SOURCE = ("SYSTEM G3, DSMR-M 4.3.48: the meter converts to 0 °C itself; ACM's administrative 15 °C "
                      "applies only to meters without conversion")
ROUNDING = ("exact Decimal arithmetic (34 digits); shown rounded half up once, at the end: volumes to 0.001 m³ "
            "(the register's resolution), energy to 0.001 MJ and 0.001 kWh, factors to 9 decimals; totals are "
            "rounded from the exact sums, so they may differ from the sum of the rounded periods by up to half "
            "a unit per period")

VOLUME_STEP = Decimal("0.001")
ENERGY_STEP = Decimal("0.001")
FACTOR_STEP = Decimal("0.000000001")
# 1 January 2015, 00:00 in the Netherlands (CET, UTC+1).
ACM_2015 = datetime(2014, 12, 31, 23, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PressureRegime:
    """From ``valid_from`` on, invoices assume ``atmospheric_mbar`` of air pressure at the meter."""

    valid_from: datetime
    atmospheric_mbar: Decimal
    source: str


PRESSURE_REGIMES: tuple[PressureRegime, ...] = (
    PressureRegime(datetime.min.replace(tzinfo=UTC), BASE_PRESSURE_MBAR,
                   "before 2015: 1.01325 bar (7-degree method; Kiwa/Gastec 2007, DSMR-FACTS §4.2)"),
    PressureRegime(ACM_2015, Decimal("1015.5"),
                   "ACM Codebesluit Administratieve Volumeherleiding, in force 1-1-2015: 1.0155 bar "
                   "(manual §9, Drukaanpassing: 1015.5 mbar)"),
)


@dataclass(frozen=True, slots=True)
class InvoiceParameters:
    """What a supplier needs to turn a register difference into m³(n) and energy."""

    meter_assumed_mbar: Decimal = ASSUMED_PRESSURE_DSMR40_MBAR
    gauge_mbar: Decimal = WORKING_PRESSURE_MBAR
    calorific_mj_per_m3: Decimal = CALORIFIC_VALUE_MJ_PER_M3
    calorific_source: str = CALORIFIC_SOURCE
    regimes: tuple[PressureRegime, ...] = PRESSURE_REGIMES

    def __post_init__(self) -> None:
        for name in ("meter_assumed_mbar", "gauge_mbar", "calorific_mj_per_m3"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise InvalidInput(f"invoice parameter {name} is {value!r}; it must be a positive finite Decimal")
        if not self.regimes or any(a.valid_from >= b.valid_from for a, b in pairwise(self.regimes)):
            raise InvalidInput("pressure regimes must be given oldest first, each starting after the one before")

    def regime_at(self, moment: datetime) -> PressureRegime:
        """The regime in force at ``moment`` (an aware instant); the first one before any later start."""
        if moment.tzinfo is None:
            raise InvalidInput(f"instant {moment.isoformat()} has no time zone; pass an aware datetime")
        current = self.regimes[0]
        for regime in self.regimes[1:]:
            if regime.valid_from <= moment:
                current = regime
        return current

    def pressure_factor(self, regime: PressureRegime) -> Decimal:
        """(legal air pressure + gauge) / the pressure the meter assumes, exact to 34 digits."""
        with localcontext(PRECISION):
            return (regime.atmospheric_mbar + self.gauge_mbar) / self.meter_assumed_mbar

    def to_json(self) -> list[dict[str, str | None]]:
        """The parameters as the supplier's answer cites them: name, value, unit, source, and for the two
        that change over time the instant they apply from (null: always, or since before any later one)."""
        rows = [
            _row("meter_assumed_pressure", self.meter_assumed_mbar, "mbar", METER_PRESSURE_SOURCE),
            _row("gauge_pressure", self.gauge_mbar, "mbar", GAUGE_SOURCE),
        ]
        for regime in self.regimes:
            since = None if regime is self.regimes[0] else regime.valid_from.isoformat()
            factor = quantize(self.pressure_factor(regime), FACTOR_STEP)
            rows.append(_row("atmospheric_pressure", regime.atmospheric_mbar, "mbar", regime.source, since))
            rows.append(_row("pressure_factor", factor, "1",
                             f"({regime.atmospheric_mbar} + {self.gauge_mbar}) / {self.meter_assumed_mbar}", since))
        rows += [
            _row("temperature_factor", Decimal(1), "1", TEMPERATURE_SOURCE),
            _row("calorific_value", self.calorific_mj_per_m3, "MJ/m³(n)", self.calorific_source),
            _row("mj_per_kwh", MJ_PER_KWH, "MJ/kWh", "SI: 1 kWh = 3.6 MJ"),
        ]
        return rows


def _row(name: str, value: Decimal, unit: str, source: str, valid_from: str | None = None) -> dict[str, str | None]:
    return {"name": name, "value": str(value), "unit": unit, "source": source, "valid_from": valid_from}


def quantize(value: Decimal, step: Decimal) -> Decimal:
    """Round half up (commercial rounding) to ``step``; done once, when a figure is shown."""
    with localcontext(PRECISION):
        return value.quantize(step, rounding=ROUND_HALF_UP)


def parse_calorific_value(text: str, where: str = "calorific value") -> InvoiceParameters:
    """Parameters with the calorific value Hs given as text (CLI, API), e.g. the grid operator's monthly value.

    Refused unless a number in 20–60 MJ/m³(n): natural gas lies near 31–45 (Groningen 35.17, H-gas ~40);
    a value outside that is a typo or a wrong unit (kWh/m³ is ~9.8), and would make every figure wrong.
    """
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise InvalidInput(f"{where} {text!r} is not a number; give MJ/m³(n), e.g. 35.17") from None
    if not value.is_finite() or not Decimal(20) <= value <= Decimal(60):
        raise InvalidInput(f"{where} {text!r} MJ/m³(n) lies outside 20–60; natural gas lies near 31–45 "
                           "(Groningen-equivalent 35.17)")
    return InvoiceParameters(calorific_mj_per_m3=value, calorific_source=f"{where} given by the caller")
