"""The E-meter's M-Bus objects, one set per channel x = 1..4 (DSMR 4.2.2 P3 §7; SYSTEM M3, E1, E4, G12).

| object | logical name | class | P3 |
|---|---|---|---|
| M-Bus client setup | 0-x:24.1.0.255 | 72 v1 (attributes 13, 14 are version 1) | §7.1 |
| M-Bus master port setup | 0-0:24.6.0.255 (the P3 table writes 0-x; one port, b = 0) | 74 v0 | §7.1 |
| M-Bus equipment identifier | 0-x:96.1.0.255 | 1 | §7.2 |
| M-Bus master value | 0-x:24.2.1.255 | 4 v0 | §7.3.1 |
| hourly M-Bus load profile | 0-x:24.3.0.255 | 7 v1 | §7.4 |
| AMR profile status code M-Bus | 0-x:96.10.3.255 | 1 (P and M may read) | §4.2.5 |
| M-Bus disconnect control (gas valve) | 0-x:24.4.0.255 | 70 v0 | DSMR 4.0.x; removed in 4.2.2 |

Every attribute is management-only except the AMR status. Rules this module keeps:
- values come from the model (``EMeter.identity``, ``master_value``, ``hourly_profile``); what it does not
  keep is answered ``other-reason`` (access number, M-Bus alarm, P2 key status) or the standard's "unknown"
  (configuration 99, P3 §7.1), never invented;
- the value's scaler follows the device resolution (P3 §7.3.1 "set by the E-meter by reading the M-Bus
  device VIF/DIF"): -3 for 0.001 m³ (G4/G6), -2 for 0.01 m³;
- class 72 methods that need the bus (install, capture, keys, clock, data) are handed to the shell as
  ``MbusCommandReceived`` and answered ``success``: "In cases where an action within the E meter cannot be
  performed in the same communication session … the E meter shall return success … as soon as the command
  was received" (P3 §3.5). transfer_key's octet-string is "MSB first" on P3 and turned LSB first for P2
  (P3 §3.2.3.1, Transfer Key handling);
- disconnect control: DSMR 4.2.2 removed valve control and the SYSTEM says the E-meter "no longer lets
  anyone operate it. A valve command must be refused, and that refusal must be visible" (G12, E4). Both
  methods reach ``EMeter.command_valve`` (logged as M-Bus event 230 + x − 1) and are answered
  ``read-write-denied``, the result P3 §2.2 gives for a method the client has no access to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal

from meterkast.cosem.access import CosemObject, Ctx, GetResult, Invoker, MethodResult, attr, method
from meterkast.cosem.access import logical_name_attr as ln_attr
from meterkast.cosem.builders import CLOCK_CELL, column, const, data_object, not_modelled, obis, raised
from meterkast.cosem.events import MbusCommandReceived
from meterkast.cosem.profiles import ProfileSpec, profile_object
from meterkast.cosem.values import Unit, date_time, scaled, scaler_of, scaler_unit
from meterkast.dlms import (
    ActionResult,
    Array,
    Boolean,
    DataAccessResult,
    DlmsData,
    DoubleLongUnsigned,
    EnumValue,
    Integer,
    LongUnsigned,
    NullData,
    OctetString,
    Structure,
    Unsigned,
)
from meterkast.emeter.profiles import BillingEntry, HourlyEntry, hourly_spec
from meterkast.emeter.readings import MbusDeviceIdentity, ValveAction
from meterkast.errors import CommandRefused, InvalidInput
from meterkast.mbus.device_kinds import BY_DEVICE_TYPE, ELECTRICITY, GAS, HEAT, WATER, DeviceKind
from meterkast.mbus.header import encode_manufacturer

MBUS_PORT = obis("0-0:24.6.0.255")
CONFIGURATION_UNKNOWN = 99  # P3 §7.1 attribute 13: "Default value is 99 (unknown), 0 or 15"
COMM_SPEED_2400 = 3  # class 74 comm_speed enum (3) 2400 baud, P3 §7.1
# capture_definition: the DIB/VIB of the records the E-meter captures, the hourly volume 4C 13 (or 14) and
# its time stamp 46 6D [P2-4.0.7 §6.4.3, §6.4.4]
VOLUME_VIB = {Decimal("0.001"): b"\x13", Decimal("0.01"): b"\x14"}


def _identity(ctx: Ctx, channel: int) -> MbusDeviceIdentity | None:
    return ctx.meter.identity(channel)


def _resolution(ctx: Ctx, channel: int) -> Decimal:
    master = ctx.meter.master_value(channel)
    return _kind(ctx, channel).resolutions[0] if master is None else master.resolution_m3  # gas: 0.001


# The unit of 0-x:24.2.1 by the device's kind: "set by the E-meter by reading the M-Bus device VIF/DIF"
# [P3-4.2.2 §7.3.1]. A heat meter's 0.01 GJ is 10^7 J (scaler 7, Blue Book unit 25 J).
UNITS: dict[DeviceKind, Unit] = {GAS: Unit.CUBIC_METRE, WATER: Unit.VOLUME_CUBIC_METRE, HEAT: Unit.JOULE,
                                 ELECTRICITY: Unit.WATT_HOUR}


def _kind(ctx: Ctx, channel: int) -> DeviceKind:
    identity = _identity(ctx, channel)
    return GAS if identity is None else BY_DEVICE_TYPE.get(identity.device_type, GAS)


def _scaler(ctx: Ctx, channel: int) -> int:
    """The scaler of 0-x:24.2.1 in the kind's COSEM unit: -3 for 0.001 m³, 7 for 0.01 GJ in J."""
    return scaler_of(_resolution(ctx, channel)) + _kind(ctx, channel).wire_exponent


def register_integer(ctx: Ctx, channel: int, value: Decimal) -> DoubleLongUnsigned:
    """``value`` (in the kind's unit: m³, GJ) as the integer of 0-x:24.2.1 with ``_scaler``."""
    return gas_integer(_kind(ctx, channel).to_wire(value), _scaler(ctx, channel))


def gas_integer(value_m3: Decimal, scaler: int) -> DoubleLongUnsigned:
    try:
        return DoubleLongUnsigned(scaled(value_m3, scaler))
    except InvalidInput:  # an older entry finer than today's device resolution: show the digits it has
        return DoubleLongUnsigned(int(value_m3.scaleb(-scaler).to_integral_value(ROUND_DOWN)))


def _used(channel: int) -> Callable[[Ctx], bool]:
    return lambda ctx: _identity(ctx, channel) is not None


# ---- 0-x:24.2.1 master value, class 4 (P3 §7.3.1) ---------------------------------------------------------

def master_value_object(channel: int) -> CosemObject:
    ln = obis(f"0-{channel}:24.2.1.255")

    def value(ctx: Ctx) -> GetResult:
        master = ctx.meter.master_value(channel)
        return DoubleLongUnsigned(0) if master is None else register_integer(ctx, channel, master.value_m3)

    def status(ctx: Ctx) -> GetResult:
        master = ctx.meter.master_value(channel)
        return OctetString(bytes((0 if master is None else master.status,)))

    def capture_time(ctx: Ctx) -> GetResult:
        master = ctx.meter.master_value(channel)
        return date_time(None if master is None else master.capture_time)

    return CosemObject(ln, 4, 0, f"M-Bus master value channel {channel}", (
        ln_attr(ln, P=""),
        attr(2, "value", M="R", get=value),
        attr(3, "scaler_unit", M="R",
             get=lambda ctx: scaler_unit(_scaler(ctx, channel), UNITS[_kind(ctx, channel)])),
        attr(4, "status", M="R", get=status),  # P3 §7.3.1 types it octet-string
        attr(5, "capture_time", M="R", get=capture_time),
    ), (method(1, "reset"),), _used(channel))


def billing_value_cell(channel: int) -> Callable[[Ctx, BillingEntry], DlmsData]:
    """{4, 0-x:24.2.1, 2} in the daily/monthly profiles; null-data for a channel without a value."""
    def cell(ctx: Ctx, entry: BillingEntry) -> DlmsData:
        found = entry.channel(channel)
        return NullData() if found is None else register_integer(ctx, channel, found.value_m3)
    return cell


def billing_time_cell(channel: int) -> Callable[[Ctx, BillingEntry], DlmsData]:
    def cell(_ctx: Ctx, entry: BillingEntry) -> DlmsData:
        found = entry.channel(channel)
        return NullData() if found is None else date_time(found.capture_time)
    return cell


# ---- 0-x:24.1.0 M-Bus client setup, class 72 (P3 §7.1) -----------------------------------------------------

def _short_id(channel: int, read: Callable[[MbusDeviceIdentity], DlmsData], empty: DlmsData) -> Callable[
        [Ctx], GetResult]:
    def getter(ctx: Ctx) -> GetResult:
        identity = _identity(ctx, channel)
        return empty if identity is None or not ctx.meter.is_coupled(channel) else read(identity)
    return getter


def _capture_definition(ctx: Ctx, channel: int) -> GetResult:
    if not ctx.meter.is_coupled(channel):
        return Array()
    kind, resolution = _kind(ctx, channel), _resolution(ctx, channel)
    vib = VOLUME_VIB.get(resolution, b"\x13") if kind is GAS else bytes((kind.vif(resolution),))
    return Array((Structure((OctetString(b"\x4c"), OctetString(vib))),
                  Structure((OctetString(b"\x46"), OctetString(b"\x6d")))))


def _command(channel: int, name: str, *, needs_device: bool = True, kind: type | None = None) -> Invoker:
    """Hand a class 72 method to the M-Bus shell and answer success (P3 §3.5)."""
    def invoke(ctx: Ctx, parameters: DlmsData | None) -> MethodResult:
        if kind is not None and not isinstance(parameters, kind):
            return ActionResult.TYPE_UNMATCHED, None
        if needs_device and not ctx.meter.is_coupled(channel):
            return ActionResult.OBJECT_UNAVAILABLE, None
        payload: object = parameters
        if name == "transfer_key" and isinstance(parameters, OctetString):
            payload = OctetString(parameters.value[::-1])  # MSB first on P3, LSB first on P2 (P3 §3.2.3.1)
        ctx.events.append(MbusCommandReceived(channel, name, payload))
        return ActionResult.SUCCESS, None
    return invoke


def _deinstall(channel: int) -> Invoker:
    def invoke(ctx: Ctx, _parameters: DlmsData | None) -> MethodResult:
        if not ctx.meter.is_coupled(channel):
            return ActionResult.OBJECT_UNAVAILABLE, None
        raised(ctx, ctx.meter.decouple(ctx.meter.now, channel))
        ctx.events.append(MbusCommandReceived(channel, "slave_deinstall", None))  # P2: address 0, key gone
        return ActionResult.SUCCESS, None
    return invoke


def _unknown(_ctx: Ctx) -> GetResult:
    return DataAccessResult.OTHER_REASON  # not kept by the model (module docstring)


def client_setup_object(channel: int) -> CosemObject:
    ln = obis(f"0-{channel}:24.1.0.255")

    def status(ctx: Ctx) -> GetResult:
        master = ctx.meter.master_value(channel)
        return Unsigned(0 if master is None else master.status)

    return CosemObject(ln, 72, 1, f"M-Bus client setup channel {channel}", (
        ln_attr(ln, P=""),
        attr(2, "mbus_port_reference", M="R", get=const(OctetString(MBUS_PORT.to_bytes()))),
        attr(3, "capture_definition", M="R", get=lambda ctx: _capture_definition(ctx, channel)),
        attr(4, "capture_period", M="RW", get=const(DoubleLongUnsigned(3600)), set=not_modelled),
        attr(5, "primary_address", M="RW", get=_short_id(channel, lambda _i: Unsigned(channel), Unsigned(0)),
             set=not_modelled),
        attr(6, "identification_number", M="RW", set=not_modelled, get=_short_id(
            channel, lambda i: DoubleLongUnsigned(int(f"{i.identification_number:08d}", 16)), DoubleLongUnsigned(0))),
        attr(7, "manufacturer_id", M="RW", set=not_modelled, get=_short_id(
            channel, lambda i: LongUnsigned(encode_manufacturer(i.manufacturer)), LongUnsigned(0))),
        attr(8, "version", M="RW", get=_short_id(channel, lambda i: Unsigned(i.version), Unsigned(0)),
             set=not_modelled),
        attr(9, "device_type", M="RW", get=_short_id(channel, lambda i: Unsigned(i.device_type), Unsigned(0)),
             set=not_modelled),
        attr(10, "access_number", M="R", get=_unknown),
        attr(11, "status", M="R", get=status),
        attr(12, "alarm", M="R", get=_unknown),
        attr(13, "configuration", M="R", get=const(LongUnsigned(CONFIGURATION_UNKNOWN))),
        attr(14, "encryption_key_status", M="R", get=_unknown),
    ), (
        method(1, "slave_install", M=True, invoke=_command(channel, "slave_install", needs_device=False)),
        method(2, "slave_deinstall", M=True, invoke=_deinstall(channel)),
        method(3, "capture", M=True, invoke=_command(channel, "capture")),
        method(4, "reset_alarm", M=True, invoke=_command(channel, "reset_alarm")),
        method(5, "synchronize_clock", M=True, invoke=_command(channel, "synchronize_clock")),
        method(6, "data_send", M=True, invoke=_command(channel, "data_send", kind=Array)),
        method(7, "set_encryption_key", M=True,
               invoke=_command(channel, "set_encryption_key", needs_device=False, kind=OctetString)),
        method(8, "transfer_key", M=True, invoke=_command(channel, "transfer_key", kind=OctetString)),
    ))


# ---- 0-x:24.4.0 disconnect control (gas valve), class 70 --------------------------------------------------

def _valve(channel: int, action: ValveAction) -> Invoker:
    def invoke(ctx: Ctx, parameters: DlmsData | None) -> MethodResult:
        if parameters is not None and not isinstance(parameters, Integer):
            return ActionResult.TYPE_UNMATCHED, None
        with contextlib.suppress(CommandRefused):  # a decoupled channel: nothing to log, refused all the same
            raised(ctx, ctx.meter.command_valve(ctx.meter.now, channel, action))
        return ActionResult.READ_WRITE_DENIED, None
    return invoke


def disconnect_control_object(channel: int) -> CosemObject:
    ln = obis(f"0-{channel}:24.4.0.255")
    return CosemObject(ln, 70, 0, f"M-Bus disconnect control channel {channel}", (
        ln_attr(ln, P=""),
        attr(2, "output_state", M="R", get=const(Boolean(True))),  # the valve stays open
        attr(3, "control_state", M="R", get=const(EnumValue(1))),  # (1) connected
        attr(4, "control_mode", M="R", get=const(EnumValue(0))),  # (0) none: always connected
    ), (
        method(1, "remote_disconnect", M=True, invoke=_valve(channel, ValveAction.CLOSE)),
        method(2, "remote_reconnect", M=True, invoke=_valve(channel, ValveAction.OPEN)),
    ), _used(channel))


# ---- profile, identifiers, status ---------------------------------------------------------------------------

def hourly_profile_object(channel: int) -> CosemObject:
    spec = hourly_spec(channel)
    value_ln = f"0-{channel}:24.2.1.255"

    def value(ctx: Ctx, entry: HourlyEntry) -> DlmsData:
        return register_integer(ctx, channel, entry.value_m3)

    columns = (CLOCK_CELL, column(1, f"0-{channel}:96.10.3.255", 2, lambda _c, e: Unsigned(int(e.status))),
               column(4, value_ln, 2, value), column(4, value_ln, 5, lambda _c, e: date_time(e.capture_time)))
    profile = ProfileSpec(obis(spec.obis), f"M-Bus master load profile channel {channel}", columns,
                          lambda ctx: list(ctx.meter.hourly_profile(channel)), lambda e: e.clock,
                          spec.capture_period_s, spec.capacity)
    return profile_object(profile)


def _last_hourly_status(channel: int) -> Callable[[Ctx], GetResult]:
    def getter(ctx: Ctx) -> GetResult:
        last = ctx.meter.hourly_profile(channel).last
        return Unsigned(0 if last is None else int(last.status))
    return getter


def _equipment_id(channel: int) -> Callable[[Ctx], GetResult]:
    def getter(ctx: Ctx) -> GetResult:
        identity = _identity(ctx, channel)
        return OctetString(b"" if identity is None else identity.equipment_identifier.encode("ascii"))
    return getter


def mbus_objects() -> list[CosemObject]:
    port = CosemObject(MBUS_PORT, 74, 0, "M-Bus master port setup", (
        ln_attr(MBUS_PORT, P=""), attr(2, "comm_speed", M="R", get=const(EnumValue(COMM_SPEED_2400)))))
    objects = [port]
    for x in (1, 2, 3, 4):
        objects += [
            client_setup_object(x),
            master_value_object(x),
            hourly_profile_object(x),
            disconnect_control_object(x),
            data_object(f"M-Bus equipment identifier channel {x}", f"0-{x}:96.1.0.255", _equipment_id(x), P="",
                        available=_used(x)),
            data_object(f"AMR profile status code M-Bus channel {x}", f"0-{x}:96.10.3.255", _last_hourly_status(x)),
        ]
    return objects
