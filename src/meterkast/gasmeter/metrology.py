"""Metrology of the Itron diaphragm meters G4…G25 (SYSTEM G1, G2) as data.

Rules this module keeps:
- every figure sits in one table row with its source next to it;
- below Qmin the meter still counts, down to its starting flow Qstart (EN 1359 §5.3 "starting flow rate":
  the meter registers continuously at Qstart), with an error that grows negative toward Qstart; below
  Qstart the diaphragms stand still and nothing is counted (SYSTEM G1: "outside Qmin…Qmax the meter
  still counts but outside its legal accuracy");
- inside Qmin…Qmax the error curve stays within the EN 1359 / MID class 1.5 maximum permissible
  errors (±3 % for Qmin ≤ Q < Qt, ±1.5 % for Qt ≤ Q ≤ Qmax); above Qmax the meter still counts, with an
  error that grows outside the legal band, as SYSTEM G1 asks;
- the register of G4/G6 has 0.001 m³ resolution, G10 and up 0.01 m³ [P2-4.0.7 §6.4.4, P1-4.2.2 Table 5-3
  note 2]; both show 8 digits on the LCD, so G4/G6 wrap after 99999.999 m³ and G10+ after 999999.99 m³.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from meterkast.errors import UnknownMeterType


class MeterType(Enum):
    G4 = "G4"
    G6 = "G6"
    G10 = "G10"
    G16 = "G16"
    G25 = "G25"

    @classmethod
    def parse(cls, text: str) -> MeterType:
        try:
            return cls(text.strip().upper())
        except ValueError:
            known = ", ".join(t.value for t in cls)
            raise UnknownMeterType(f"meter type {text!r} is not one of {known} (SYSTEM G1)") from None


@dataclass(frozen=True, slots=True)
class Metrology:
    """EN 1359 characteristics of one meter size."""

    qmin_m3h: Decimal
    qt_m3h: Decimal
    qmax_m3h: Decimal
    cyclic_volume_dm3: Decimal
    pmax_mbar: int
    accuracy_class: Decimal
    resolution_m3: Decimal
    integer_digits: int
    starting_flow_m3h: Decimal  # Qstart: the lowest flow that moves the diaphragms (EN 1359 §5.3)

    @property
    def cyclic_volume_m3(self) -> Decimal:
        return self.cyclic_volume_dm3 / 1000

    @property
    def wrap_m3(self) -> Decimal:
        """The register value that reads as 0 again: 10^integer_digits m³."""
        return Decimal(10) ** self.integer_digits

    @property
    def decimals(self) -> int:
        return -int(self.resolution_m3.as_tuple().exponent)


_D = Decimal
# Qmax/Qmin/Qt: EN 1359 standard sizes, Qmax/Qmin = 150 and Qt = Qmax/10 (MID MI-002 class 1.5 ratios;
# DSMR-FACTS §6). The manual confirms G4 at 0.04–6 m³/h (seed §9 "Meetbereik").
# Cyclic volume V: typical for the size (1.2 dm³ for G4 domestic meters, larger cyclic volumes for
# the commercial sizes, Itron ACD/G25 data sheets say "large cyclic volumes" without a figure); not
# confirmed from an Itron nameplate [UNVERIFIED, DSMR-FACTS §6].
# Pmax: EN 1359 scope, 0.5 bar maximum working pressure (DSMR-FACTS §6).
# Resolution: [P2-4.0.7 §6.4.4] VIF 0x13 (0.001 m³) for G4/G6, VIF 0x14 (0.01 m³) for G10–G25.
# Qstart: EN 1359 §5.3 "Starting flow rate" (clause title confirmed from the published table of contents of
# EN 1359:2017): the meter shall register continuously at the starting flow rate of its Qmax class. The
# figures (3 dm³/h for Qmax ≤ 10 m³/h, 5 dm³/h for Qmax 16–25 m³/h, 8 dm³/h for Qmax 40 m³/h) are the
# standard's table as recalled, not checked against the (paid) text and not from an Itron data sheet
# [UNVERIFIED, docs/gasmeter.md "Below Qmin"]. Every one lies far below Qmin (G4: 3 dm³/h against 40 dm³/h).
METROLOGY: dict[MeterType, Metrology] = {
    MeterType.G4: Metrology(_D("0.04"), _D("0.6"), _D(6), _D("1.2"), 500, _D("1.5"), _D("0.001"), 5, _D("0.003")),
    MeterType.G6: Metrology(_D("0.06"), _D(1), _D(10), _D(2), 500, _D("1.5"), _D("0.001"), 5, _D("0.003")),
    MeterType.G10: Metrology(_D("0.1"), _D("1.6"), _D(16), _D(6), 500, _D("1.5"), _D("0.01"), 6, _D("0.005")),
    MeterType.G16: Metrology(_D("0.16"), _D("2.5"), _D(25), _D(6), 500, _D("1.5"), _D("0.01"), 6, _D("0.005")),
    MeterType.G25: Metrology(_D("0.25"), _D(4), _D(40), _D(12), 500, _D("1.5"), _D("0.01"), 6, _D("0.008")),
}

# The error curve of a healthy diaphragm meter, relative to Qmax: (Q/Qmax, error %). Shaped like the
# typical curves in Itron's data sheets (slightly positive at low flow, slightly negative near Qmax),
# kept inside the class 1.5 band within Qmin…Qmax; beyond Qmax the diaphragms lag and the error grows.
_ERROR_CURVE: tuple[tuple[Decimal, Decimal], ...] = (
    (_D(1) / 150, _D("1.2")),
    (_D("0.05"), _D("0.6")),
    (_D("0.1"), _D("0.3")),
    (_D("0.2"), _D("0.0")),
    (_D("0.5"), _D("-0.2")),
    (_D(1), _D("-0.4")),
    (_D("1.2"), _D("-1.6")),
    (_D(2), _D("-6.0")),
)
_CURVE_X = [x for x, _ in _ERROR_CURVE]

# Maximum permissible error, class 1.5 (MID MI-002, EN 1359): the legal band the curve must respect.
MPE_LOW_FLOW_PERCENT = _D(3)  # Qmin ≤ Q < Qt
MPE_HIGH_FLOW_PERCENT = _D("1.5")  # Qt ≤ Q ≤ Qmax

# Below Qmin no standard sets an error limit; EN 1359 only asks that the meter keeps registering down to
# Qstart. This model's error there is that of a constant internal bypass (gas slipping past the slide
# valves without moving the diaphragms): a fixed lost flow gives an error proportional to −1/Q, so the
# error falls from the curve's value at Qmin to ERROR_AT_START_PERCENT at Qstart. The −30 % at Qstart is
# this model's choice (a bypass of ≈ 0.9 dm³/h on a G4), not a published figure.
ERROR_AT_START_PERCENT = _D(-30)


def error_percent(metrology: Metrology, flow_m3h: Decimal) -> Decimal:
    """Relative measurement error (%) at ``flow_m3h``; 0 below Qstart, where nothing is counted."""
    if flow_m3h < metrology.starting_flow_m3h:
        return _D(0)
    if flow_m3h < metrology.qmin_m3h:
        return _below_qmin_error(metrology, flow_m3h)
    return _curve_error(metrology, flow_m3h)


def _below_qmin_error(metrology: Metrology, flow_m3h: Decimal) -> Decimal:
    """Qstart ≤ Q < Qmin: the bypass model, linear in Qmin/Q between Qstart and Qmin (see above)."""
    at_qmin = _curve_error(metrology, metrology.qmin_m3h)
    span = metrology.qmin_m3h / metrology.starting_flow_m3h - 1
    share = (metrology.qmin_m3h / flow_m3h - 1) / span
    return at_qmin + (ERROR_AT_START_PERCENT - at_qmin) * share


def _curve_error(metrology: Metrology, flow_m3h: Decimal) -> Decimal:
    ratio = flow_m3h / metrology.qmax_m3h
    index = bisect_right(_CURVE_X, ratio)
    if index == 0:
        return _ERROR_CURVE[0][1]
    if index == len(_ERROR_CURVE):
        return _ERROR_CURVE[-1][1]
    (x0, y0), (x1, y1) = _ERROR_CURVE[index - 1], _ERROR_CURVE[index]
    return y0 + (y1 - y0) * (ratio - x0) / (x1 - x0)


def maximum_permissible_error(metrology: Metrology, flow_m3h: Decimal) -> Decimal | None:
    """The legal MPE (%) at ``flow_m3h``, or None outside Qmin…Qmax where no legal limit applies."""
    if flow_m3h < metrology.qmin_m3h or flow_m3h > metrology.qmax_m3h:
        return None
    return MPE_LOW_FLOW_PERCENT if flow_m3h < metrology.qt_m3h else MPE_HIGH_FLOW_PERCENT


def is_counted(metrology: Metrology, flow_m3h: Decimal) -> bool:
    """Whether the diaphragms move, so the meter counts and the arrow blinks: Q ≥ Qstart (EN 1359 §5.3)."""
    return flow_m3h >= metrology.starting_flow_m3h


class FlowRegime(Enum):
    """Where a flow lies against the meter's characteristic flows, for displays and reports (SYSTEM G1)."""

    STILL = "still"  # no flow
    BELOW_START = "below-start"  # gas flows, but too little to move the diaphragms: not counted
    BELOW_QMIN = "below-qmin"  # counted, outside the legal accuracy (error grows negative toward Qstart)
    LEGAL = "legal"  # Qmin … Qmax: inside the class 1.5 maximum permissible errors
    ABOVE_QMAX = "above-qmax"  # counted, outside the legal accuracy


def flow_regime(metrology: Metrology, flow_m3h: Decimal) -> FlowRegime:
    if flow_m3h <= 0:
        return FlowRegime.STILL
    if not is_counted(metrology, flow_m3h):
        return FlowRegime.BELOW_START
    if flow_m3h < metrology.qmin_m3h:
        return FlowRegime.BELOW_QMIN
    return FlowRegime.LEGAL if flow_m3h <= metrology.qmax_m3h else FlowRegime.ABOVE_QMAX
