"""The E-meter's reading of a DSMR gas meter's RSP_UD (P2-4.0.7 §4.2, §5, §6): bytes in, one typed reply out.

Steps, each with the clause that demands it:
- the frame must be RSP_UD with CI 72 and a long header; the Short ID (ID, MAN, VER, DEV) names the
  meter and seeds the IV [§4.2.2, §5.2];
- the configuration word says mode 0 (plain) or mode 15 (AES-128-CBC); with a user key set only mode
  15 is accepted, and the unencrypted ``04 FD 08`` frame counter must be above the last accepted one
  (the guard) [§5.1, §5.2, §6.5]; the plaintext must start with ``2F 2F``;
- the records are read by the same table the gas meter writes them with (``gas_records``): status
  ``01 FD 17`` [§6.2.4], equipment identifier ``0D 78`` [§6.4.1], the hourly value with its time stamp
  (storage number 1: ``46 6D`` type I in UTC, ``4C 13``/``4C 14`` BCD m³) or, before the meter's first
  whole hour, its actual value (storage 0) [§6.1, §6.4.3, §6.4.4], valve ``89 40 FD 1A`` [§6.4.5] and
  configuration ``01 FD 67`` [§6.4.9] if sent.

Anything missing or malformed raises a :class:`RecordError` that names the meter and the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterkast.errors import FrameError, RecordError
from meterkast.mbus.application import VariableData, decode_payload
from meterkast.mbus.gas_records import decode_gas_records
from meterkast.mbus.header import LongHeader
from meterkast.mbus.link import C_RSP_UD, LongFrame
from meterkast.mbus.records import decode_records
from meterkast.mbus.security import ConfigurationWord, FrameCounterGuard, MeterIdentity, decrypt_payload

CI_RSP_UD_LONG = 0x72


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
    return _reply(meter, header.access, plain.records, plain.frame_counter)


def read_header(frame: LongFrame) -> LongHeader:
    """The long header of a RSP_UD: enough to learn a new device's Short ID at installation [§8.3]."""
    if frame.control & 0x0F != C_RSP_UD or frame.ci != CI_RSP_UD_LONG:
        raise FrameError(f"expected RSP_UD (C=08, CI=72), got C={frame.control:02X} CI={frame.ci:02X}")
    outer = decode_payload(frame.ci, frame.data)
    if not isinstance(outer, VariableData) or not isinstance(outer.header, LongHeader):
        raise FrameError("CI 72 without a long header")
    return outer.header


def _reply(meter: MeterIdentity, access: int, plaintext: bytes, frame_counter: int | None) -> GasReply:
    where = f"gas meter {meter.label}"
    try:
        readout = decode_gas_records(decode_records(plaintext))
    except RecordError as exc:
        raise RecordError(f"{where}: {exc}") from exc
    hourly = readout.hourly
    if hourly is None:
        raise RecordError(f"{where}: RSP_UD has no hourly time stamp (46 6D) and hourly volume (4C 13/14) nor an "
                          "actual value [P2-4.0.7 §6.4.3, §6.4.4]")
    return GasReply(
        meter=meter,
        access_number=access,
        status=readout.status if readout.status is not None else 0,
        equipment_identifier=readout.equipment_identifier,
        value_m3=hourly.volume_m3,
        resolution_m3=hourly.resolution_m3,
        capture_time=hourly.captured_at,  # type I in UTC, DST fields coded 0 [§6.2.1, §6.4.3]
        valve=readout.valve.value if readout.valve is not None else None,
        configuration=int(readout.configuration) if readout.configuration is not None else None,
        frame_counter=frame_counter,  # mode 15 only; mode 0 carries no counter [§5.1]
        stored=hourly.stored,
    )
