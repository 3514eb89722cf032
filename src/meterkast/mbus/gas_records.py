"""The records between a DSMR 4.0 gas meter and its E-meter on P2 (DSMR 4.0.7 P2 §6, App. B1.4, B1.5).

Meter data: the ``RecordHead`` constants below name the DIB and VIB of every record the meter sends;
``encode_gas_records`` writes a ``GasReadout`` with them and ``decode_gas_records`` reads one back, so
``decode(encode(r)) == r``. Commands: ``COMMANDS`` names the records the E-meter sends (set key, set
address, valve, clear status, selection for readout); ``decode_commands`` and ``plan_commands`` parse
and check a whole command telegram before the slave acts on any of it.

The default readout list [§6.3]: status ``01 FD 17`` [§6.3.3], equipment identifier ``0D 78`` [§6.4.1],
meter configuration ``01 FD 67`` [§6.4.9], and the last hourly value: time stamp ``46 6D`` (type I,
UTC, storage 1) [§6.4.3] with the converted volume ``4C 13`` (G4/G6, 0.001 m³) or ``4C 14`` (G10–G25,
0.01 m³) [§6.4.4], plus the valve status ``89 40 FD 1A`` "if this is in the configuration data"
[§6.3, §6.4.5]. §6.3 leaves the order open; we send App. B1.5's order so its known answer reproduces.
The version strings ``0D FD 0C``..``0F`` [§6.4.2] "should not be added to the readout list by default":
the master selects them with ``08 FD 0C``..``0F`` [§6.3.1].

Rules this module keeps:
- values are exact: volumes are ``Decimal`` at the meter's resolution, time stamps aware UTC datetimes;
- one-byte bit fields (status, configuration) go out as raw bytes and are read back masked to 0..255:
  the codec treats DIF 01 as a signed integer, where a status with the valve-alarm bit (bit 7) is −128;
- the reader ignores records it does not know (another meter may send more) but refuses a known
  record with an impossible value (``RecordError``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum, IntFlag
from typing import Any

from meterkast.errors import CommandRefused, RecordError
from meterkast.gasmeter.events import ValveAction, ValvePosition
from meterkast.gasmeter.meter import GasMeter
from meterkast.mbus.device_kinds import GAS, DeviceKind
from meterkast.mbus.dif import BCD2, BCD8, INT8, INT48, INT64, SELECTION, VARIABLE, Dib
from meterkast.mbus.link import MAX_PRIMARY
from meterkast.mbus.records import DataRecord, IdleFiller, Item, Value, decode_records, encode_record
from meterkast.mbus.vif import Vib

GAS_MEDIUM = 0x03  # EN 13757-3 device type "gas" [P2-4.0.7 §4.3.2]


class ReadoutItem(Enum):
    """What a gas meter can put in an RSP_UD; the order here is the order on the wire."""

    STATUS = "status"
    EQUIPMENT_ID = "equipment identifier"
    HOURLY_VALUE = "hourly value"  # time stamp and converted volume travel together [§6.3]
    VALVE = "valve status"
    CONFIGURATION = "meter configuration"
    MODEL_VERSION = "model / version"
    HARDWARE_VERSION = "hardware version"
    METROLOGY_VERSION = "metrology firmware version"
    OTHER_VERSION = "other firmware version"


DEFAULT_READOUT: tuple[ReadoutItem, ...] = (
    ReadoutItem.STATUS, ReadoutItem.EQUIPMENT_ID, ReadoutItem.HOURLY_VALUE, ReadoutItem.VALVE,
    ReadoutItem.CONFIGURATION,
)


class MeterConfiguration(IntFlag):
    """The mask of ``01 FD 67`` [P2-4.0.7 §6.4.9]."""

    CLOCK = 1 << 0
    VALVE = 1 << 1
    CONVERTED_VOLUME = 1 << 2  # the temperature-converted value is displayed and sent
    VALVE_RELEASE = 1 << 3
    VALVE_OPEN_DIRECT = 1 << 4


# The Itron meter has a clock and a valve and sends the converted volume (SYSTEM G3, G12); its valve
# accepts no command at all, so neither "release" nor "open direct" is supported. App. B1.5 sends 07 too.
ITRON_CONFIGURATION = MeterConfiguration.CLOCK | MeterConfiguration.VALVE | MeterConfiguration.CONVERTED_VOLUME

_FD = 0x7D
# Version VIFEs [§6.4.2]: FD 0C model/version, 0D hardware, 0E metrology firmware, 0F other firmware.
VERSION_VIFES: dict[ReadoutItem, int] = {
    ReadoutItem.MODEL_VERSION: 0x0C, ReadoutItem.HARDWARE_VERSION: 0x0D,
    ReadoutItem.METROLOGY_VERSION: 0x0E, ReadoutItem.OTHER_VERSION: 0x0F,
}
# Volume VIF by resolution [§6.4.4]: E001 0nnn, 10^(nnn−6) m³.
VOLUME_VIFS: dict[Decimal, int] = {Decimal("0.001"): 0x13, Decimal("0.01"): 0x14}


@dataclass(frozen=True, slots=True)
class RecordHead:
    """The DIB and VIB of one record kind."""

    dib: Dib
    vib: Vib


STATUS = RecordHead(Dib(INT8), Vib(_FD, (0x17,)))  # 01 FD 17 [§6.3.3]
EQUIPMENT_ID = RecordHead(Dib(VARIABLE), Vib(0x78))  # 0D 78 [§6.4.1]
TIMESTAMP = RecordHead(Dib(INT48, storage=1), Vib(0x6D))  # 46 6D, type I, storage bit = hourly [§6.4.3]
VALVE = RecordHead(Dib(BCD2, subunit=1, difes=1), Vib(_FD, (0x1A,)))  # 89 40 FD 1A [§6.4.5]
CONFIGURATION = RecordHead(Dib(INT8), Vib(_FD, (0x67,)))  # 01 FD 67 [§6.4.9]
VOLUMES: dict[Decimal, RecordHead] = {  # 4C 13 / 4C 14, storage bit = hourly [§6.4.4]
    resolution: RecordHead(Dib(BCD8, storage=1), Vib(vif)) for resolution, vif in VOLUME_VIFS.items()
}
# Before its first whole hour a meter has no hourly value and sends its actual value instead, "accompanied
# with a time stamp of the moment the value is determined", storage bit clear [§6.4.3]: 06 6D, 0C 13/14.
ACTUAL_TIMESTAMP = RecordHead(Dib(INT48), Vib(0x6D))
ACTUAL_VOLUMES: dict[Decimal, RecordHead] = {
    resolution: RecordHead(Dib(BCD8), Vib(vif)) for resolution, vif in VOLUME_VIFS.items()
}
VERSIONS: dict[ReadoutItem, RecordHead] = {  # 0D FD 0C..0F [§6.4.2]
    item: RecordHead(Dib(VARIABLE), Vib(_FD, (vife,))) for item, vife in VERSION_VIFES.items()
}
# What the master may select with a "selection for readout" record (data field 1000b) [§6.3.1]: the VIB
# of the record it wants. Time stamp and volume both select the hourly value.
SELECTABLE: dict[Vib, ReadoutItem] = {
    STATUS.vib: ReadoutItem.STATUS, EQUIPMENT_ID.vib: ReadoutItem.EQUIPMENT_ID,
    TIMESTAMP.vib: ReadoutItem.HOURLY_VALUE, **{h.vib: ReadoutItem.HOURLY_VALUE for h in VOLUMES.values()},
    VALVE.vib: ReadoutItem.VALVE, CONFIGURATION.vib: ReadoutItem.CONFIGURATION,
    **{head.vib: item for item, head in VERSIONS.items()},
}


@dataclass(frozen=True, slots=True)
class HourlyReading:
    """The value stored at the last whole hour of the meter's clock and its UTC time stamp [§6.1]."""

    captured_at: datetime
    volume_m3: Decimal
    resolution_m3: Decimal
    stored: bool = True  # False: the actual value at ``captured_at``, sent before the first whole hour


@dataclass(frozen=True, slots=True)
class GasReadout:
    """The content of one RSP_UD; a field is None when the readout list left it out."""

    status: int | None = None
    equipment_identifier: str | None = None
    hourly: HourlyReading | None = None
    valve: ValvePosition | None = None
    configuration: MeterConfiguration | None = None
    versions: tuple[tuple[ReadoutItem, str], ...] = ()


def encode_gas_records(readout: GasReadout, kind: DeviceKind = GAS) -> tuple[Item, ...]:
    """The records of ``readout`` in wire order; ``kind`` picks the hourly register's VIF (``device_kinds``)."""
    records: list[DataRecord] = []
    if readout.status is not None:
        records.append(_record(STATUS, _byte(readout.status, "status")))
    if readout.equipment_identifier is not None:
        records.append(_record(EQUIPMENT_ID, readout.equipment_identifier))
    if readout.hourly is not None:
        records.extend(_hourly_records(readout.hourly, kind))
    if readout.valve is not None:
        records.append(_record(VALVE, Decimal(readout.valve.value)))
    if readout.configuration is not None:
        records.append(_record(CONFIGURATION, _byte(readout.configuration, "meter configuration")))
    records.extend(_record(VERSIONS[item], text) for item, text in readout.versions)
    return tuple(records)


def decode_gas_records(items: Iterable[Item], kind: DeviceKind = GAS) -> GasReadout:
    """Read the records of a (decrypted) RSP_UD back; fillers and unknown records are skipped.

    ``kind`` says which hourly register to read: a water meter's ``4C 13`` or a heat meter's ``4C 0F``
    share every other record with the gas meter [P2-4.2.2 §6.3, §6.4.5, §6.4.6]."""
    readers = _READERS if kind is GAS else _readers_for(kind)
    found: dict[str, Any] = {}
    versions: list[tuple[ReadoutItem, str]] = []
    for item in items:
        if not isinstance(item, DataRecord):
            continue
        head = RecordHead(item.dib, item.vib)
        if head in _VERSION_BY_HEAD:
            versions.append((_VERSION_BY_HEAD[head], _text(item.value, "version")))
        elif head in readers:
            name, read = readers[head]
            found[name] = read(item.value, head)
    stamp, volume = found.pop("captured_at", None), found.pop("volume", None)
    actual_stamp, actual_volume = found.pop("actual_at", None), found.pop("actual_volume", None)
    if (stamp is None) != (volume is None) or (actual_stamp is None) != (actual_volume is None):
        raise RecordError("a value needs both its time stamp (46 6D / 06 6D) and its volume (4C / 0C 13/14) "
                          "(DSMR P2 §6.3, §6.4.3)")
    hourly = None
    if volume is not None:
        hourly = HourlyReading(stamp, *volume)
    elif actual_volume is not None:
        actual_m3, resolution = actual_volume
        hourly = HourlyReading(actual_stamp, actual_m3, resolution, stored=False)
    return replace(GasReadout(hourly=hourly, versions=tuple(versions)), **found)


def readout_from_meter(meter: GasMeter, items: Collection[ReadoutItem]) -> GasReadout:
    """What ``meter`` sends for the readout list ``items`` (call ``meter.advance(now)`` first).

    The hourly value is the one the meter stored at its last whole hour, never the live index [§6.1]
    (an SMR 5 meter: at its last 5-minute mark, [P1-5.0.2 §7.3], ``gasmeter/variant.py``);
    before the first whole hour after manufacture there is none, and the actual index goes out instead,
    stamped with the meter's time of reading and the storage bit clear [§6.4.3].
    """
    stored = meter.p2_value  # the last whole hour's, or an SMR 5 meter's last 5-minute mark's (variant.py)
    hourly = None
    if ReadoutItem.HOURLY_VALUE in items:
        resolution = meter.metrology.resolution_m3
        if stored is not None:
            hourly = HourlyReading(stored.captured_at, stored.index_m3, resolution)
        else:
            moment = meter.meter_time(meter.now).replace(microsecond=0)
            hourly = HourlyReading(moment, meter.index_m3, resolution, stored=False)
    texts = version_texts(meter)
    return GasReadout(
        status=meter.status_byte() if ReadoutItem.STATUS in items else None,
        equipment_identifier=str(meter.meter_number) if ReadoutItem.EQUIPMENT_ID in items else None,
        hourly=hourly,
        # "Valve status (6.4.5) if this is in the configuration data" [§6.3]: the Itron has a valve.
        valve=meter.valve if ReadoutItem.VALVE in items else None,
        configuration=ITRON_CONFIGURATION if ReadoutItem.CONFIGURATION in items else None,
        versions=tuple((item, texts[item]) for item in ReadoutItem if item in VERSIONS and item in items),
    )


# The model has no hardware revisions; these labels stand in for them, stable across runs.
METROLOGY_HARDWARE = "PCB-1"
COMMUNICATION_HARDWARE = "MBUS-W1"


def version_texts(meter: GasMeter) -> dict[ReadoutItem, str]:
    """The ``name=value<CR><LF>`` properties of §6.4.2 for each version VIFE."""
    functional = meter.functional_firmware.version
    # "Application config": the parameters set in production that fix the meter's behaviour, here its
    # size and the pressure its volume conversion assumes (DSMR-M 4.3.48, SYSTEM G3/G4).
    config = f"{meter.meter_type.value}/{meter.register.pressure_mbar}mbar"
    return {
        ReadoutItem.MODEL_VERSION: f"dsmr={meter.nameplate.dsmr_version}\r\n",
        ReadoutItem.HARDWARE_VERSION: f"met={METROLOGY_HARDWARE}\r\ncom={COMMUNICATION_HARDWARE}\r\n",
        ReadoutItem.METROLOGY_VERSION: f"met={meter.legal_firmware.version}\r\n",
        ReadoutItem.OTHER_VERSION: f"com={functional}\r\napl={functional}\r\ncfg={config}\r\n",
    }


# -- commands from the E-meter [§6.2, §6.3.1, §6.5.1] -------------------------------------------------


class CommandKind(Enum):
    SET_KEY_LOW = "set new key, low 64 bits"  # 07 FD 19 [§6.5.1]
    SET_KEY_HIGH = "set new key, high 64 bits"  # 47 FD 19 [§6.5.1]
    SET_ADDRESS = "set new address"  # 01 7A [§6.2.3]
    VALVE = "valve control"  # 01 FD 1F [§6.2.2]
    CLEAR_STATUS = "clear status bits"  # 01 FD 97 06 mm [§6.2.4]
    SELECT = "selection for readout"  # 08 <VIB> [§6.3.1]


COMMANDS: dict[RecordHead, CommandKind] = {
    RecordHead(Dib(INT64), Vib(_FD, (0x19,))): CommandKind.SET_KEY_LOW,
    RecordHead(Dib(INT64, storage=1), Vib(_FD, (0x19,))): CommandKind.SET_KEY_HIGH,
    RecordHead(Dib(INT8), Vib(0x7A)): CommandKind.SET_ADDRESS,
    RecordHead(Dib(INT8), Vib(_FD, (0x1F,))): CommandKind.VALVE,
    # VIFE 06h after "error flags" is the EN 13757-3 action "clear bits": the mask says which.
    RecordHead(Dib(INT8), Vib(_FD, (0x17, 0x06))): CommandKind.CLEAR_STATUS,
}
VALVE_COMMANDS = {0x00: ValveAction.CLOSE, 0x01: ValveAction.OPEN, 0x02: ValveAction.RELEASE}  # [§6.2.2]


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    record: DataRecord
    selects: ReadoutItem | None = None


@dataclass(frozen=True, slots=True)
class CommandPlan:
    """A checked command telegram: what it will change."""

    key_records: bytes | None = None  # the two set-key records, for ``KeyRing.accept_set_key_records``
    selection: tuple[ReadoutItem, ...] | None = None
    valve: ValveAction | None = None
    clear_mask: int = 0
    new_address: int | None = None


def decode_commands(user_data: bytes) -> list[Command]:
    """The commands in a SND_UD's records (fillers skipped); ``CommandRefused`` for anything else."""
    commands = [decode_command(item) for item in decode_records(user_data) if not isinstance(item, IdleFiller)]
    if not commands:
        raise CommandRefused("a command telegram without commands")
    return commands


def decode_command(item: Item) -> Command:
    if not isinstance(item, DataRecord):
        raise CommandRefused(f"{type(item).__name__} is not a DSMR P2 command")
    if item.dib.field == SELECTION:
        selects = SELECTABLE.get(item.vib)
        if selects is None:
            raise CommandRefused(f"selection of {item.vib} names nothing this meter sends (DSMR P2 §6.3.1)")
        return Command(CommandKind.SELECT, item, selects)
    kind = COMMANDS.get(RecordHead(item.dib, item.vib))
    if kind is None:
        raise CommandRefused(f"record {encode_record(item).hex(' ').upper()} is not a DSMR P2 command")
    return Command(kind, item)


def plan_commands(commands: list[Command]) -> CommandPlan:
    """Check the values of a whole telegram, so that a bad record stops all of it."""
    by_kind: dict[CommandKind, Command] = {}
    for command in commands:
        if command.kind in by_kind and command.kind is not CommandKind.SELECT:
            raise CommandRefused(f"{command.kind.value} appears twice in one telegram")
        by_kind[command.kind] = command
    low, high = by_kind.get(CommandKind.SET_KEY_LOW), by_kind.get(CommandKind.SET_KEY_HIGH)
    if (low is None) != (high is None):
        raise CommandRefused("set new key needs both halves, 07 FD 19 and 47 FD 19 (DSMR P2 §6.5.1)")
    chosen = {c.selects for c in commands if c.selects is not None}
    valve = _command_byte(by_kind.get(CommandKind.VALVE))
    if valve is not None and valve not in VALVE_COMMANDS:
        raise CommandRefused(f"valve command {valve:02X} is not 00, 01 or 02 (DSMR P2 §6.2.2)")
    address = _command_byte(by_kind.get(CommandKind.SET_ADDRESS))
    if address is not None and address > MAX_PRIMARY:
        raise CommandRefused(f"new address {address} is above {MAX_PRIMARY} (DSMR P2 §3.1.3)")
    return CommandPlan(
        key_records=None if low is None or high is None else encode_record(low.record) + encode_record(high.record),
        selection=tuple(item for item in ReadoutItem if item in chosen) if chosen else None,
        valve=None if valve is None else VALVE_COMMANDS[valve],
        clear_mask=_command_byte(by_kind.get(CommandKind.CLEAR_STATUS)) or 0,
        new_address=address,
    )


def _command_byte(command: Command | None) -> int | None:
    return None if command is None else _int_byte(command.record.value, command.kind.value)


def _hourly_records(hourly: HourlyReading, kind: DeviceKind = GAS) -> tuple[DataRecord, DataRecord]:
    value = hourly.volume_m3
    if kind is GAS:
        head = (VOLUMES if hourly.stored else ACTUAL_VOLUMES).get(hourly.resolution_m3)
        if head is None:
            raise RecordError(f"resolution {hourly.resolution_m3} m³ has no DSMR volume VIF; "
                              "use 0.001 (G4/G6) or 0.01 (G10–G25) (DSMR P2 §6.4.4)")
    else:
        head = RecordHead(Dib(BCD8, storage=int(hourly.stored)), Vib(kind.vif(hourly.resolution_m3)))
        value = kind.to_wire(hourly.volume_m3)
    # Type I carries no zone; DSMR P2 sends UTC with the daylight-saving fields 0 [§6.2.1 note 6].
    stamp = hourly.captured_at.astimezone(UTC).replace(tzinfo=None)
    return _record(TIMESTAMP if hourly.stored else ACTUAL_TIMESTAMP, stamp), _record(head, value)


def _record(head: RecordHead, value: Value) -> DataRecord:
    return DataRecord(head.dib, head.vib, value)


def _byte(value: int, what: str) -> bytes:
    if not 0 <= value <= 0xFF:
        raise RecordError(f"{what} {value} must fit one byte")
    return bytes((value,))


def _int_byte(value: Value, what: str) -> int:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value) & 0xFF  # the codec reads DIF 01 as signed; these fields are unsigned bytes
    raise RecordError(f"{what} {value!r} is not a one-byte value")


def _number(value: Value, what: str) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite() and value >= 0:
        return value
    raise RecordError(f"{what} {value!r} is not a valid BCD number (DSMR P2 §6.4.4)")


def _text(value: Value, what: str) -> str:
    if isinstance(value, str):
        return value
    raise RecordError(f"{what} {value!r} is not text")


def _utc(value: Value) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC)  # P2 time is UTC [§6.2.1]
    raise RecordError(f"hourly time stamp {value!r} is not a valid type I date and time (DSMR P2 §6.4.3)")


def _valve(value: Value) -> ValvePosition:
    try:
        return ValvePosition(int(_number(value, "valve status")))
    except ValueError as exc:
        raise RecordError(f"valve status {value!r} is not 00 closed, 01 opened or 02 released "
                          "(DSMR P2 §6.4.5)") from exc


_VOLUME_BY_HEAD = {head: resolution for table in (VOLUMES, ACTUAL_VOLUMES) for resolution, head in table.items()}
_VERSION_BY_HEAD = {head: item for item, head in VERSIONS.items()}
_Reader = Callable[[Value, RecordHead], object]
# Record → GasReadout field; time stamp and volume are joined into ``hourly`` afterwards, and the
# volume's VIF gives its resolution.
_READERS: dict[RecordHead, tuple[str, _Reader]] = {
    STATUS: ("status", lambda value, _: _int_byte(value, "status")),
    EQUIPMENT_ID: ("equipment_identifier", lambda value, _: _text(value, "equipment identifier")),
    TIMESTAMP: ("captured_at", lambda value, _: _utc(value)),
    VALVE: ("valve", lambda value, _: _valve(value)),
    CONFIGURATION: ("configuration", lambda value, _: MeterConfiguration(_int_byte(value, "meter configuration"))),
    **{head: ("volume", lambda value, head: (_number(value, "volume"), _VOLUME_BY_HEAD[head]))
       for head in VOLUMES.values()},
    ACTUAL_TIMESTAMP: ("actual_at", lambda value, _: _utc(value)),
    **{head: ("actual_volume", lambda value, head: (_number(value, "volume"), _VOLUME_BY_HEAD[head]))
       for head in ACTUAL_VOLUMES.values()},
}


def _readers_for(kind: DeviceKind) -> dict[RecordHead, tuple[str, _Reader]]:
    """``_READERS`` with the gas volumes swapped for ``kind``'s hourly register (4C vv stored, 0C vv actual)."""
    readers = {head: reader for head, reader in _READERS.items() if head not in _VOLUME_BY_HEAD}
    for resolution, vif in kind.registers:
        def read(value: Value, _: RecordHead, step: Decimal = resolution) -> tuple[Decimal, Decimal]:
            return kind.from_wire(_number(value, f"{kind.name} register"), step), step
        readers[RecordHead(Dib(BCD8, storage=1), Vib(vif))] = ("volume", read)
        readers[RecordHead(Dib(BCD8), Vib(vif))] = ("actual_volume", read)
    return readers
