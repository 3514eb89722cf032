"""The OBIS table: every object a P1 telegram carries, in one declarative place (STYLE 5).

Sources: [P1-4.0.7 Table 5-3], [P1-4.2.2 Table 5-3], [P1-5.0.2 Table 6-3], [P1-3.0 §5.11] and the
real telegrams of the dialects dsmr_parser reads (DSMR-FACTS §1.4–1.6): Belgian Fluvius e-MUCS,
EasyMeter Q3D, Iskra IE, E.ON Hungary, Sagemcom T210-D-R. One entry per OBIS code gives its name,
its layout (how the line's groups are read), the format and unit the encoder writes, and the
versions/dialects that carry it. The decoder builds its dispatch dict from this table; the encoder
reads formats and units from it through ``specs.py``. Channel objects are written ``0-n:…`` and
stand for channels 1–9.

Rules this table keeps (tests/p1/test_obis_table.py checks them):
- one entry per code; names are unique snake_case;
- every object of every ``TelegramSpec`` is in the table and lists that spec's version;
- every line of every real telegram in the test corpus has an entry (unknown lines stay raw anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from meterkast.p1 import formats as f
from meterkast.p1.formats import Format


class Layout(Enum):
    """How the groups of a line are read ([P1-4.2.2 §5.9–5.11], [P1-3.0 §5.10])."""

    REGISTER = "ID(Mv*U)"
    COUNT = "ID(n)"
    TEXT = "ID(Sn)"
    TIMESTAMP = "ID(TST)"
    CAPTURED = "ID(TST)(Mv*U)"
    POWER_FAILURE_LOG = "ID(z)(ID1)(TST)(Bv*U)…"
    MAX_DEMAND_LOG = "ID(z)(ID1)(ID2)(TST)(TST)(Mv*U)…"
    GAS_PROFILE = "ID(TST12)(S)(RP)(z)(ID1)(U1) / (Mv1)"
    RAW = "ID(…)…"


V22, V3, V4, V42, V5 = "2.2", "3", "4", "4.2", "5"
FLUVIUS, Q3D, ISKRA_IE, EON_HU, T210 = "fluvius", "q3d", "iskra-ie", "eon-hu", "sagemcom-t210"
# Dialects only decoded (dsmr_parser's SWEDEN, LUXEMBOURG_SMARTY and MSN specs); no encoder profile.
SWEDEN, LUX = "sweden", "lux-smarty"
NL = frozenset({V22, V3, V4, V42, V5})
NL4 = frozenset({V4, V42, V5})
ALL_VERSIONS = NL | {FLUVIUS, Q3D, ISKRA_IE, EON_HU, T210, SWEDEN, LUX}


@dataclass(frozen=True, slots=True)
class ObisObject:
    code: str  # reduced ID "A-B:C.D.E"; "0-n:…" for M-Bus channel objects
    name: str
    layout: Layout
    fmt: Format | None  # what the encoder writes by default; a spec may override per version
    unit: str | None
    versions: frozenset[str]
    fallback: Layout | None = None  # a layout another dialect uses for the same code

    @property
    def channelled(self) -> bool:
        return self.code.startswith("0-n:")


def _o(  # noqa: PLR0917  # a table row reads best positionally
    code: str,
    name: str,
    layout: Layout,
    fmt: Format | None,
    unit: str | None,
    versions: frozenset[str] | set[str],
    fallback: Layout | None = None,
) -> ObisObject:
    return ObisObject(code, name, layout, fmt, unit, frozenset(versions), fallback)


R, C, T, TS = Layout.REGISTER, Layout.COUNT, Layout.TEXT, Layout.TIMESTAMP
_E = NL | {FLUVIUS, ISKRA_IE, EON_HU, T210}  # carriers of the two-tariff energy registers
_PHASE = NL4 | {FLUVIUS, ISKRA_IE, EON_HU}

TABLE: tuple[ObisObject, ...] = (
    # Identification and time
    _o("1-3:0.2.8", "p1_version", T, f.S2, None, NL4 | {T210}),
    _o("0-0:96.1.4", "be_version", T, f.Text(5), None, {FLUVIUS}),
    _o("0-0:1.0.0", "timestamp", TS, f.TST, None, NL4 | {FLUVIUS, ISKRA_IE, EON_HU, T210}),
    _o("0-0:96.1.1", "equipment_id", T, f.S96_HEX, None, NL | {FLUVIUS}),
    _o("0-0:96.1.0", "equipment_serial", T, f.Text(96), None, {ISKRA_IE, EON_HU}),
    _o("0-0:42.0.0", "logical_device_name", T, f.S96_HEX, None, {EON_HU}),
    _o("1-0:0.0.0", "meter_number", T, f.Text(96), None, {Q3D, ISKRA_IE}),
    _o("0-0:0.0.0", "meter_number_0", T, f.Text(96), None, {Q3D}),  # a Sagemcom XT211 writes it so
    _o("0-0:96.1.255", "serial_number", T, f.Text(96), None, {Q3D}),
    _o("1-0:96.5.5", "device_state", T, f.Text(2), None, {Q3D}),
    # Energy registers [P1-4.2.2 Table 5-3]; 1.8.0/2.8.0 totals and tariffs 3-4 from other dialects
    _o("1-0:1.8.0", "import_total", R, f.F9_3, "kWh", {V5, Q3D, EON_HU, T210}),
    _o("1-0:1.8.1", "import_t1", R, f.F9_3, "kWh", _E),
    _o("1-0:1.8.2", "import_t2", R, f.F9_3, "kWh", _E),
    _o("1-0:1.8.3", "import_t3", R, f.F9_3, "kWh", {EON_HU}),
    _o("1-0:1.8.4", "import_t4", R, f.F9_3, "kWh", {EON_HU}),
    _o("1-0:2.8.0", "export_total", R, f.F9_3, "kWh", {Q3D, EON_HU, T210}),
    _o("1-0:2.8.1", "export_t1", R, f.F9_3, "kWh", _E),
    _o("1-0:2.8.2", "export_t2", R, f.F9_3, "kWh", _E),
    _o("1-0:2.8.3", "export_t3", R, f.F9_3, "kWh", {EON_HU}),
    _o("1-0:2.8.4", "export_t4", R, f.F9_3, "kWh", {EON_HU}),
    _o("1-0:3.8.0", "reactive_import_total", R, f.F9_3, "kvarh", {EON_HU, T210}),
    _o("1-0:3.8.1", "reactive_import_t1", R, f.F9_3, "kvarh", {T210}),
    _o("1-0:3.8.2", "reactive_import_t2", R, f.F9_3, "kvarh", {T210}),
    _o("1-0:4.8.0", "reactive_export_total", R, f.F9_3, "kvarh", {EON_HU, T210}),
    _o("1-0:4.8.1", "reactive_export_t1", R, f.F9_3, "kvarh", {T210}),
    _o("1-0:4.8.2", "reactive_export_t2", R, f.F9_3, "kvarh", {T210}),
    _o("1-0:5.8.0", "reactive_q1_total", R, f.F9_3, "kvarh", {EON_HU}),
    _o("1-0:6.8.0", "reactive_q2_total", R, f.F9_3, "kvarh", {EON_HU}),
    _o("1-0:7.8.0", "reactive_q3_total", R, f.F9_3, "kvarh", {EON_HU}),
    _o("1-0:8.8.0", "reactive_q4_total", R, f.F9_3, "kvarh", {EON_HU}),
    _o("1-0:15.8.0", "combined_total", R, f.F9_3, "kWh", {EON_HU}),
    _o("0-0:96.14.0", "tariff", T, f.S4, None, NL | {FLUVIUS, ISKRA_IE, EON_HU}),
    # Power
    _o("1-0:1.7.0", "power_import", R, f.F5_3, "kW", ALL_VERSIONS),
    _o("1-0:2.7.0", "power_export", R, f.F5_3, "kW", ALL_VERSIONS - {Q3D}),
    _o("1-0:3.7.0", "reactive_power_import", R, f.F5_3, "kvar", {T210}),
    _o("1-0:4.7.0", "reactive_power_export", R, f.F5_3, "kvar", {T210}),
    # Per-phase reactive power and apparent power: Kamstrup (Sweden), Sagemcom (Luxembourg Smarty).
    _o("1-0:23.7.0", "reactive_power_import_l1", R, f.F5_3, "kvar", {SWEDEN, LUX}),
    _o("1-0:43.7.0", "reactive_power_import_l2", R, f.F5_3, "kvar", {SWEDEN, LUX}),
    _o("1-0:63.7.0", "reactive_power_import_l3", R, f.F5_3, "kvar", {SWEDEN, LUX}),
    _o("1-0:24.7.0", "reactive_power_export_l1", R, f.F5_3, "kvar", {SWEDEN, LUX}),
    _o("1-0:44.7.0", "reactive_power_export_l2", R, f.F5_3, "kvar", {SWEDEN, LUX}),
    _o("1-0:64.7.0", "reactive_power_export_l3", R, f.F5_3, "kvar", {SWEDEN, LUX}),
    _o("1-0:9.7.0", "apparent_power_import", R, f.F5_3, "kVA", {LUX}),
    _o("1-0:10.7.0", "apparent_power_export", R, f.F5_3, "kVA", {LUX}),
    _o("1-0:5.7.0", "reactive_power_q1", R, f.F5_3, "kvar", {EON_HU}),
    _o("1-0:6.7.0", "reactive_power_q2", R, f.F5_3, "kvar", {EON_HU}),
    _o("1-0:7.7.0", "reactive_power_q3", R, f.F5_3, "kvar", {EON_HU}),
    _o("1-0:8.7.0", "reactive_power_q4", R, f.F5_3, "kvar", {EON_HU}),
    _o("1-0:1.4.0", "average_demand", R, f.F5_3, "kW", {FLUVIUS}),
    _o("1-0:1.6.0", "max_demand_month", Layout.CAPTURED, f.F5_3, "kW", {FLUVIUS}),
    # E.ON Hungary writes billing-period values under 0-0:98.1.0 in another layout: kept raw.
    _o("0-0:98.1.0", "max_demand_history", Layout.MAX_DEMAND_LOG, f.F5_3, "kW", {FLUVIUS, EON_HU}, Layout.RAW),
    # Limiter and breaker: DSMR 2.2/3 (and 4.0) only, and some foreign dialects
    _o("0-0:17.0.0", "limiter_threshold", R, f.F6_2, "kW", {V22, V3, FLUVIUS, EON_HU}),
    _o("0-0:96.3.10", "breaker_state", C, f.I1, None, {V22, V3, FLUVIUS, ISKRA_IE, EON_HU}),
    _o("1-0:31.4.0", "fuse_threshold_l1", R, f.F3_0, "A", {FLUVIUS, EON_HU}),
    _o("1-0:51.4.0", "fuse_threshold_l2", R, f.F3_0, "A", {EON_HU}),
    _o("1-0:71.4.0", "fuse_threshold_l3", R, f.F3_0, "A", {EON_HU}),
    # Power quality [P1-4.2.2 Table 5-3]
    _o("0-0:96.7.21", "power_failures", C, f.F5_0, None, NL4),
    _o("0-0:96.7.9", "long_power_failures", C, f.F5_0, None, NL4),
    _o("1-0:99.97.0", "power_failure_log", Layout.POWER_FAILURE_LOG, f.F10_0, "s", NL4),
    _o("1-0:32.32.0", "voltage_sags_l1", C, f.F5_0, None, NL4),
    _o("1-0:52.32.0", "voltage_sags_l2", C, f.F5_0, None, NL4),
    _o("1-0:72.32.0", "voltage_sags_l3", C, f.F5_0, None, NL4),
    _o("1-0:32.36.0", "voltage_swells_l1", C, f.F5_0, None, NL4),
    _o("1-0:52.36.0", "voltage_swells_l2", C, f.F5_0, None, NL4),
    _o("1-0:72.36.0", "voltage_swells_l3", C, f.F5_0, None, NL4),
    # Messages [P1-4.2.2 §6.2]: the code is gone in 5.0
    _o("0-0:96.13.1", "text_code", T, f.S16_HEX, None, {V22, V3, V4, V42}),
    _o("0-0:96.13.0", "text_message", T, f.S2048_HEX, None, NL | {FLUVIUS, ISKRA_IE, EON_HU}),
    # Instantaneous values per phase
    _o("1-0:32.7.0", "voltage_l1", R, f.F4_1, "V", {V5, FLUVIUS, ISKRA_IE, EON_HU}),
    _o("1-0:52.7.0", "voltage_l2", R, f.F4_1, "V", {V5, FLUVIUS, ISKRA_IE, EON_HU}),
    _o("1-0:72.7.0", "voltage_l3", R, f.F4_1, "V", {V5, FLUVIUS, ISKRA_IE, EON_HU}),
    _o("1-0:31.7.0", "current_l1", R, f.F3_0, "A", _PHASE),
    _o("1-0:51.7.0", "current_l2", R, f.F3_0, "A", _PHASE),
    _o("1-0:71.7.0", "current_l3", R, f.F3_0, "A", _PHASE),
    _o("1-0:21.7.0", "power_import_l1", R, f.F5_3, "kW", _PHASE - {EON_HU} | {Q3D}),
    _o("1-0:41.7.0", "power_import_l2", R, f.F5_3, "kW", _PHASE - {EON_HU} | {Q3D}),
    _o("1-0:61.7.0", "power_import_l3", R, f.F5_3, "kW", _PHASE - {EON_HU} | {Q3D}),
    _o("1-0:22.7.0", "power_export_l1", R, f.F5_3, "kW", _PHASE - {EON_HU}),
    _o("1-0:42.7.0", "power_export_l2", R, f.F5_3, "kW", _PHASE - {EON_HU}),
    _o("1-0:62.7.0", "power_export_l3", R, f.F5_3, "kW", _PHASE - {EON_HU}),
    _o("1-0:13.7.0", "power_factor", R, f.Fixed(4, 3, 3), None, {EON_HU}),
    _o("1-0:33.7.0", "power_factor_l1", R, f.Fixed(4, 3, 3), None, {EON_HU}),
    _o("1-0:53.7.0", "power_factor_l2", R, f.Fixed(4, 3, 3), None, {EON_HU}),
    _o("1-0:73.7.0", "power_factor_l3", R, f.Fixed(4, 3, 3), None, {EON_HU}),
    _o("1-0:14.7.0", "frequency", R, f.Fixed(4, 2, 2), "Hz", {EON_HU}),
    # M-Bus channels [P1-4.2.2 §5.12]: device type first, then identifier and value
    _o("0-n:24.1.0", "mbus_device_type", C, f.DEVICE_TYPE, None, NL | {FLUVIUS}),
    _o("0-n:96.1.0", "mbus_equipment_id", T, f.S96_HEX, None, NL),
    _o("0-n:96.1.1", "mbus_equipment_id_be", T, f.S96_HEX, None, {FLUVIUS, ISKRA_IE}),
    _o("0-n:24.2.1", "mbus_reading", Layout.CAPTURED, f.F8_3, "m3", NL4 | {FLUVIUS}),
    _o("0-n:24.2.3", "mbus_reading_unconverted", Layout.CAPTURED, f.F8_3, "m3", {FLUVIUS}),
    _o("0-n:24.3.0", "mbus_gas_profile", Layout.GAS_PROFILE, f.F8_3, "m3", {V22, V3}),
    _o("0-n:24.4.0", "mbus_valve", C, f.I1, None, {V22, V3, FLUVIUS, LUX}),
    _o("0-n:96.3.10", "mbus_switch_position", C, f.I1, None, {FLUVIUS, LUX}),
)

BY_CODE: dict[str, ObisObject] = {obj.code: obj for obj in TABLE}
BY_NAME: dict[str, ObisObject] = {obj.name: obj for obj in TABLE}
CHANNELS = range(1, 10)
# The codes on which an M-Bus device's reading may arrive, best first.
READING_CODES = ("24.2.1", "24.2.3", "24.3.0")


# E-meter registers a meter may write on another channel than 0 (a Sagemcom XT211 sends
# ``1-1:1.8.1``): the same quantity, as dsmr_parser reads it (its patterns take any ``\\d-\\d:``).
# The fuse and limiter lines are not among them: ``1-1:31.4.0`` is the MSN CT ratio, two groups.
E_CHANNELLED = frozenset(obj.code for obj in TABLE if re.fullmatch(r"1-0:(\d+\.[78]\.\d|1\.[46]\.0)", obj.code))


def lookup(code: str) -> ObisObject | None:
    """The table entry for a reduced ID such as ``1-0:1.8.1``, ``0-2:24.2.1`` or ``1-1:1.8.1``."""
    obj = BY_CODE.get(code)
    if obj is None and code.startswith("0-") and not code.startswith("0-0:"):
        obj = BY_CODE.get("0-n:" + code.partition(":")[2])
    elif obj is None and code[:2] == "1-" and (zero := "1-0:" + code.partition(":")[2]) in E_CHANNELLED:
        obj = BY_CODE[zero]
    return obj


def channel_code(code: str, channel: int) -> str:
    """``0-n:24.2.1`` for channel 2 → ``0-2:24.2.1``."""
    return code.replace("0-n:", f"0-{channel}:", 1)
