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
  configuration ``01 FD 67`` [§6.4.9] if sent;
- the layout is strict (``check_layout``): the plaintext must be byte for byte what a DSMR gas meter
  writes for the default readout list [§6.3] with these values: 2F 2F, the records in App. B1.5's
  order with their exact DIF/VIF (storage number included), the valve record exactly when the
  configuration has a valve, then 2F fillers up to the block [§5.1]. Mode 15 has no MAC, so this (and
  ``gas_acceptance``) is what catches an altered frame counter (plaintext bytes 8..15 of block 1) or a
  garbled block.

Reading stores nothing: the guard is only checked. The E-meter commits the frame counter after the
whole frame passed (``gas_acceptance.commit``). Anything missing or malformed raises a
:class:`RecordError` that names the meter and the record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from meterkast.errors import FrameError, RecordError
from meterkast.mbus.application import VariableData, decode_payload
from meterkast.mbus.device_kinds import GAS, DeviceKind, kind_for_device_type
from meterkast.mbus.gas_records import GasReadout, MeterConfiguration, decode_gas_records, encode_gas_records
from meterkast.mbus.header import LongHeader
from meterkast.mbus.link import C_RSP_UD, LongFrame
from meterkast.mbus.records import decode_records, encode_records
from meterkast.mbus.security import (
    ConfigurationWord,
    EncryptionMode,
    FrameCounterGuard,
    MeterIdentity,
    decrypt_payload,
    pad_plaintext,
)

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
    # The clear parts of the frame, for the E-meter's plausibility checks (``gas_acceptance``):
    control: int = 0x08  # C field: RSP_UD is 08h [§4.1 Table 5]
    header_status: int = 0  # ST: "not used and its value is set to 0" [§4.2.5]
    configuration_word: int = 0  # only mode and block count on wired P2 [§4.2.6]
    # The DEV byte of the header: gas, or a water or heat meter whose hourly register is read the same way
    # (``value_m3`` and ``resolution_m3`` are then in that kind's unit: m³ water, GJ heat) [P2-4.2.2 §6.3].
    device_type: int = GAS.device_type


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
    padded = configuration.mode == EncryptionMode.AES_CBC_MODE_15
    kind = kind_for_device_type(meter.medium)
    reply = _reply(meter, header.access, plain.records, plain.frame_counter, padded=padded, kind=kind)
    return replace(reply, control=frame.control, header_status=header.status, configuration_word=header.configuration)


def read_header(frame: LongFrame) -> LongHeader:
    """The long header of a RSP_UD: enough to learn a new device's Short ID at installation [§8.3]."""
    if frame.control & 0x0F != C_RSP_UD or frame.ci != CI_RSP_UD_LONG:
        raise FrameError(f"expected RSP_UD (C=08, CI=72), got C={frame.control:02X} CI={frame.ci:02X}")
    outer = decode_payload(frame.ci, frame.data)
    if not isinstance(outer, VariableData) or not isinstance(outer.header, LongHeader):
        raise FrameError("CI 72 without a long header")
    return outer.header


def check_layout(readout: GasReadout, plaintext: bytes, *, padded: bool, where: str, kind: DeviceKind = GAS) -> None:
    """The plaintext is exactly the default readout list as the gas meter writes it [§5.1, §6.3, App. B1.5].

    The E-meter never selects other records [§6.3.1], so a version record is out of place; the valve
    record belongs "if this is in the configuration data" [§6.3]. Re-encoding the values with the gas
    meter's own table and comparing bytes rules out any other order, duplicate, unknown or non-canonical
    record, and any filler that is not where padding puts it.
    """
    missing = [name for name, value in (("status 01 FD 17", readout.status),
                                        ("equipment identifier 0D 78", readout.equipment_identifier),
                                        ("meter configuration 01 FD 67", readout.configuration)) if value is None]
    if missing:
        raise RecordError(f"{where}: RSP_UD lacks {', '.join(missing)} of the default readout list [P2-4.0.7 §6.3]")
    if readout.versions:
        raise RecordError(f"{where}: RSP_UD carries version records the E-meter did not select [P2-4.0.7 §6.3.1]")
    has_valve = readout.configuration is not None and bool(readout.configuration & MeterConfiguration.VALVE)
    if (readout.valve is not None) != has_valve:
        raise RecordError(f"{where}: valve record {'missing' if has_valve else 'present'} while the configuration "
                          f"{readout.configuration:02X}h says {'a' if has_valve else 'no'} valve [P2-4.0.7 §6.3]")
    records = encode_records(encode_gas_records(readout, kind))
    expected = pad_plaintext(records) if padded else records
    if plaintext != expected:
        at = next((i for i, (a, b) in enumerate(zip(plaintext, expected, strict=False)) if a != b),
                  min(len(plaintext), len(expected)))
        raise RecordError(f"{where}: the records are not laid out as a DSMR gas meter writes them (first "
                          f"difference at plaintext byte {at}) [P2-4.0.7 §5.1, §6.3, App. B1.5]")


def _reply(meter: MeterIdentity, access: int, plaintext: bytes, frame_counter: int | None, *,
           padded: bool, kind: DeviceKind = GAS) -> GasReply:
    where = f"{kind.name} meter {meter.label}"
    try:
        readout = decode_gas_records(decode_records(plaintext), kind)
    except RecordError as exc:
        raise RecordError(f"{where}: {exc}") from exc
    hourly = readout.hourly
    if hourly is None:
        raise RecordError(f"{where}: RSP_UD has no hourly time stamp (46 6D) and hourly volume (4C 13/14) nor an "
                          "actual value [P2-4.0.7 §6.4.3, §6.4.4]")
    check_layout(readout, plaintext, padded=padded, where=where, kind=kind)
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
        device_type=meter.medium,  # the DEV byte as sent: 0Dh stays 0Dh on P1 (device_kinds.THERMAL_ALIASES)
    )
