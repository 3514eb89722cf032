"""A water or heat meter as a wired M-Bus slave of the E-meter (P2-4.2.2 §3–§6, §8.3; Liander manual §8).

The E-meter reads every M-Bus device the same way [P2-4.2.2 §6.3]: "All types slave meter will send" the
status byte, the equipment identifier and the meter configuration, and "all M-Bus devices transfer the
last known hourly value (Storage Number bit in DIF field is set) and a time stamp"; only the register
differs by kind (``device_kinds``): water ``4C 13`` m³ [§6.4.6], heat ``4C 0F`` 0.01 GJ [§6.4.5]. So this
slave writes its RSP_UD with the gas meter's record table (``gas_records`` with the kind) and the same
security (mode 15 with the user key, its own frame counter [§5]), and the E-meter's ``gas_reply`` and
``gas_acceptance`` read and judge it unchanged.

What it answers, per [§4.1 Table 5] (anything else is silence and a count in ``stats``, as the gas slave):
- SND_NKE: ACK (E5);
- REQ_UD2: RSP_UD CI 72 with the long header (its own Short ID: DEV = the kind's device type) and the
  default readout list: status ``01 FD 17``, equipment identifier ``0D 78``, hourly time stamp ``46 6D``
  and register, configuration ``01 FD 67`` (clock only: no valve, not a converted gas volume [§6.4.8]);
  encrypted once a user key is set, the frame counter +1 per RSP_UD [§5.2]; access number +1 [§4.2.4];
- SND_UD CI 51 unencrypted: *Set new address* (only while the user key is zero [§6.2.3]) and *Set new
  key* (wrapped with the default key [§6.5.1]); valve, clear-status and selection records are refused
  (such a meter has no valve, and the E-meter never changes its readout list).

The model behind it (``SubMeter`` in ``sim.submeters``) is anything with the ``Register`` protocol.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from meterkast.errors import CodecError, CommandRefused, InvalidInput
from meterkast.mbus.device_kinds import DeviceKind
from meterkast.mbus.gas_records import (
    CommandKind,
    GasReadout,
    HourlyReading,
    MeterConfiguration,
    decode_commands,
    encode_gas_records,
    plan_commands,
)
from meterkast.mbus.gas_slave import ACK, CI_PLAIN, SlaveStats, addressed_frame, secured_rsp_ud
from meterkast.mbus.keys import NO_USER_KEY, KeyRing
from meterkast.mbus.link import FCB_ACD, MAX_PRIMARY, LongFrame, ShortFrame
from meterkast.mbus.records import encode_records
from meterkast.mbus.security import FrameCounter, MeterIdentity

DSMR_42 = 0x42  # VER of a meter built to DSMR 4.2 [P2-4.2.2 §4.2.3]
SUB_METER_CONFIGURATION = MeterConfiguration.CLOCK  # a clock, no valve, no gas conversion [§6.4.8]
ALLOWED_PLAIN = {CommandKind.SET_ADDRESS, CommandKind.SET_KEY_LOW, CommandKind.SET_KEY_HIGH}


class Register(Protocol):
    """What the slave needs of its meter: identity, keys, the register and its last hourly value."""

    kind: DeviceKind
    equipment_id: str
    default_key: bytes
    access_number: int
    resolution: Decimal

    def advance(self, now: datetime) -> None: ...

    @property
    def register(self) -> Decimal: ...

    @property
    def last_hour(self) -> tuple[datetime, Decimal] | None: ...


def sub_meter_identity(meter: Register, manufacturer: str) -> MeterIdentity:
    """The Short ID [§4.2.2]: the last 8 digits of the serial (characters 6–15 of the identifier), BCD."""
    serial = meter.equipment_id[5:15]
    if len(meter.equipment_id) != 17 or not serial.isdigit():
        raise InvalidInput(f"equipment identifier {meter.equipment_id!r} must be 17 characters with a 10-digit "
                           "serial at 6–15 [P2-4.2.2 §6.4.1]")
    return MeterIdentity(manufacturer, serial[-8:], DSMR_42, meter.kind.device_type)


class SubMeterSlave:
    """The M-Bus interface of a water or heat meter: address, keys, frame counter (module docstring)."""

    def __init__(self, meter: Register, *, manufacturer: str, address: int = 0, user_key: bytes = NO_USER_KEY,
                 frame_counter: int = 0) -> None:
        if not 0 <= address <= MAX_PRIMARY:
            raise InvalidInput(f"primary address {address} must lie in 0..{MAX_PRIMARY} (P2-4.2.2 §3.1.3)")
        self.meter = meter
        self.identity = sub_meter_identity(meter, manufacturer)
        self.stats = SlaveStats()
        self._address = address
        self._keys = KeyRing(meter.default_key, user_key)
        self._counter = FrameCounter(frame_counter, meter=self.identity)

    @property
    def address(self) -> int:
        return self._address

    @property
    def frame_counter(self) -> int:
        return self._counter.value

    @property
    def keys(self) -> KeyRing:
        return self._keys

    def on_request(self, now: datetime, request: bytes) -> bytes | None:
        frame = addressed_frame(self.stats, request, self._address)
        if frame is None:
            return None
        self.meter.advance(now)
        control = frame.control & ~FCB_ACD
        try:
            if isinstance(frame, ShortFrame) and control == 0x40:  # SND_NKE
                reply = ACK
            elif isinstance(frame, ShortFrame) and control == 0x5B:  # REQ_UD2
                reply = self._read_data(now)
            elif isinstance(frame, LongFrame) and control == 0x53 and frame.ci == CI_PLAIN:
                reply = self._plain(frame.data)
            else:
                raise CommandRefused(f"C={frame.control:02X} is not served by this {self.meter.kind.name} meter")
        except (CommandRefused, CodecError, InvalidInput) as exc:
            self.stats.rejected += 1
            self.stats.last_rejection = str(exc)
            return None
        self.stats.answered += 1
        return reply

    def readout(self, now: datetime) -> GasReadout:
        """The default readout list [§6.3]; before the first whole hour the actual value, storage bit clear."""
        meter = self.meter
        last = meter.last_hour
        if last is not None:
            hourly = HourlyReading(last[0], last[1], meter.resolution)
        else:
            hourly = HourlyReading(now.astimezone(UTC).replace(microsecond=0), meter.register, meter.resolution,
                                   stored=False)
        return GasReadout(status=0, equipment_identifier=meter.equipment_id, hourly=hourly,
                          configuration=SUB_METER_CONFIGURATION)

    def _read_data(self, now: datetime) -> bytes:
        records = encode_records(encode_gas_records(self.readout(now), self.meter.kind))
        access = self.meter.access_number
        reply = secured_rsp_ud(records, self._keys, self._counter, self.identity, access=access, address=self._address)
        self.meter.access_number = (access + 1) % 256
        return reply

    def _plain(self, user_data: bytes) -> bytes:
        commands = decode_commands(user_data)
        for command in commands:
            if command.kind not in ALLOWED_PLAIN:
                raise CommandRefused(f"{command.kind.value}: a {self.meter.kind.name} meter takes only set address "
                                     "and set key (P2-4.2.2 §6.2, §6.5)")
            if command.kind is CommandKind.SET_ADDRESS and self._keys.is_encrypted:
                raise CommandRefused("set new address is ignored while a user key is set (P2-4.2.2 §6.2.3)")
        plan = plan_commands(commands)
        if plan.key_records is not None:
            self._keys = self._keys.accept_set_key_records(plan.key_records)
        if plan.new_address is not None:
            self._address = plan.new_address
        return ACK
