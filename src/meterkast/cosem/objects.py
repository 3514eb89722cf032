"""The E-meter's COSEM objects as a table (DSMR 4.2.2 P3 §5, §6): logical name, class, version, and per
attribute the P (public client 16) and M (management client 1) access rights and a getter over ``EMeter``.

Each ``CosemObject(...)`` below is one object table of the P3 companion standard, rows in attribute order,
rights as printed in its P and M columns. Classes and versions follow the Blue Book: Data (1) v0, Register
(3) v0, Profile generic (7) v1, Clock (8) v0, SAP assignment (17) v0; Association LN (15) v1 and Security
setup (64) v0 are in ``association.py``, the M-Bus objects (§7) in ``mbus_objects.py``.

Where the model keeps no state for a writable attribute, its SET answers ``other-reason`` rather than
pretending (``not_modelled``); docs/p3.md lists them. Objects the model has nothing for (activity calendar,
special days, register activation, P0/HDLC set-up, display lists, image transfer, instantaneous and power
quality values, GPRS objects) are not in the table: a GET on them gives ``object-undefined``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from meterkast.cosem.access import CosemObject, Ctx, GetResult, Invoker, MethodResult, Setter, attr
from meterkast.cosem.access import logical_name_attr as ln_attr
from meterkast.cosem.builders import (
    CLOCK_CELL,
    column,
    const,
    data_object,
    not_modelled,
    obis,
    raised,
    register_object,
)
from meterkast.cosem.mbus_objects import billing_time_cell, billing_value_cell
from meterkast.cosem.profiles import Column, ProfileSpec, profile_object
from meterkast.cosem.values import CLOCK, CLOCK_COLUMN, Unit, date_time, kwh_to_wh, read_date_time
from meterkast.dlms import (
    ActionResult,
    Array,
    Boolean,
    ClockStatus,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DataAccessResult,
    DlmsData,
    DoubleLongUnsigned,
    EnumValue,
    Integer,
    Long,
    LongUnsigned,
    OctetString,
    Structure,
    Unsigned,
)
from meterkast.emeter.events import Event, LogId
from meterkast.emeter.logs import LogEntry
from meterkast.emeter.power import PowerFailureRecord
from meterkast.emeter.profiles import DAILY_SPEC, LOAD_SPEC, MONTHLY_SPEC, BillingEntry, LoadEntry
from meterkast.errors import CodecError, CommandRefused, InvalidInput

# ---- clock (P3 §5.3) -------------------------------------------------------------------------------------

def _clock_time(ctx: Ctx) -> GetResult:
    status = ClockStatus.INVALID_VALUE if ctx.meter.clock_invalid else None
    return date_time(ctx.meter.meter_time(), status)


def _set_clock_time(ctx: Ctx, value: DlmsData) -> DataAccessResult:
    try:
        moment = read_date_time(value, "clock time")
    except CodecError:
        return DataAccessResult.TYPE_UNMATCHED
    if moment is None:
        return DataAccessResult.OTHER_REASON
    try:
        raised(ctx, ctx.meter.adjust_clock(ctx.meter.now, moment))
    except CommandRefused:
        return DataAccessResult.TEMPORARY_FAILURE
    return DataAccessResult.SUCCESS


def _dst_rule(month: int, hour: int) -> OctetString:
    """"last Sunday in March at 02:00" / "last Sunday in October at 03:00": month, day FE (last), Sunday."""
    rule = CosemDateTime(CosemDate(None, month, 0xFE, 7), CosemTime(hour, 0, 0, 0))
    return OctetString(rule.encode())


def clock_object() -> CosemObject:
    return CosemObject(CLOCK, 8, 0, "Clock", (
        ln_attr(CLOCK),
        attr(2, "time", P="R", M="RW", get=_clock_time, set=_set_clock_time),
        attr(3, "time_zone", M="RW", get=const(Long(-60)), set=not_modelled),
        attr(4, "status", M="R", get=lambda ctx: Unsigned(int(ClockStatus.INVALID_VALUE)
                                                          if ctx.meter.clock_invalid else 0)),
        attr(5, "daylight_savings_begin", M="RW", get=const(_dst_rule(3, 2)), set=not_modelled),
        attr(6, "daylight_savings_end", M="RW", get=const(_dst_rule(10, 3)), set=not_modelled),
        attr(7, "daylight_savings_deviation", M="R", get=const(Integer(60))),
        attr(8, "daylight_savings_enabled", M="RW", get=const(Boolean(True)), set=not_modelled),
        attr(9, "clock_base", M="R", get=const(EnumValue(1))),  # (1) internal crystal
    ))


# ---- registers, alarm and error handling (P3 §5.6, §5.9, §5.11, §6.2) --------------------------------------

def _write_clear(clear: Callable[[Ctx], list[Event]]) -> Setter:
    """Error and alarm registers: the management client clears them by writing 0 (P3 §4.2.3, §4.2.4)."""
    def setter(ctx: Ctx, value: DlmsData) -> DataAccessResult:
        if not isinstance(value, DoubleLongUnsigned):
            return DataAccessResult.TYPE_UNMATCHED
        if value.value != 0:
            return DataAccessResult.OTHER_REASON  # only "cleared" is modelled
        raised(ctx, clear(ctx))
        return DataAccessResult.SUCCESS
    return setter


def _set_alarm_filter(ctx: Ctx, value: DlmsData) -> DataAccessResult:
    if not isinstance(value, DoubleLongUnsigned):
        return DataAccessResult.TYPE_UNMATCHED
    ctx.meter.recorder.alarm_filter = value.value
    return DataAccessResult.SUCCESS


def _set_threshold(ctx: Ctx, value: DlmsData) -> DataAccessResult:
    if not isinstance(value, LongUnsigned):
        return DataAccessResult.TYPE_UNMATCHED
    ctx.meter.power.threshold_s = value.value
    return DataAccessResult.SUCCESS


def _text_setter(which: str) -> Setter:
    def setter(ctx: Ctx, value: DlmsData) -> DataAccessResult:
        if not isinstance(value, OctetString):
            return DataAccessResult.TYPE_UNMATCHED
        meter = ctx.meter
        try:
            text = value.value.decode("ascii")
            pair = (text, meter.text_code) if which == "text" else (meter.text_message, text)
            raised(ctx, meter.set_text_message(meter.now, *pair))
        except (UnicodeDecodeError, InvalidInput):
            return DataAccessResult.OTHER_REASON
        return DataAccessResult.SUCCESS
    return setter


def _wh(read: Callable[[Ctx], Decimal]) -> Callable[[Ctx], GetResult]:
    """P3 §6.2: "scaler=0, unit=Wh"; the model keeps kWh with three decimals."""
    return lambda ctx: DoubleLongUnsigned(kwh_to_wh(read(ctx)))


def _clear_alarms(ctx: Ctx) -> list[Event]:
    return ctx.meter.clear_alarm_register(ctx.meter.now)


def _clear_errors(ctx: Ctx) -> list[Event]:
    return ctx.meter.clear_error_register(ctx.meter.now)


def register_objects() -> list[CosemObject]:
    registers = [
        ("Active energy import (+A)", "1-0:1.8.0.255", lambda c: c.meter.registers.import_total_kwh()),
        ("Active energy export (-A)", "1-0:2.8.0.255", lambda c: c.meter.registers.export_total_kwh()),
        ("Active energy import (+A) rate 1", "1-0:1.8.1.255", lambda c: c.meter.registers.import_kwh()[0]),
        ("Active energy import (+A) rate 2", "1-0:1.8.2.255", lambda c: c.meter.registers.import_kwh()[1]),
        ("Active energy export (-A) rate 1", "1-0:2.8.1.255", lambda c: c.meter.registers.export_kwh()[0]),
        ("Active energy export (-A) rate 2", "1-0:2.8.2.255", lambda c: c.meter.registers.export_kwh()[1]),
    ]
    return [
        *(register_object(name, ln, _wh(read), 0, Unit.WATT_HOUR) for name, ln, read in registers),
        register_object("Clock time shift limit", "1-0:0.9.11.255", const(Unsigned(60)), 0, Unit.SECOND,
                        M="RW", set=not_modelled),
        register_object("Time threshold for long power failure", "0-0:96.7.20.255",
                        lambda c: LongUnsigned(c.meter.power.threshold_s), 0, Unit.SECOND, M="RW",
                        set=_set_threshold),
        register_object("Duration of long power failures in any phase", "0-0:96.7.19.255",
                        const(DoubleLongUnsigned(0)), 0, Unit.SECOND),  # reset at the end of each failure
        data_object("Number of power failures in any phase", "0-0:96.7.21.255",
                    lambda c: LongUnsigned(c.meter.power.short_count), P=""),
        data_object("Number of long power failures in any phase", "0-0:96.7.9.255",
                    lambda c: LongUnsigned(c.meter.power.long_count), P=""),
        data_object("Error register", "0-0:97.97.0.255", lambda c: DoubleLongUnsigned(c.meter.error_register),
                    P="", M="RW", set=_write_clear(_clear_errors)),
        data_object("Alarm register", "0-0:97.98.0.255", lambda c: DoubleLongUnsigned(c.meter.alarm_register),
                    P="", M="RW", set=_write_clear(_clear_alarms)),
        data_object("Alarm filter", "0-0:97.98.10.255",
                    lambda c: DoubleLongUnsigned(c.meter.recorder.alarm_filter), P="", M="RW",
                    set=_set_alarm_filter),
        data_object("Consumer message text", "0-0:96.13.0.255",
                    lambda c: OctetString(c.meter.text_message.encode("ascii")), P="", M="RW",
                    set=_text_setter("text")),
        data_object("Consumer message code", "0-0:96.13.1.255",
                    lambda c: OctetString(c.meter.text_code.encode("ascii")), P="", M="RW",
                    set=_text_setter("code")),
        data_object("Currently active tariff", "0-0:96.14.0.255",
                    lambda c: OctetString(int(c.meter.tariff).to_bytes(2, "big")), P=""),
        data_object("AMR profile status code E-meter", "0-0:96.10.2.255", _amr_status_e),
    ]


def _amr_status_e(ctx: Ctx) -> GetResult:
    last = ctx.meter.load_profile.last
    return Unsigned(0 if last is None else int(last.status))


# ---- identification (P3 §5.1, §5.2, §6.1) ------------------------------------------------------------------

def identification_objects() -> list[CosemObject]:
    def info(field: str) -> Callable[[Ctx], GetResult]:
        return lambda ctx: OctetString(getattr(ctx.info, field))

    firmware = [
        ("1-0:0.2.0.255", "firmware_identifier"), ("1-0:0.2.8.255", "firmware_signature"),
        ("1-1:0.2.0.255", "module_firmware_identifier"), ("1-1:0.2.8.255", "module_firmware_signature"),
        ("1-2:0.2.0.255", "communication_firmware_identifier"),
        ("1-2:0.2.8.255", "communication_firmware_signature"),
    ]
    sap = obis("0-0:41.0.0.255")
    return [
        CosemObject(sap, 17, 0, "SAP assignment", (
            ln_attr(sap),
            attr(2, "SAP_assignment_list", P="R", M="R", get=lambda ctx: Array((Structure((
                LongUnsigned(1), OctetString(ctx.info.logical_device_name))),))),
        )),
        data_object("COSEM logical device name", "0-0:42.0.0.255", info("logical_device_name")),
        data_object("E-meter serial number", "0-0:96.1.0.255",
                    lambda c: OctetString(c.meter.equipment_id[5:15].encode("ascii"))),
        data_object("E-meter equipment identifier", "0-0:96.1.1.255",
                    lambda c: OctetString(c.meter.equipment_id.encode("ascii"))),
        *(data_object("Active firmware version", ln, info(field)) for ln, field in firmware),
        data_object("P1 port DSMR version", "1-3:0.2.8.255", lambda c: OctetString(c.meter.p1_version.encode())),
    ]


# ---- E profiles and logs (P3 §5.5, §5.7, §5.8, §5.9, §6.3) --------------------------------------------------

_E_BILLING = (("1-0:1.8.1.255", "import_kwh", 0), ("1-0:1.8.2.255", "import_kwh", 1),
              ("1-0:2.8.1.255", "export_kwh", 0), ("1-0:2.8.2.255", "export_kwh", 1))


def _energy_cell(field: str, index: int) -> Callable[[Ctx, BillingEntry], DlmsData]:
    def cell(_ctx: Ctx, entry: BillingEntry) -> DlmsData:
        values: tuple[Decimal, Decimal] = getattr(entry, field)
        return DoubleLongUnsigned(kwh_to_wh(values[index]))
    return cell


def _status_cell(_ctx: Ctx, entry: BillingEntry | LoadEntry) -> DlmsData:
    return Unsigned(int(entry.status))


def _billing_columns(*, with_status: bool) -> tuple[Column, ...]:
    """P3 §6.3 (daily) and §5.5 (monthly: no status column): clock, [status], +A T1, T2, −A T1, T2, and for
    x = 1..4 {4, 0-x:24.2.1, 2} and {4, 0-x:24.2.1, 5}."""
    status = [column(1, "0-0:96.10.2.255", 2, _status_cell)] if with_status else []
    energy = [column(3, ln, 2, _energy_cell(field, index)) for ln, field, index in _E_BILLING]
    mbus = [cell for x in (1, 2, 3, 4) for cell in (column(4, f"0-{x}:24.2.1.255", 2, billing_value_cell(x)),
                                                     column(4, f"0-{x}:24.2.1.255", 5, billing_time_cell(x)))]
    return (CLOCK_CELL, *status, *energy, *mbus)


def _log_spec(name: str, log: LogId, code_ln: str, capacity: int) -> ProfileSpec:
    """Event logs (P3 §5.7, §5.8, §7.5): {8, clock, 2} and {1, event code object, 2}, asynchronous."""
    def code(_ctx: Ctx, entry: LogEntry) -> DlmsData:
        return Unsigned(entry.code)

    def entries(ctx: Ctx) -> tuple[LogEntry, ...]:
        return ctx.meter.event_log(log)

    return ProfileSpec(obis(log.value), name, (CLOCK_CELL, column(1, code_ln, 2, code)), entries, _clock_of, 0,
                       capacity)


def _clock_of(entry: LoadEntry | BillingEntry | LogEntry) -> datetime:
    return entry.clock


def _log_reset(log: LogId) -> Invoker:
    """Method 1 reset (M: X): the log keeps one entry, 255 "event log cleared" (P3 §4.2.1)."""
    def reset(ctx: Ctx, _parameters: DlmsData | None) -> MethodResult:
        raised(ctx, ctx.meter.clear_event_log(ctx.meter.now, log))
        return ActionResult.SUCCESS, None
    return reset


def _load_cell(field: str) -> Callable[[Ctx, LoadEntry], DlmsData]:
    def cell(_ctx: Ctx, entry: LoadEntry) -> DlmsData:
        value: Decimal = getattr(entry, field)
        return DoubleLongUnsigned(kwh_to_wh(value))
    return cell


def _failure_end(entry: PowerFailureRecord) -> datetime:
    return entry.end


def _failure_duration(_ctx: Ctx, entry: PowerFailureRecord) -> DlmsData:
    return DoubleLongUnsigned(entry.duration_s)


def profile_objects() -> list[CosemObject]:
    load = ProfileSpec(obis(LOAD_SPEC.obis), "Load profile with period 1 (15 minutes)", (
        CLOCK_CELL, column(1, "0-0:96.10.2.255", 2, _status_cell),
        column(3, "1-0:1.8.0.255", 2, _load_cell("import_kwh")),
        column(3, "1-0:2.8.0.255", 2, _load_cell("export_kwh")),
    ), lambda ctx: list(ctx.meter.load_profile), _clock_of, LOAD_SPEC.capture_period_s, LOAD_SPEC.capacity)
    daily = ProfileSpec(obis(DAILY_SPEC.obis), "Load profile with period 2 (daily combined billing values)",
                        _billing_columns(with_status=True), lambda ctx: list(ctx.meter.daily_profile),
                        _clock_of, DAILY_SPEC.capture_period_s, DAILY_SPEC.capacity)
    # P3 §5.5: capture_period 0, "triggered from single action scheduler with billing period 1"
    monthly = ProfileSpec(obis(MONTHLY_SPEC.obis), "Data of billing period 1 (monthly billing values)",
                          _billing_columns(with_status=False), lambda ctx: list(ctx.meter.monthly_profile),
                          _clock_of, MONTHLY_SPEC.capture_period_s, MONTHLY_SPEC.capacity)
    failures = ProfileSpec(obis("1-0:99.97.0.255"), "Power failure event log", (  # P3 §5.9: end of failure
        Column(CLOCK_COLUMN, lambda _c, e: date_time(e.end)),
        column(3, "0-0:96.7.19.255", 2, _failure_duration),
    ), lambda ctx: ctx.meter.power_failure_log, _failure_end, 0, 10)
    logs = [
        (_log_spec("Standard event log", LogId.STANDARD, "0-0:96.11.0.255", 100), LogId.STANDARD),
        (_log_spec("Fraud detection log", LogId.FRAUD, "0-0:96.11.1.255", 30), LogId.FRAUD),
        (_log_spec("M-Bus event log", LogId.MBUS, "0-0:96.11.3.255", 30), LogId.MBUS),
    ]
    return [profile_object(load), profile_object(daily), profile_object(monthly), profile_object(failures),
            *(profile_object(spec, reset=_log_reset(log)) for spec, log in logs)]
