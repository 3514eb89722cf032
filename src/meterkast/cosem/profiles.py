"""Profile generic objects (class 7, version 1) over the E-meter's buffers, with selective access.

Every profile and event log of DSMR P3 has the same eight attributes and the same rights: management R,
public nothing (P3 §5.5, §5.7–§5.10, §6.3, §7.4, §7.5): 1 logical_name, 2 buffer, 3 capture_objects,
4 capture_period (s; 0 = asynchronous or by schedule), 5 sort_method (1 = unsorted FIFO), 6 sort_object
("None, unsorted"), 7 entries_in_use, 8 profile_entries; method 1 reset (M: X), 2 capture (no client).

Selective access on the buffer (P3 §2.1 "Selective access"; Blue Book class 7 attribute 2):
* range_descriptor (selector 1): the restricting object must be the clock column {8, 0-0:1.0.0.255, 2, 0};
  from/to are date-times, both inclusive; an unspecified date-time leaves that end open. "The equipment
  shall issue a logical error in case the end date of the requested period is prior to the begin date"
  (DSMR-M 4.5.10/4.5.26): ``scope-of-access-violated``. Partly available data is returned without error
  (DSMR-M 4.5.23). ``selected_values`` picks columns (empty = all), in capture-object order.
* entry_descriptor (selector 2): entries and columns by number from 1; 0 in a ``to_`` field means the last.
* any other selector: ``other-reason``; parameters of the wrong type: ``type-unmatched``.

Rules this module keeps: a column is a capture object plus a function of one entry, so capture_objects and
buffer cannot disagree; the buffer is read in the meter's order (oldest first, as the model files them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from meterkast.cosem.access import (
    AttributeSpec,
    CosemObject,
    Ctx,
    GetResult,
    Invoker,
    MethodSpec,
    attr,
    logical_name_attr,
    method,
)
from meterkast.cosem.values import CLOCK_COLUMN, NO_SORT_OBJECT, read_date_time
from meterkast.dlms import (
    ActionResult,
    Array,
    CaptureObject,
    DataAccessResult,
    DlmsData,
    DoubleLongUnsigned,
    EntryDescriptor,
    EnumValue,
    ObisCode,
    RangeDescriptor,
    RawAccess,
    Structure,
)
from meterkast.dlms.cosem import SelectiveAccess
from meterkast.errors import CodecError

UNSORTED = 1  # sort_method (1) fifo


@dataclass(frozen=True, slots=True)
class Column:
    """One capture object and how to read its cell from an entry."""

    capture: CaptureObject
    cell: Callable[[Ctx, Any], DlmsData]


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    logical_name: ObisCode
    name: str
    columns: tuple[Column, ...]
    entries: Callable[[Ctx], Sequence[Any]]
    clock: Callable[[Any], datetime]  # the entry's clock column, aware
    capture_period_s: int
    capacity: int


def _window(spec: ProfileSpec, ctx: Ctx, access: RangeDescriptor) -> list[Any] | DataAccessResult:
    if access.restricting_object != CLOCK_COLUMN:
        return DataAccessResult.OTHER_REASON  # DSMR profiles are restricted on their clock column only
    try:
        low = read_date_time(access.from_value, "range from_value")
        high = read_date_time(access.to_value, "range to_value")
    except CodecError:
        return DataAccessResult.TYPE_UNMATCHED
    low_utc = None if low is None else low.astimezone(UTC)
    high_utc = None if high is None else high.astimezone(UTC)
    if low_utc is not None and high_utc is not None and high_utc < low_utc:
        return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED  # DSMR-M 4.5.26 "logical error"
    return [entry for entry in spec.entries(ctx)
            if (low_utc is None or spec.clock(entry).astimezone(UTC) >= low_utc)
            and (high_utc is None or spec.clock(entry).astimezone(UTC) <= high_utc)]


def _columns(spec: ProfileSpec, wanted: tuple[CaptureObject, ...]) -> tuple[Column, ...] | DataAccessResult:
    if not wanted:
        return spec.columns
    known = {column.capture for column in spec.columns}
    if any(column not in known for column in wanted):
        return DataAccessResult.OTHER_REASON  # a selected value that is not a column of this profile
    return tuple(column for column in spec.columns if column.capture in wanted)


def _slice(count: int, first: int, last: int) -> slice | DataAccessResult:
    """1-based inclusive ``first..last`` (0 = the last one) as a slice over ``count`` items."""
    start = max(first, 1)
    stop = count if last == 0 else last
    if stop < start and not (last == 0 and count == 0):
        return DataAccessResult.SCOPE_OF_ACCESS_VIOLATED
    return slice(start - 1, stop)


def _buffer(ctx: Ctx, spec: ProfileSpec, rows: Sequence[Any], columns: Sequence[Column]) -> Array:
    return Array(tuple(Structure(tuple(column.cell(ctx, entry) for column in columns)) for entry in rows))


def select(spec: ProfileSpec, ctx: Ctx, access: SelectiveAccess) -> GetResult:
    """The buffer under a range or entry descriptor (module docstring)."""
    if isinstance(access, RawAccess):
        return DataAccessResult.OTHER_REASON
    if isinstance(access, RangeDescriptor):
        rows = _window(spec, ctx, access)
        columns = _columns(spec, access.selected_values)
        if isinstance(rows, DataAccessResult):
            return rows
        if isinstance(columns, DataAccessResult):
            return columns
        return _buffer(ctx, spec, rows, columns)
    return _by_entry(spec, ctx, access)


def _by_entry(spec: ProfileSpec, ctx: Ctx, access: EntryDescriptor) -> GetResult:
    entries = list(spec.entries(ctx))
    rows = _slice(len(entries), access.from_entry, access.to_entry)
    columns = _slice(len(spec.columns), access.from_selected_value, access.to_selected_value)
    if isinstance(rows, DataAccessResult):
        return rows
    if isinstance(columns, DataAccessResult):
        return columns
    return _buffer(ctx, spec, entries[rows], spec.columns[columns])


def profile_object(spec: ProfileSpec, *, reset: Invoker | None = None,
                   available: Callable[[Ctx], bool] | None = None) -> CosemObject:
    """The class 7 object for ``spec``: management R on every attribute, reset with X (module docstring)."""
    capture = Array(tuple(column.capture.to_data() for column in spec.columns))

    def buffer(ctx: Ctx) -> GetResult:
        return _buffer(ctx, spec, spec.entries(ctx), spec.columns)

    attributes: tuple[AttributeSpec, ...] = (
        logical_name_attr(spec.logical_name, P=""),
        attr(2, "buffer", M="R", get=buffer, select=lambda ctx, access: select(spec, ctx, access)),
        attr(3, "capture_objects", M="R", get=lambda _ctx: capture),
        attr(4, "capture_period", M="R", get=lambda _ctx: DoubleLongUnsigned(spec.capture_period_s)),
        attr(5, "sort_method", M="R", get=lambda _ctx: EnumValue(UNSORTED)),
        attr(6, "sort_object", M="R", get=lambda _ctx: NO_SORT_OBJECT),
        attr(7, "entries_in_use", M="R", get=lambda ctx: DoubleLongUnsigned(len(spec.entries(ctx)))),
        attr(8, "profile_entries", M="R", get=lambda _ctx: DoubleLongUnsigned(spec.capacity)),
    )
    methods: tuple[MethodSpec, ...] = (
        method(1, "reset", M=True, invoke=reset or _reset_not_modelled),
        method(2, "capture"),  # "m" but no X: the meter captures on its own schedule
    )
    return CosemObject(spec.logical_name, 7, 1, spec.name, attributes, methods, available)


def _reset_not_modelled(_ctx: Ctx, _parameters: DlmsData | None) -> tuple[ActionResult, DlmsData | None]:
    """The E-meter model has no way to empty a load profile; the method is refused, not faked."""
    return ActionResult.OTHER_REASON, None
