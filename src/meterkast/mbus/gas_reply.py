"""The E-meter's reading of a DSMR gas meter's RSP_UD (P2-4.0.7 §4.2, §5, §6): bytes in, one typed reply out.

Steps, each with the clause that demands it:
- the frame must be RSP_UD with CI 72 and a long header; the Short ID (ID, MAN, VER, DEV) names the
  meter and seeds the IV [§4.2.2, §5.2];
- the configuration word says mode 0 (plain) or mode 15 (AES-128-CBC); with a user key set only mode
  15 is accepted, and the unencrypted ``04 FD 08`` frame counter must be above the last accepted one
  (the guard) [§5.1, §5.2, §6.5]; the plaintext must start with ``2F 2F``;
- from the records: status ``01 FD 17`` [§6.2.4], equipment identifier ``0D 78`` [§6.4.1], the hourly
  value with its time stamp (storage number 1: ``46 6D`` type I in UTC, ``4C 13``/``4C 14`` BCD m³)
  [§6.1, §6.4.3, §6.4.4], valve ``89 40 FD 1A`` [§6.4.5] and configuration ``01 FD 67`` [§6.4.9] if sent.

Anything missing or malformed raises a :class:`RecordError` that names the meter and the record.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from meterkast.errors import FrameError, RecordError
from meterkast.mbus.application import VariableData, decode_payload
from meterkast.mbus.header import LongHeader
from meterkast.mbus.link import LongFrame
from meterkast.mbus.records import DataRecord, decode_records
from meterkast.mbus.security import ConfigurationWord, FrameCounterGuard, MeterIdentity, decrypt_payload

C_RSP_UD = 0x08
CI_RSP_UD_LONG = 0x72
VIF_EXT_FD = 0xFD & 0x7F  # the codec keeps the VIF without its extension bit
VIF_VOLUME = {0x13: Decimal("0.001"), 0x14: Decimal("0.01")}  # [§6.4.4]
VIF_TIME_POINT = 0x6D
VIF_FABRICATION_NUMBER = 0x78
VIFE_ERROR_FLAGS = 0x17
VIFE_DIGITAL_OUTPUT = 0x1A
VIFE_SPECIAL_SUPPLIER = 0x67
VIFE_ACCESS_NUMBER = 0x08
HOURLY_STORAGE = 1


@dataclass(frozen=True, slots=True)
class GasReply:
    """What one RSP_UD of a DSMR gas meter says."""

    meter: MeterIdentity
    access_number: int
    status: int
    equipment_identifier: str | None
    value_m3: Decimal
    resolution_m3: Decimal
    capture_time: datetime  # UTC, the meter's own whole-hour stamp (or time of reading, if not stored)
    valve: int | None
    configuration: int | None
    frame_counter: int | None
    stored: bool = True  # False: an actual value, sent before the meter's first whole hour


def read_gas_reply(
    frame: LongFrame,
    *,
    user_key: bytes,
    guard: FrameCounterGuard | None = None,
    channel: int | None = None,
) -> GasReply:
    header = read_header(frame)
    meter = MeterIdentity.from_short_id(header.short_id)
    configuration = ConfigurationWord.from_value(header.configuration)
    after_header = frame.data[12:]
    plain = decrypt_payload(after_header, configuration, user_key=user_key, meter=meter, guard=guard,
                            channel=channel)
    records = [r for r in decode_records(plain.records) if isinstance(r, DataRecord)]
    return _reply(meter, header.access, records, plain.frame_counter)


def read_header(frame: LongFrame) -> LongHeader:
    """The long header of a RSP_UD: enough to learn a new device's Short ID at installation [§8.3]."""
    if frame.control & 0x0F != C_RSP_UD or frame.ci != CI_RSP_UD_LONG:
        raise FrameError(f"expected RSP_UD (C=08, CI=72), got C={frame.control:02X} CI={frame.ci:02X}")
    outer = decode_payload(frame.ci, frame.data)
    if not isinstance(outer, VariableData) or not isinstance(outer.header, LongHeader):
        raise FrameError("CI 72 without a long header")
    return outer.header


def _reply(meter: MeterIdentity, access: int, records: list[DataRecord], frame_counter: int | None) -> GasReply:
    where = f"gas meter {meter.label}"
    status = _find(records, lambda r: _is_fd(r, VIFE_ERROR_FLAGS))
    ident = _find(records, lambda r: r.vib.vif & 0x7F == VIF_FABRICATION_NUMBER and isinstance(r.value, str))
    stamp = _find(records, lambda r: r.vib.vif & 0x7F == VIF_TIME_POINT and r.storage == HOURLY_STORAGE)
    volume = _find(records, lambda r: r.vib.vif in VIF_VOLUME and r.storage == HOURLY_STORAGE)
    stored = volume is not None and stamp is not None
    if not stored:  # before its first whole hour a meter sends its actual value, storage 0 [§6.4.3]
        stamp = _find(records, lambda r: r.vib.vif & 0x7F == VIF_TIME_POINT and r.storage == 0)
        volume = _find(records, lambda r: r.vib.vif in VIF_VOLUME and r.storage == 0)
    valve = _find(records, lambda r: _is_fd(r, VIFE_DIGITAL_OUTPUT))
    config = _find(records, lambda r: _is_fd(r, VIFE_SPECIAL_SUPPLIER))
    counter = _find(records, lambda r: _is_fd(r, VIFE_ACCESS_NUMBER))
    if volume is None or stamp is None:
        missing = " and ".join(name for name, record in (("hourly time stamp (46 6D)", stamp),
                                                         ("hourly volume (4C 13/14)", volume)) if record is None)
        raise RecordError(f"{where}: RSP_UD has no {missing} nor an actual value [P2-4.0.7 §6.4.3, §6.4.4]")
    if not isinstance(stamp.value, datetime):
        raise RecordError(f"{where}: time stamp record holds {stamp.value!r}, not a date-time")
    if not isinstance(volume.value, Decimal):
        raise RecordError(f"{where}: volume record holds {volume.value!r}, not a number")
    return GasReply(
        meter=meter,
        access_number=access,
        status=_int(status, where) if status is not None else 0,
        equipment_identifier=str(ident.value) if ident is not None else None,
        value_m3=volume.value,
        resolution_m3=VIF_VOLUME[volume.vib.vif],
        capture_time=stamp.value.replace(tzinfo=UTC),  # type I in UTC, DST fields coded 0 [§6.2.1, §6.4.3]
        valve=_int(valve, where) if valve is not None else None,
        configuration=_int(config, where) if config is not None else None,
        frame_counter=frame_counter if frame_counter is not None else (
            _int(counter, where, one_byte=False) if counter is not None else None),
        stored=stored,
    )


def _is_fd(record: DataRecord, vife: int) -> bool:
    return record.vib.vif & 0x7F == VIF_EXT_FD and bool(record.vib.vifes) and record.vib.vifes[0] & 0x7F == vife


def _find(records: list[DataRecord], wanted: Callable[[DataRecord], bool]) -> DataRecord | None:
    return next((r for r in records if wanted(r)), None)


def _int(record: DataRecord, where: str, *, one_byte: bool = True) -> int:
    if not isinstance(record.value, Decimal) or record.value != record.value.to_integral_value():
        raise RecordError(f"{where}: record {record.quantity} holds {record.value!r}, expected an integer")
    # Type B integers decode signed; status, valve and configuration are bit fields of one byte.
    return int(record.value) & 0xFF if one_byte else int(record.value)
