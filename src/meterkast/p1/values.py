"""The typed values a decoded P1 line yields ([P1-4.2.2 §5.9–5.11], [P1-3.0 §5.10]).

One kind per representation the companion standards define:

======================  ==========================================  =============================
representation          example                                     value
======================  ==========================================  =============================
``ID(Mv*U)`` numeric    ``1-0:1.8.1(001581.123*kWh)``               ``Quantity``
``ID(Mv)`` count, enum  ``0-0:96.7.21(00015)``, ``0-1:24.1.0(003)``  ``int``
``ID(Sn)`` string       ``0-0:96.1.1(4530…)``, ``0-0:96.14.0(0002)``  ``str`` as sent (hex stays hex)
``ID(TST)``             ``0-0:1.0.0(161113205757W)``                 aware ``datetime``
``ID(TST)(Mv*U)``       ``0-1:24.2.1(161129200000W)(00981.443*m3)``  ``CapturedValue``
power failure log       ``1-0:99.97.0(1)(0-0:96.7.19)(TST)(…*s)``    ``tuple[PowerFailure, ...]``
max demand history      ``0-0:98.1.0(3)(1-0:1.6.0)(1-0:1.6.0)(…)``   ``tuple[MaxDemand, ...]``
2.2/3 gas profile       ``0-1:24.3.0(TST12)(00)(60)(1)(ID)(m3)``     ``GasProfile``
unknown OBIS            anything                                    ``RawValue`` (kept, not dropped)
======================  ==========================================  =============================

The hot ones are ``NamedTuple``s rather than frozen dataclasses: a decoder builds dozens per telegram
and a tuple is built about three times faster, while staying immutable and typed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


class Quantity(NamedTuple):
    """A numeric value with the unit the line carried (None when the line had no ``*unit``)."""

    value: Decimal
    unit: str | None


class CapturedValue(NamedTuple):
    """An M-Bus or max-demand value with its capture time ([P1-4.2.2 §5.10])."""

    time: datetime | None
    value: Decimal
    unit: str | None


class PowerFailure(NamedTuple):
    """One entry of the power failure event log: end of the failure and its duration."""

    end: datetime | None
    duration_s: int


class MaxDemand(NamedTuple):
    """One month of the Fluvius e-MUCS max-demand history (``0-0:98.1.0``)."""

    month: datetime | None
    occurred: datetime | None
    value: Decimal
    unit: str | None


class GasProfile(NamedTuple):
    """DSMR 2.2/3 ``0-n:24.3.0`` profile-generic line and its value line ([P1-3.0 §5.10])."""

    time: datetime | None  # None: a placeholder stamp that is no calendar date (its raw text in Telegram.notes)
    status: int  # AMR profile status byte; 0x08 = DST active
    period_min: int
    capture_obis: str  # e.g. 0-1:24.2.1 (L+G meters write 24.2.0)
    unit: str
    values: tuple[Decimal, ...]

    @property
    def value(self) -> Decimal:
        """The (first) measurement value: the last hourly reading."""
        return self.values[0]


class RawValue(NamedTuple):
    """An object meterkast has no table entry for (or whose layout it does not know): the groups."""

    groups: tuple[str, ...]


Value = (
    Quantity
    | CapturedValue
    | GasProfile
    | RawValue
    | tuple[PowerFailure, ...]
    | tuple[MaxDemand, ...]
    | datetime
    | str
    | int
)
