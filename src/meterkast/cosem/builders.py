"""Small builders the object tables share: constant getters, Data (class 1) and Register (class 3) objects,
profile columns, and the rule for writable attributes the model keeps no state for (P3 §5, §6, §7).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meterkast.cosem.access import CosemObject, Ctx, GetResult, Setter, attr, logical_name_attr
from meterkast.cosem.events import MeterEventsRaised
from meterkast.cosem.profiles import Column
from meterkast.cosem.values import CLOCK_COLUMN, Unit, date_time, scaler_unit
from meterkast.dlms import CaptureObject, DataAccessResult, DlmsData, ObisCode
from meterkast.emeter.events import Event

obis = ObisCode.parse  # reads like the P3 tables: obis("0-0:1.0.0.255")


def const(value: DlmsData) -> Callable[[Ctx], GetResult]:
    return lambda _ctx: value


def not_modelled(_ctx: Ctx, _value: DlmsData) -> DataAccessResult:
    """A writable attribute (W in the M column) whose value the E-meter model does not keep: refused with
    ``other-reason`` instead of a success that changes nothing (listed in docs/p3.md)."""
    return DataAccessResult.OTHER_REASON


def raised(ctx: Ctx, events: list[Event]) -> None:
    """Hand the model's events to the shell through the association (``MeterEventsRaised``)."""
    if events:
        ctx.events.append(MeterEventsRaised(tuple(events)))


def data_object(name: str, logical_name: str, get: Callable[[Ctx], GetResult], *, P: str = "R",  # noqa: N803
                M: str = "R", set: Setter | None = None,  # noqa: N803 - the P3 tables' column names
                available: Callable[[Ctx], bool] | None = None) -> CosemObject:
    """Class 1 (Data) v0: logical_name (readable by whoever may read the value) and value."""
    ln = obis(logical_name)
    return CosemObject(ln, 1, 0, name, (logical_name_attr(ln, P="R" if "R" in P else "", M="R"),
                                        attr(2, "value", P=P, M=M, get=get, set=set)), (), available)


def register_object(name: str, logical_name: str, get: Callable[[Ctx], GetResult], scaler: int, unit: Unit, *,
                    M: str = "R", set: Setter | None = None) -> CosemObject:  # noqa: N803
    """Class 3 (Register) v0, management client only (P3 §5.3, §5.9, §6.2): value and scaler_unit; the
    optional reset method has no X in the tables, so it is not offered."""
    ln = obis(logical_name)
    return CosemObject(ln, 3, 0, name, (logical_name_attr(ln, P=""), attr(2, "value", M=M, get=get, set=set),
                                        attr(3, "scaler_unit", M="R", get=const(scaler_unit(scaler, unit)))))


def column(class_id: int, logical_name: str, attribute: int, cell: Callable[[Ctx, Any], DlmsData]) -> Column:
    return Column(CaptureObject(class_id, obis(logical_name), attribute), cell)


CLOCK_CELL = Column(CLOCK_COLUMN, lambda _ctx, entry: date_time(entry.clock))
