"""Decimal quantities and the DSMR volume conversion (SYSTEM G3, G4).

A meter reading is never a float (STYLE 13): volumes, flows and temperatures are ``Decimal``.
The conversion is DSMR-M 4.3.48 of the DSMR Main document ([MAIN-4.0.7] p.35, [MAIN-4.2.2] p.34)::

    Vb = Vm × 273.15 / (273.15 + t_gas) × p / 1013.25

with p = 1041.25 mbar (1013.25 + 28) for DSMR 4.0.x meters such as the Itron series (DSMR 4.0.5) and
1043.5 mbar (1015.5 + 28) for DSMR 4.2.x. The manual's 1013.5 mbar (SYSTEM G4) is a typo for the
standard's 1013.25; we follow the standard. What the supplier makes of the register (the 2015 air
pressure, the calorific value, energy) is ``meterkast.supplier``.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Context, Decimal, localcontext

from meterkast.errors import InvalidInput

ZERO = Decimal(0)
KELVIN_AT_0C = Decimal("273.15")
BASE_PRESSURE_MBAR = Decimal("1013.25")
WORKING_PRESSURE_MBAR = Decimal(28)
# DSMR-M 4.3.48: the pressure the meter assumes, by DSMR generation.
ASSUMED_PRESSURE_DSMR40_MBAR = Decimal("1041.25")  # 1013.25 + 28 [MAIN-4.0.7]
ASSUMED_PRESSURE_DSMR42_MBAR = Decimal("1043.5")  # 1015.5 + 28 [MAIN-4.2.2]
# Plenty of digits for accumulating millions of small increments without drift.
PRECISION = Context(prec=34)


def to_decimal(value: Decimal | int | str | float, what: str) -> Decimal:
    """Turn user input into a Decimal; floats go through their shortest repr, so 0.1 stays 0.1."""
    try:
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except ArithmeticError as exc:
        raise InvalidInput(f"{what} {value!r} is not a number") from exc
    if not result.is_finite():
        raise InvalidInput(f"{what} {value!r} must be a finite number")
    return result


def conversion_factor(gas_temp_c: Decimal, pressure_mbar: Decimal = ASSUMED_PRESSURE_DSMR40_MBAR) -> Decimal:
    """Factor from measured volume Vm to converted volume Vb (DSMR-M 4.3.48)."""
    absolute = KELVIN_AT_0C + gas_temp_c
    if absolute <= 0:
        raise InvalidInput(f"gas temperature {gas_temp_c} °C is at or below absolute zero")
    with localcontext(PRECISION):
        return (KELVIN_AT_0C / absolute) * (pressure_mbar / BASE_PRESSURE_MBAR)


def convert_volume(
    measured_m3: Decimal, gas_temp_c: Decimal, pressure_mbar: Decimal = ASSUMED_PRESSURE_DSMR40_MBAR
) -> Decimal:
    """Vb for a measured volume Vm at gas temperature ``gas_temp_c`` (DSMR-M 4.3.48)."""
    with localcontext(PRECISION):
        return measured_m3 * conversion_factor(gas_temp_c, pressure_mbar)


def floor_to(value: Decimal, resolution: Decimal) -> Decimal:
    """Truncate ``value`` to a multiple of ``resolution``: a register shows only whole digits."""
    return value.quantize(resolution, rounding=ROUND_FLOOR)

