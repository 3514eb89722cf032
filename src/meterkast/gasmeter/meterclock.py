"""The gas meter's own clock: a crystal that runs ``drift_ppm`` fast or slow against true time.

DSMR-M 4.3.5: "Any clock that is part of a P2 device shall deviate no more than 10 seconds per 24 hours"
(115.7 ppm); the E-meter keeps it within 60 s by synchronising it over P2 daily and at every change of its
own clock [P2-4.0.7 §6.2.1], DSMR-M 4.5.89. A drift above that limit is allowed here: it models a clock
that fails the requirement, which is what bit 5 of the status is for.

The clock is a straight line through one base point: meter time = base meter time + elapsed true time
+ elapsed × drift, in whole microseconds (integer arithmetic, floored; the fraction of a microsecond
gained at the base point is kept). Setting the time or the drift moves the base point. So the reading
at any instant is the same however the caller slices time, and ``true_time_of`` inverts it exactly
(the first true microsecond at which the clock shows a moment).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterkast.errors import InvalidInput
from meterkast.timeutil import microseconds_between, require_utc

PPB_PER_PPM = 1000
_BILLION = 1_000_000_000
MAX_DRIFT_PPM = Decimal(10_000)  # 864 s a day: far beyond any crystal; a typo, not a clock
P2_DEVICE_LIMIT_PPM = Decimal(10) * 1_000_000 / 86_400  # DSMR-M 4.3.5: 10 s per 24 h ≈ 115.7 ppm


def drift_ppb(ppm: Decimal | int | str) -> int:
    """``ppm`` as whole parts per billion; refuses values beyond ``MAX_DRIFT_PPM`` or finer than 1 ppb."""
    value = Decimal(str(ppm)) if not isinstance(ppm, Decimal) else ppm
    if not value.is_finite() or abs(value) > MAX_DRIFT_PPM:
        raise InvalidInput(f"clock drift {ppm} ppm must lie within ±{MAX_DRIFT_PPM} ppm")
    ppb = value * PPB_PER_PPM
    if ppb != ppb.to_integral_value():
        raise InvalidInput(f"clock drift {ppm} ppm is finer than 0.001 ppm")
    return int(ppb)


@dataclass(slots=True)
class DriftingClock:
    """Meter time as a function of true time (module docstring). All instants aware UTC."""

    base_true: datetime
    base_meter: datetime
    ppb: int = 0
    residue: int = 0  # the part of a microsecond (in 1e-9 µs) the drift had gained at the base point

    @classmethod
    def exact(cls, now: datetime) -> DriftingClock:
        now = require_utc(now, "clock base")
        return cls(now, now)

    @property
    def drift_ppm(self) -> Decimal:
        return Decimal(self.ppb) / PPB_PER_PPM

    def time_at(self, now: datetime) -> datetime:
        """What the clock shows at true instant ``now``."""
        elapsed = microseconds_between(self.base_true, now)
        return self.base_meter + timedelta(microseconds=elapsed + self._gained(elapsed))

    def _gained(self, elapsed_us: int) -> int:
        return (elapsed_us * self.ppb + self.residue) // _BILLION

    def offset_at(self, now: datetime) -> timedelta:
        """Clock minus true time at ``now``: the deviation the E-meter's synchronisation removes."""
        return self.time_at(now) - now

    def true_time_of(self, shown: datetime) -> datetime:
        """The first true instant (whole µs) at which the clock shows ``shown`` or later."""
        target = microseconds_between(self.base_meter, shown)
        elapsed = -((-target * _BILLION) // (_BILLION + self.ppb))  # ceil: the line's inverse
        while elapsed + self._gained(elapsed) < target:
            elapsed += 1
        while (elapsed - 1) + self._gained(elapsed - 1) >= target:
            elapsed -= 1
        return self.base_true + timedelta(microseconds=elapsed)

    def set_time(self, now: datetime, shown: datetime) -> None:
        """From ``now`` on the clock shows ``shown`` (a synchronisation, or a jump)."""
        self.base_true, self.base_meter, self.residue = now, shown, 0

    def set_drift(self, now: datetime, ppb: int) -> None:
        """From ``now`` on the clock runs ``ppb`` parts per billion fast (negative: slow)."""
        elapsed = microseconds_between(self.base_true, now)
        self.base_meter = self.time_at(now)
        self.residue = (elapsed * self.ppb + self.residue) % _BILLION
        self.base_true, self.ppb = now, ppb
