"""What the central system reads from an E-meter, as typed values: procedures over ``P3Client``
(DSMR 4.2.2 P3 §5.3, §6.2, §7.3, §7.4, §6.3, §5.5; SYSTEM C1).

* ``read_clock`` → the meter's aware local time (0-0:1.0.0.255 attribute 2);
* ``read_register`` → a ``Decimal`` in the register's unit: value × 10^scaler (class 3 and 4, attrs 2, 3);
* ``read_profile(ln, from_, to)`` → ``GasProfileRow``s: it reads capture_objects (attr 3) to find the
  columns, the scaler_unit of the M-Bus value 0-x:24.2.1 (attr 3, "set by the E-meter by reading the M-Bus
  device VIF/DIF", §7.3.1), then the buffer (attr 2) with a range descriptor on the clock column. It reads
  the hourly profile 0-x:24.3.0 (channel x from the logical name) and the combined billing profiles
  1-0:99.2.0 and 0-0:98.1.0 (``channel`` picks the M-Bus columns; 0-0:98.1.0 has no status column, §5.5).

Rules this module keeps: values are ``Decimal`` m³ exactly as the meter's integer and scaler give them; a
refused attribute raises ``CommandRefused`` naming the object and the result; an empty value (null-data)
or an unspecified date-time becomes ``None``, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterkast.cosem.client import P3Client, Procedure
from meterkast.cosem.values import (
    CLOCK,
    CLOCK_COLUMN,
    Unit,
    date_time,
    read_date_time,
    read_scaler_unit,
    unscaled,
)
from meterkast.dlms import (
    Array,
    AttributeDescriptor,
    CaptureObject,
    DataAccessResult,
    DlmsData,
    ObisCode,
    OctetString,
    RangeDescriptor,
    Structure,
)
from meterkast.dlms.data import FixedInteger
from meterkast.dlms.service_common import GetDataResult
from meterkast.emeter.amr import AmrStatus
from meterkast.errors import CodecError, CommandRefused

HOURLY = 24  # C group of 0-x:24.3.0
PROFILE_GENERIC = 7


@dataclass(frozen=True, slots=True)
class GasProfileRow:
    """One entry of a gas profile: clock, AMR status, value and the gas meter's capture time."""

    clock: datetime
    status: AmrStatus | None
    value_m3: Decimal | None
    capture_time: datetime | None


def _ok(result: GetDataResult, what: str) -> DlmsData:
    if isinstance(result, DataAccessResult):
        raise CommandRefused(f"{what}: the meter answered {result.name.lower().replace('_', '-')}")
    return result


def read_clock(client: P3Client) -> Procedure[datetime]:
    value = _ok((yield from client.get(AttributeDescriptor(8, CLOCK, 2))), "clock 0-0:1.0.0.255 time")
    moment = read_date_time(value, "clock time")
    if moment is None:
        raise CodecError("the meter's clock time is not specified")
    return moment


def _integer(value: DlmsData, what: str) -> int:
    if not isinstance(value, FixedInteger):
        raise CodecError(f"{what} must be an integer, got {type(value).__name__}")
    return value.value


def read_register(client: P3Client, class_id: int, logical_name: ObisCode) -> Procedure[tuple[Decimal, int]]:
    """(value × 10^scaler, unit code) of a Register (3) or Extended register (4)."""
    where = f"{logical_name} (class {class_id})"
    raw = _ok((yield from client.get(AttributeDescriptor(class_id, logical_name, 2))), f"{where} value")
    scaler, unit = read_scaler_unit(_ok((yield from client.get(AttributeDescriptor(class_id, logical_name, 3))),
                                        f"{where} scaler_unit"))
    return unscaled(_integer(raw, f"{where} value"), scaler), unit


def read_profile(client: P3Client, logical_name: ObisCode, from_: datetime | None = None,
                 to: datetime | None = None, *, channel: int = 1) -> Procedure[list[GasProfileRow]]:
    """Gas rows of a profile between ``from_`` and ``to`` (inclusive; ``None`` leaves that end open)."""
    if logical_name.c == HOURLY:
        channel = logical_name.b
    value_ln = ObisCode(0, channel, 24, 2, 1)
    where = f"profile {logical_name}"
    captured = _ok((yield from client.get(AttributeDescriptor(PROFILE_GENERIC, logical_name, 3))),
                   f"{where} capture_objects")
    if not isinstance(captured, Array):
        raise CodecError(f"{where} capture_objects is not an array")
    columns = [CaptureObject.from_data(item) for item in captured.items]
    scaler: int | None = None
    found = yield from client.get(AttributeDescriptor(4, value_ln, 3))
    if found is not DataAccessResult.OBJECT_UNAVAILABLE:  # a channel that never had a device has no values
        scaler, unit = read_scaler_unit(_ok(found, f"{value_ln} scaler_unit"))
        if unit != Unit.CUBIC_METRE:
            raise CodecError(f"{value_ln} counts unit {unit}, not m³ (14)")
    access = RangeDescriptor(CLOCK_COLUMN, date_time(from_), date_time(to))
    buffer = _ok((yield from client.get(AttributeDescriptor(PROFILE_GENERIC, logical_name, 2), access)),
                 f"{where} buffer")
    if not isinstance(buffer, Array):
        raise CodecError(f"{where} buffer is not an array")
    return [_row(entry, columns, value_ln, scaler, where) for entry in buffer.items]


def _row(entry: DlmsData, columns: list[CaptureObject], value_ln: ObisCode, scaler: int | None,
         where: str) -> GasProfileRow:
    if not isinstance(entry, Structure) or len(entry.items) != len(columns):
        raise CodecError(f"{where}: an entry does not have the {len(columns)} columns of capture_objects")
    cells = {(c.class_id, c.instance, c.attribute_index): cell for c, cell in zip(columns, entry.items, strict=True)}
    clock = read_date_time(cells.get((8, CLOCK, 2), OctetString()), f"{where} clock")
    if clock is None:
        raise CodecError(f"{where}: an entry without a clock")
    status = next((cell for (class_id, ln, attribute), cell in cells.items()
                   if class_id == 1 and ln.c == 96 and ln.d == 10 and attribute == 2), None)
    value = cells.get((4, value_ln, 2))
    stamp = cells.get((4, value_ln, 5))
    if isinstance(value, FixedInteger) and scaler is None:
        raise CodecError(f"{where}: a value for {value_ln}, whose scaler_unit is unavailable")
    return GasProfileRow(
        clock,
        None if status is None else AmrStatus(_integer(status, f"{where} status")),
        None if not isinstance(value, FixedInteger) or scaler is None else unscaled(value.value, scaler),
        None if not isinstance(stamp, OctetString) else read_date_time(stamp, f"{where} capture time"),
    )
