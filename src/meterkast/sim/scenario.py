"""Scenarios: an installation and a timeline of happenings, from TOML text (issue 5 "Scenarios"; sans-I/O).

``parse_scenario(text, source=...)`` turns the text of a scenario file into a validated, frozen
:class:`Scenario`; reading the file is the edge's job (``meterkast.scenario_files``). The schema is in
``docs/scenarios.md``; in short: ``[scenario]`` (name, start, speed, seed), ``[p1]`` (DSMR version, keys),
``[p2]`` (link, encryption), ``[emeter]``, ``[household]``, ``[electricity]``, ``[[gas_meter]]`` (channels
1–4 in order), ``[[mbus_device]]`` (water, heat: ``scenario_devices``) and ``[[timeline]]`` items
``{at = …, do = "<kind>", …}``.

``Scenario.build(rng, weather)`` makes the :class:`~meterkast.sim.installation.Installation` and schedules
every timeline command on it. P1 faults are not installation commands: they come out as
``Scenario.p1_faults`` windows for the P1 output stage.

Rules this module keeps:
- every rule broken raises ``InvalidInput`` naming the source, the key path (``timeline[2].probability``)
  and the rule; unknown keys are refused (a typo must not silently do nothing);
- timeline kinds are a table (``_KINDS``): kind → the keys it accepts and the function that makes its
  commands; a window (``for = "4m"`` or ``until = …``) schedules the start and the end;
- times are aware: a TOML offset date-time, an ISO 8601 string with an offset, or ``"+2d3h"`` after the
  start; a time without an offset is refused (it would silently mean some zone). ``scenario_schema`` reads
  the typed values, key paths and times;
- nothing here reads files, clocks or randomness; ``build`` draws only from the ``rng`` it is given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from itertools import pairwise

from meterkast.emeter.readings import MbusDeviceIdentity
from meterkast.emeter.readings import ValveAction as EMeterValveAction
from meterkast.errors import InvalidInput
from meterkast.gasmeter import commands as gas
from meterkast.gasmeter.battery import CAPACITY_NAH
from meterkast.gasmeter.events import ValveAction as GasValveAction
from meterkast.gasmeter.meterclock import drift_ppb
from meterkast.gasmeter.metrology import MeterType
from meterkast.gasmeter.variant import GasMeterVariant
from meterkast.p1.specs import spec_for
from meterkast.randomness import RandomSource
from meterkast.sim import installation as inst
from meterkast.sim.gaslink import DirectGasLink, GasLink
from meterkast.sim.household import HouseholdConfig
from meterkast.sim.p2_link import P2GasLink
from meterkast.sim.scenario_devices import add_device, decouple_device, mbus_devices
from meterkast.sim.scenario_schema import Table, aware_time, parse_duration
from meterkast.sim.weather import WeatherSeries
from meterkast.units import ZERO

MAX_MBUS_DEVICES = 4  # SYSTEM M3
DEFAULT_DRIFT_PPM = Decimal(-3)
"""A gas meter's clock a little slow: a 32.768 kHz tuning-fork crystal, trimmed at its 25 °C turnover point,
loses 0.034 ppm/°C² away from it, so about 3.4 ppm in a meter cupboard at 15 °C (0.26 s a day); DSMR-M
4.3.5 allows a P2 device 10 s a day (115.7 ppm). The E-meter's daily sync keeps it within a second."""
MAX_DRIFT_PPM = 1000.0  # 86 s a day: far beyond DSMR-M 4.3.5, enough to show bit 5 every day
DEFAULT_SPEED = 3600.0


class P1FaultKind(Enum):
    """What the P1 output stage does to a telegram inside a fault window."""

    CRC_ERROR = "crc-error"  # a telegram whose CRC does not match its bytes
    TRUNCATE = "truncate"  # a telegram cut off before its end
    DROP = "drop"  # a telegram that never leaves the port


@dataclass(frozen=True, slots=True)
class P1FaultWindow:
    """From ``at`` until ``until``, each telegram suffers ``kind`` with ``probability``."""

    at: datetime
    until: datetime
    kind: P1FaultKind
    probability: float


@dataclass(frozen=True, slots=True)
class GasMeterSpec:
    """A gas meter installed at the start; the first is the house's, the others bring their own household."""

    number: str
    meter_type: MeterType = MeterType.G4
    initial_index_m3: Decimal = ZERO
    default_key: bytes | None = None
    household: HouseholdConfig | None = None  # only for the second and later meters
    variant: GasMeterVariant = GasMeterVariant.DSMR4  # hourly (DSMR 4) or 5-minute (SMR 5) values
    drift_ppm: Decimal = DEFAULT_DRIFT_PPM  # how fast its clock runs (gasmeter.meterclock)


@dataclass(frozen=True, slots=True)
class TimelineItem:
    """One happening: when, what (``kind``), until when (windows), and what it schedules."""

    at: datetime
    kind: str
    until: datetime | None
    commands: tuple[tuple[datetime, inst.Command], ...]
    p1_fault: P1FaultWindow | None = None


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    start: datetime  # UTC
    speed: float | None  # simulated seconds per real second; None = as fast as possible
    seed: int
    p1_version: str
    p1_keys: tuple[bytes, bytes] | None  # (encryption, authentication) for an encrypted P1 port
    p2_link: str  # "p2" (frames, keys, faults) or "direct"
    p2_encrypted: bool
    emeter_id: str
    phases: int
    household: HouseholdConfig
    annual_kwh: float
    solar_kwp: float
    gas_meters: tuple[GasMeterSpec, ...]
    timeline: tuple[TimelineItem, ...]
    mbus_devices: tuple[inst.AddSubMeter, ...] = ()  # water and heat meters at the start (scenario_devices)

    @property
    def encrypted_p2(self) -> bool:
        return self.p2_link == "p2" and self.p2_encrypted

    @property
    def p1_faults(self) -> tuple[P1FaultWindow, ...]:
        return tuple(item.p1_fault for item in self.timeline if item.p1_fault is not None)

    def build(self, rng: RandomSource, weather: WeatherSeries) -> inst.Installation:
        """The installation at ``start`` with the whole timeline scheduled on it."""
        link: GasLink = P2GasLink(rng, encrypted=self.p2_encrypted) if self.p2_link == "p2" else DirectGasLink()
        first, *more = self.gas_meters
        installation = inst.Installation.build(
            self.start,
            rng,
            meter_type=first.meter_type,
            gas_meter_number=first.number,
            e_meter_id=self.emeter_id,
            phases=self.phases,
            household=self.household,
            annual_kwh=self.annual_kwh,
            solar_kwp=self.solar_kwp,
            initial_index_m3=first.initial_index_m3,
            link=link,
            weather=weather,
            default_key=first.default_key,
            more_gas_meters=[
                inst.AddGasMeter(m.number, m.meter_type, m.initial_index_m3, m.household, m.default_key, m.variant)
                for m in more
            ],
            sub_meters=self.mbus_devices,
            gas_variant=first.variant,  # also what meters coupled later in the timeline get
        )
        # Each meter by the channel it landed on: water or heat meters may hold the channels before it.
        channels = {str(meter.meter_number): channel for channel, meter in installation.gas_meters().items()}
        for spec in self.gas_meters:
            if spec.drift_ppm and spec.number in channels:
                drift = gas.SetClockDrift(spec.drift_ppm)
                installation.schedule(self.start, inst.OperateGasMeter(drift, channels[spec.number]))
        for item in self.timeline:
            for at, command in item.commands:
                installation.schedule(at, command)
        return installation


# -- the timeline's vocabulary ------------------------------------------------------------------------

_Made = tuple[list[tuple[datetime, inst.Command]], P1FaultWindow | None]
_Maker = Callable[[Table, datetime, datetime | None], _Made]


def _channel(t: Table) -> int | None:
    value: int | None = t.integer("channel", None, low=1, high=MAX_MBUS_DEVICES)
    return value


def _meter_type(t: Table, default: MeterType | None) -> MeterType | None:
    text = t.text("type", None)
    if text is None:
        return default
    try:
        return MeterType.parse(text)
    except InvalidInput as exc:
        raise t.fail("type", str(exc)) from exc


def _meter_number(t: Table, key: str = "number") -> str:
    number: str = t.text(key)
    try:
        MbusDeviceIdentity.for_meter_number(number)
    except InvalidInput as exc:
        raise t.fail(key, f"{exc} (e.g. G0001123456789012)") from exc
    return number


def _operate(command: gas.Command) -> _Maker:
    def make(t: Table, at: datetime, _: datetime | None) -> _Made:
        return [(at, inst.OperateGasMeter(command, _channel(t)))], None

    return make


def _press(t: Table, at: datetime, _: datetime | None) -> _Made:
    hold = Decimal(repr(t.number("hold_s", 0.2, low=0, high=60)))
    return [(at, inst.OperateGasMeter(gas.PressButton(hold), _channel(t)))], None


def _reseal(t: Table, at: datetime, _: datetime | None) -> _Made:
    return [(at, inst.OperateGasMeter(gas.Reseal(t.text("operator", "grid operator")), _channel(t)))], None


def _replace_battery(t: Table, at: datetime, _: datetime | None) -> _Made:
    operator = t.text("operator", "grid operator")
    return [(at, inst.OperateGasMeter(gas.ReplaceBattery(operator), _channel(t)))], None


def _drain(t: Table, at: datetime, _: datetime | None) -> _Made:
    fraction = t.number("fraction", low=0, high=1)
    return [(at, inst.OperateGasMeter(gas.DrainBattery(round(fraction * CAPACITY_NAH)), _channel(t)))], None


def _valve(t: Table, at: datetime, _: datetime | None) -> _Made:
    action = t.choice("action", ("open", "close", "release"))
    if t.choice("via", ("e-meter", "gas-meter"), "e-meter") == "e-meter":
        return [(at, inst.SendValveCommand(EMeterValveAction(action), _channel(t)))], None
    return [(at, inst.OperateGasMeter(gas.CommandValve(GasValveAction(action)), _channel(t)))], None


def _replace(t: Table, at: datetime, _: datetime | None) -> _Made:
    command = inst.ReplaceGasMeter(
        _meter_number(t), _meter_type(t, None), t.decimal("initial_index_m3", ZERO), _channel(t), t.key16("default_key")
    )
    return [(at, command)], None


def _decouple(t: Table, at: datetime, _: datetime | None) -> _Made:
    return [(at, inst.DecoupleGasMeter(_channel(t)))], None


def _couple(t: Table, at: datetime, _: datetime | None) -> _Made:
    meter_type = _meter_type(t, MeterType.G4) or MeterType.G4
    number, index, key = _meter_number(t), t.decimal("initial_index_m3", ZERO), t.key16("default_key")
    return [(at, inst.CoupleGasMeter(number, meter_type, index, key))], None


def _add(t: Table, at: datetime, _: datetime | None) -> _Made:
    meter_type = _meter_type(t, MeterType.G4) or MeterType.G4
    number, index, key = _meter_number(t), t.decimal("initial_index_m3", ZERO), t.key16("default_key")
    return [(at, inst.AddGasMeter(number, meter_type, index, _extra_household(t), key))], None


def _power_failure(t: Table, at: datetime, until: datetime | None) -> _Made:
    assert until is not None
    return [(at, inst.PowerDown()), (until, inst.PowerUp())], None


def _drift_ppm(t: Table, default: Decimal) -> Decimal:
    ppm = Decimal(repr(t.number("drift_ppm", float(default), low=-MAX_DRIFT_PPM, high=MAX_DRIFT_PPM)))
    try:
        drift_ppb(ppm)
    except InvalidInput as exc:
        raise t.fail("drift_ppm", str(exc)) from exc
    return ppm


def _clock_drift(t: Table, at: datetime, _: datetime | None) -> _Made:
    meter = t.choice("meter", ("e-meter", "gas-meter"), "e-meter")
    if meter == "gas-meter" and "drift_ppm" in t.data:  # the crystal's rate from now on
        return [(at, inst.OperateGasMeter(gas.SetClockDrift(_drift_ppm(t, ZERO)), _channel(t)))], None
    seconds = t.number("seconds", low=-86400, high=86400)
    if meter == "e-meter":
        return [(at, inst.ShiftEMeterClock(seconds))], None
    return [(at, inst.DriftGasMeterClock(seconds, _channel(t)))], None


def _sync(t: Table, at: datetime, _: datetime | None) -> _Made:
    return [(at, inst.SynchronizeGasMeterClock(_channel(t)))], None


def _text(t: Table, at: datetime, _: datetime | None) -> _Made:
    return [(at, inst.SetTextMessage(t.text("text"), t.text("code", "")))], None


def _p2_fault(t: Table, at: datetime, until: datetime | None) -> _Made:
    assert until is not None
    kind = t.choice("fault", tuple(k.replace("_", "-") for k in inst.P2_FAULT_KINDS)).replace("-", "_")
    probability = t.number("probability", 1.0, low=0, high=1)
    return [(at, inst.SetP2Fault(kind, probability)), (until, inst.SetP2Fault(kind, 0.0))], None


def _wrong_key(t: Table, at: datetime, until: datetime | None) -> _Made:
    assert until is not None
    channel = _channel(t)
    return [(at, inst.SetP2WrongKey(True, channel)), (until, inst.SetP2WrongKey(False, channel))], None


def _p1_fault(t: Table, at: datetime, until: datetime | None) -> _Made:
    assert until is not None
    kind = P1FaultKind(t.choice("fault", tuple(k.value for k in P1FaultKind)))
    return [], P1FaultWindow(at, until, kind, t.number("probability", 1.0, low=0, high=1))


@dataclass(frozen=True, slots=True)
class _Kind:
    make: _Maker
    window: bool = False  # needs ``for`` or ``until``
    needs_p2: bool = False  # acts on the P2 link's faults or keys


_KINDS: dict[str, _Kind] = {
    "press-button": _Kind(_press),
    "break-seal": _Kind(_operate(gas.BreakSeal())),
    "reseal": _Kind(_reseal),
    "valve-command": _Kind(_valve),
    "drain-battery": _Kind(_drain),
    "replace-battery": _Kind(_replace_battery),
    "replace-gas-meter": _Kind(_replace),
    "decouple-gas-meter": _Kind(_decouple),
    "couple-gas-meter": _Kind(_couple),
    "add-gas-meter": _Kind(_add),
    "add-mbus-device": _Kind(add_device),
    "decouple-mbus-device": _Kind(decouple_device),
    "power-failure": _Kind(_power_failure, window=True),
    "clock-drift": _Kind(_clock_drift),
    "sync-gas-clock": _Kind(_sync),
    "text-message": _Kind(_text),
    "p2-fault": _Kind(_p2_fault, window=True, needs_p2=True),
    "p2-wrong-key": _Kind(_wrong_key, window=True, needs_p2=True),
    "p1-fault": _Kind(_p1_fault, window=True),
}
TIMELINE_KINDS = tuple(_KINDS)


def _extra_household(t: Table) -> HouseholdConfig | None:
    annual = t.number("annual_m3", 0.0, low=0, high=4000)
    return HouseholdConfig(annual_m3=annual) if annual > 0 else None


def _timeline_item(t: Table, start: datetime, p2_link: str) -> TimelineItem:
    at = aware_time(t.raw("at"), t, "at", start)
    if at < start:
        raise t.fail("at", f"{at.isoformat()} is before the scenario's start {start.isoformat()}")
    kind_name = t.choice("do", TIMELINE_KINDS)
    kind = _KINDS[kind_name]
    until: datetime | None = None
    if kind.window:
        until = _window_end(t, at, start)
    if kind.needs_p2 and p2_link != "p2":
        raise t.fail("do", f'{kind_name} acts on the P2 link: set [p2] link = "p2"')
    commands, p1_fault = kind.make(t, at, until)
    t.done()
    return TimelineItem(at, kind_name, until, tuple(commands), p1_fault)


def _window_end(t: Table, at: datetime, start: datetime) -> datetime:
    length, end = t.text("for", None), t.raw("until", None)
    if (length is None) == (end is None):
        raise t.fail("for", "a window needs exactly one of 'for' (a duration) or 'until' (a time)")
    if length is not None:
        try:
            until = at + parse_duration(length)
        except InvalidInput as exc:
            raise t.fail("for", str(exc)) from exc
    else:
        until = aware_time(end, t, "until", start)
    if until <= at:
        raise t.fail("until" if end is not None else "for", "the window must end after it starts")
    return until


def _check_windows(items: list[TimelineItem], source: str) -> None:
    """Two windows that switch the same thing on and off must not overlap (the first end would clear both)."""
    spans: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    for item in items:
        if item.until is None:
            continue
        first = item.commands[0][1] if item.commands else item.p1_fault
        key = item.kind, repr(getattr(first, "kind", getattr(first, "channel", "")))
        spans.setdefault(key, []).append((item.at, item.until))
    for (kind, _), windows in spans.items():
        windows.sort()
        for (_, end), (begin, _) in pairwise(windows):
            if begin < end:
                raise InvalidInput(f"{source}: timeline: two {kind} windows overlap at {begin.isoformat()}")


# -- the whole file ---------------------------------------------------------------------------------------


def _gas_meter(t: Table, first: bool) -> GasMeterSpec:
    number = _meter_number(t)
    meter_type = _meter_type(t, MeterType.G4) or MeterType.G4
    index, key = t.decimal("initial_index_m3", ZERO), t.key16("default_key")
    household = None if first else _extra_household(t)
    if first and "annual_m3" in t.data:
        raise t.fail("annual_m3", "the first gas meter is the house's: set its use in [household]")
    variant = GasMeterVariant(t.choice("variant", tuple(v.value for v in GasMeterVariant), "dsmr4"))
    drift = _drift_ppm(t, DEFAULT_DRIFT_PPM)
    t.done()
    return GasMeterSpec(number, meter_type, index, key, household, variant, drift)


def _household(t: Table) -> HouseholdConfig:
    defaults = HouseholdConfig()
    values = {
        "annual_m3": t.number("annual_m3", defaults.annual_m3, low=0, high=4000),
        "day_setpoint_c": t.number("day_setpoint_c", defaults.day_setpoint_c),
        "night_setpoint_c": t.number("night_setpoint_c", defaults.night_setpoint_c),
        "night_from_h": t.integer("night_from", defaults.night_from_h, low=0, high=23),
        "night_until_h": t.integer("night_until", defaults.night_until_h, low=0, high=23),
        "hot_water_share": t.number("hot_water_share", defaults.hot_water_share, low=0, high=0.9),
        "cooking_share": t.number("cooking_share", defaults.cooking_share, low=0, high=0.9),
    }
    t.done()
    try:
        return HouseholdConfig(**values)
    except InvalidInput as exc:
        raise t.fail(None, str(exc)) from exc


@dataclass(frozen=True, slots=True)
class _Head:
    name: str
    description: str
    start: datetime
    speed: float | None
    seed: int


def _head(top: Table, source: str) -> _Head:
    head = top.table("scenario")
    start = aware_time(head.raw("start"), head, "start", None)
    speed: float | None = None
    if head.raw("speed", DEFAULT_SPEED) != "max":
        speed = head.number("speed", DEFAULT_SPEED, low=1e-6)
    result = _Head(head.text("name", source), head.text("description", ""), start, speed,
                   head.integer("seed", 0, low=0, high=2**63 - 1))  # fmt: skip
    head.done()
    return result


def _p1(top: Table) -> tuple[str, tuple[bytes, bytes] | None]:
    p1 = top.table("p1")
    version = p1.text("version", "4")
    try:
        spec_for(version)
    except InvalidInput as exc:
        raise p1.fail("version", str(exc)) from exc
    encryption, authentication = p1.key16("encryption_key"), p1.key16("authentication_key")
    p1.done()
    if encryption is None and authentication is None:
        return version, None
    if encryption is None or authentication is None:
        raise p1.fail("encryption_key", "give both encryption_key and authentication_key, or neither")
    return version, (encryption, authentication)


def _gas_meters(top: Table, source: str) -> tuple[GasMeterSpec, ...]:
    tables = top.tables("gas_meter") or [Table({"number": inst.DEFAULT_GAS_METER}, "gas_meter[0]", source)]
    if len(tables) > MAX_MBUS_DEVICES:
        raise top.fail("gas_meter", f"at most {MAX_MBUS_DEVICES} M-Bus devices per E-meter (SYSTEM M3)")
    meters = tuple(_gas_meter(t, i == 0) for i, t in enumerate(tables))
    numbers = [m.number for m in meters]
    if len(set(numbers)) != len(numbers):
        raise top.fail("gas_meter", "two gas meters have the same number")
    return meters


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    """A validated :class:`Scenario` from the text of a TOML scenario file (``source`` names it in errors)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{source}: not valid TOML: {exc}") from exc
    top = Table(document, "", source)
    head = _head(top, source)
    version, p1_keys = _p1(top)
    p2 = top.table("p2")
    link, encrypted = p2.choice("link", ("p2", "direct"), "p2"), p2.flag("encrypted", True)
    p2.done()
    emeter = top.table("emeter")
    emeter_id = emeter.text("id", inst.DEFAULT_E_METER)
    phases = emeter.integer("phases", 1, low=1, high=3)
    if phases == 2:
        raise emeter.fail("phases", "a meter has 1 or 3 phases")
    emeter.done()
    household = _household(top.table("household"))
    electricity = top.table("electricity")
    annual_kwh = electricity.number("annual_kwh", 2700.0, low=0, high=100_000)
    solar_kwp = electricity.number("solar_kwp", 0.0, low=0, high=100)
    electricity.done()
    meters = _gas_meters(top, source)
    devices = mbus_devices(top, len(meters))
    items = [_timeline_item(t, head.start, link) for t in top.tables("timeline")]
    items.sort(key=lambda item: item.at)
    _check_windows(items, source)
    top.done()
    return Scenario(
        head.name, head.description, head.start, head.speed, head.seed, version, p1_keys, link, encrypted,
        emeter_id, phases, household, annual_kwh, solar_kwp, meters, tuple(items), devices,
    )  # fmt: skip
