"""Electricity registers and instantaneous values, driven by a load input (DSMR-M 4.5.1–4.5.3, P1 Table 5-3).

Rules this module keeps:
- the registers +A and −A per tariff (1-0:1.8.1/1.8.2, 2.8.1/2.8.2) are exact: energy is accumulated
  as a Decimal count of watt-microseconds and shown truncated to 0.001 kWh (1 Wh), like a register that
  only shows whole digits; the result does not depend on how time is sliced;
- per phase the net power is import − export; the meter counts the sum over its phases (the vector sum
  a Dutch polyphase meter registers), into +A when positive and −A when negative;
- instantaneous values are what P1 shows: power per phase and total in kW with 1 W resolution, voltage
  in V with 0.1 V resolution, current in whole amperes (rounded half up, as real telegrams show 2 A at
  374 W).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal, localcontext

from meterkast.emeter.tariff import Tariff
from meterkast.errors import InvalidInput
from meterkast.units import ZERO, to_decimal

_EXACT = Context(prec=80)
_WUS_PER_WH = 3_600_000_000  # W·µs in one Wh
_KW = Decimal("0.001")
_VOLT = Decimal("0.1")
NOMINAL_VOLTAGE_V = Decimal(230)


@dataclass(frozen=True, slots=True)
class Load:
    """What flows through the meter, per phase (1 or 3 phases)."""

    import_w: tuple[Decimal, ...]
    export_w: tuple[Decimal, ...]
    voltage_v: tuple[Decimal, ...]

    @classmethod
    def idle(cls, phases: int) -> Load:
        return cls((ZERO,) * phases, (ZERO,) * phases, (NOMINAL_VOLTAGE_V,) * phases)

    @classmethod
    def parse(
        cls,
        phases: int,
        import_w: Sequence[Decimal | int | str],
        export_w: Sequence[Decimal | int | str],
        voltage_v: Sequence[Decimal | int | str],
    ) -> Load:
        values: list[tuple[Decimal, ...]] = []
        for what, given in (("import power", import_w), ("export power", export_w), ("voltage", voltage_v)):
            if len(given) != phases:
                raise InvalidInput(f"{what} has {len(given)} phase values; this meter has {phases} phase(s)")
            parsed = tuple(to_decimal(v, what) for v in given)
            if any(v < 0 for v in parsed):
                raise InvalidInput(f"{what} {parsed} must not be negative; give import and export separately")
            values.append(parsed)
        return cls(*values)

    @property
    def net_w(self) -> Decimal:
        """Total net power: positive imports (+P, +A), negative exports (−P, −A)."""
        return sum((i - e for i, e in zip(self.import_w, self.export_w, strict=True)), ZERO)

    def phase_import_kw(self) -> tuple[Decimal, ...]:
        return tuple(_kw(max(i - e, ZERO)) for i, e in zip(self.import_w, self.export_w, strict=True))

    def phase_export_kw(self) -> tuple[Decimal, ...]:
        return tuple(_kw(max(e - i, ZERO)) for i, e in zip(self.import_w, self.export_w, strict=True))

    def voltages(self) -> tuple[Decimal, ...]:
        return tuple(v.quantize(_VOLT, rounding=ROUND_HALF_UP) for v in self.voltage_v)

    def currents_a(self) -> tuple[int, ...]:
        out: list[int] = []
        for i, e, v in zip(self.import_w, self.export_w, self.voltage_v, strict=True):
            amps = abs(i - e) / v if v > 0 else ZERO
            out.append(int(amps.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
        return tuple(out)


def _kw(watts: Decimal) -> Decimal:
    return (watts / 1000).quantize(_KW, rounding=ROUND_HALF_UP)


class EnergyRegisters:
    """+A and −A per tariff, exact."""

    def __init__(self) -> None:
        self._import_wus = {Tariff.LOW: ZERO, Tariff.NORMAL: ZERO}
        self._export_wus = {Tariff.LOW: ZERO, Tariff.NORMAL: ZERO}

    def integrate(self, net_w: Decimal, tariff: Tariff, duration_us: int) -> None:
        if duration_us <= 0 or net_w == 0:
            return
        with localcontext(_EXACT):
            if net_w > 0:
                self._import_wus[tariff] += net_w * duration_us
            else:
                self._export_wus[tariff] += -net_w * duration_us

    @staticmethod
    def _kwh(wus: Decimal) -> Decimal:
        with localcontext(_EXACT):
            wh = (wus / _WUS_PER_WH).to_integral_value(rounding=ROUND_FLOOR)
        return wh.scaleb(-3)

    def import_kwh(self) -> tuple[Decimal, Decimal]:
        """(+A tariff 1, +A tariff 2) in kWh, 0.001 resolution."""
        return self._kwh(self._import_wus[Tariff.LOW]), self._kwh(self._import_wus[Tariff.NORMAL])

    def export_kwh(self) -> tuple[Decimal, Decimal]:
        return self._kwh(self._export_wus[Tariff.LOW]), self._kwh(self._export_wus[Tariff.NORMAL])

    def import_total_kwh(self) -> Decimal:
        """1-0:1.8.0: the sum over tariffs, truncated once (not the sum of two truncated values)."""
        return self._kwh(self._import_wus[Tariff.LOW] + self._import_wus[Tariff.NORMAL])

    def export_total_kwh(self) -> Decimal:
        return self._kwh(self._export_wus[Tariff.LOW] + self._export_wus[Tariff.NORMAL])
