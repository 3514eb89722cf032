"""From gas flow to the legal index (SYSTEM G2, G3, G5).

Gas flow moves the diaphragms; each full cycle displaces the cyclic volume V (G2). The meter counts
whole cycles, so the measured volume is Vm = cycles × V. Each counted cycle is converted at the gas
temperature of that moment (DSMR-M 4.3.48, ``meterkast.units.convert_volume``) and added to the
converted total Vb. The index shown and sent is Vb truncated to the register resolution, modulo the
register's 8 digits (it wraps like the LCD: 99999.999 → 0). Rules:
- only whole cycles reach Vm and Vb; the fraction of a cycle in progress is carried, never lost;
- Vm and Vb never decrease; the index only decreases by wrapping;
- the only legal state is the index (G5); Vm, Vb and the cycle fraction are the model's bookkeeping,
  exposed so the simulation can show ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Context, Decimal, localcontext

from meterkast.gasmeter.metrology import Metrology, error_percent, is_counted
from meterkast.units import ASSUMED_PRESSURE_DSMR40_MBAR, PRECISION, ZERO, conversion_factor, floor_to

_HUNDRED = Decimal(100)
_US_PER_HOUR = 3_600_000_000
# Rates are rounded once to these quanta; after that every accumulation is an exact Decimal sum, so the
# result does not depend on how time was sliced (tests/gasmeter/test_meter.py).
_RATE_QUANTUM = Decimal("1e-18")
_FACTOR_QUANTUM = Decimal("1e-20")
_EXACT = Context(prec=80)
# Flows and temperatures repeat a lot in simulations; caching their factors saves most Decimal work.
_CACHE_LIMIT = 4096


@dataclass(slots=True)
class VolumeRegister:
    metrology: Metrology
    pressure_mbar: Decimal = ASSUMED_PRESSURE_DSMR40_MBAR
    # Vb at manufacture: a new meter reads 0, a test meter may start anywhere below the wrap.
    initial_m3: Decimal = ZERO
    cycles: int = 0
    measured_m3: Decimal = ZERO  # Vm
    converted_m3: Decimal = ZERO  # Vb accumulated since manufacture
    _cycle_units: Decimal = ZERO  # the cycle in progress, in cycle·µs/h
    _true_units: Decimal = ZERO  # gas that really flowed, in m³·µs/h
    _cycles_per_hour: dict[Decimal, Decimal] = field(default_factory=dict)
    _factors: dict[Decimal, Decimal] = field(default_factory=dict)

    @property
    def cycle_fraction(self) -> Decimal:
        """How far the diaphragms are into the next cycle (0 ≤ fraction < 1)."""
        return self._cycle_units / _US_PER_HOUR

    @property
    def true_m3(self) -> Decimal:
        """The gas that really flowed since manufacture (ground truth), uncorrected and uncounted."""
        return self._true_units / _US_PER_HOUR

    @property
    def index_m3(self) -> Decimal:
        """The legal register: Vb truncated to the resolution, modulo 10^integer digits."""
        total = floor_to(self.initial_m3 + self.converted_m3, self.metrology.resolution_m3)
        return total % self.metrology.wrap_m3

    @property
    def wraps(self) -> int:
        """How often the 8-digit register has rolled over to zero."""
        return int((self.initial_m3 + self.converted_m3) // self.metrology.wrap_m3)

    def integrate(
        self, flow_m3h: Decimal, gas_temp_c: Decimal, duration_us: int, *, counting: bool = True
    ) -> int:
        """Let ``flow_m3h`` run for ``duration_us`` microseconds; return the whole cycles counted.

        With ``counting`` False (a dead meter) the gas still flows, into the ground truth only.
        """
        if duration_us <= 0 or flow_m3h <= 0:
            return 0
        with localcontext(_EXACT):
            self._true_units += flow_m3h * duration_us
            if not counting or not is_counted(self.metrology, flow_m3h):
                return 0
            self._cycle_units += self._rate(flow_m3h) * duration_us
            whole = int(self._cycle_units // _US_PER_HOUR)
            if whole == 0:
                return 0
            self._cycle_units -= whole * _US_PER_HOUR
            self.cycles += whole
            displaced = self.metrology.cyclic_volume_m3 * whole
            self.measured_m3 += displaced
            self.converted_m3 += displaced * self._factor(gas_temp_c)
        return whole

    def _rate(self, flow_m3h: Decimal) -> Decimal:
        """Diaphragm cycles per hour at ``flow_m3h``, with the meter's error (G1, G2)."""
        rate = self._cycles_per_hour.get(flow_m3h)
        if rate is None:
            if len(self._cycles_per_hour) > _CACHE_LIMIT:
                self._cycles_per_hour.clear()
            with localcontext(PRECISION):
                error = 1 + error_percent(self.metrology, flow_m3h) / _HUNDRED
                exact = flow_m3h * error / self.metrology.cyclic_volume_m3
            rate = self._cycles_per_hour[flow_m3h] = exact.quantize(_RATE_QUANTUM)
        return rate

    def _factor(self, gas_temp_c: Decimal) -> Decimal:
        factor = self._factors.get(gas_temp_c)
        if factor is None:
            if len(self._factors) > _CACHE_LIMIT:
                self._factors.clear()
            exact = conversion_factor(gas_temp_c, self.pressure_mbar)
            factor = self._factors[gas_temp_c] = exact.quantize(_FACTOR_QUANTUM)
        return factor
