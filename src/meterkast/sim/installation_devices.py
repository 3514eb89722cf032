"""The other M-Bus devices of an installation: water and heat meters beside the gas meter (SYSTEM M3).

Liander manual §8 (Apparatuur): an E-meter's M-Bus channels also serve a water meter, a heat or cold
meter or a slave E-meter. [P1-4.2.2 §6.3–6.5]: "The OBIS reference Channel number (n) will be defined by
the installing order of the M-Bus devices. So a water meter can be installed on channel 1, 2, 3 or 4."
``AddSubMeter`` installs one: the E-meter couples it (P2-4.2.2 §8.3: address 0 → a free primary address,
a fresh user key wrapped with the meter's default key) and reads it every hour like the gas meter.

Rules this module keeps:
- a device given a ``channel`` at the start is installed so that it lands there: the installer fits the
  devices in channel order, the house's gas meter taking the first channel nobody claimed (so "water on
  channel 1, gas on channel 2" is water installed first). A claim that would leave a channel empty
  before it is refused; a device added later goes on the first free channel like any other;
- over P2 the device is a ``SubMeterSlave`` on the bus; over the direct link its hourly value is handed
  straight to the E-meter (``DirectGasLink.attach_reader``);
- nothing is stored here: the meters live in ``Installation.sub_meters`` (channel → ``SubMeter``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from meterkast.emeter.emeter import EMeter
from meterkast.emeter.readings import MbusDeviceIdentity, MbusReading
from meterkast.errors import CommandRefused, InvalidInput
from meterkast.gasmeter.meter import GasMeter
from meterkast.mbus.device_kinds import HEAT, WATER, DeviceKind, kind_named
from meterkast.mbus.keys import KEY_SIZE
from meterkast.mbus.utility_slave import SubMeterSlave
from meterkast.randomness import RandomSource
from meterkast.sim.gaslink import DirectGasLink, GasLink
from meterkast.sim.p2_link import P2GasLink
from meterkast.sim.submeters import Demand, HeatDemand, SubMeter, WaterDemand
from meterkast.sim.weather import DE_BILT_1991_2020, WeatherSeries

if TYPE_CHECKING:
    from meterkast.sim.installation import Event, GasSupply

# FLAG manufacturer ids (DSMR-FACTS §2.3 lists the Itron ones): Itron Water; Kamstrup, the common
# district-heating meter in NL (a plausible choice, not a measured fact).
MANUFACTURERS: dict[str, str] = {WATER.name: "ITW", HEAT.name: "KAM"}


@dataclass(frozen=True, slots=True)
class AddSubMeter:
    """A water or heat meter is installed and coupled as an M-Bus slave of the E-meter (manual §8)."""

    kind: str  # "water" or "heat" (``device_kinds``)
    equipment_id: str  # 17 characters: meter code, 10-digit serial, year [P2-4.2.2 §6.4.1]
    channel: int | None = None  # at the start: the channel it must land on; later: ignored (first free)
    initial: Decimal = Decimal(0)  # register at installation, in the kind's unit
    persons: Decimal = Decimal("2.1")  # water: people in the household
    annual_gj: Decimal = Decimal("25")  # heat: a normal year's heat use
    manufacturer: str | None = None  # None: ``MANUFACTURERS``
    default_key: bytes | None = None  # None: drawn from the rng, as the factory would

    def __post_init__(self) -> None:
        kind = kind_named(self.kind)
        if kind not in (WATER, HEAT):
            raise InvalidInput(f"an M-Bus sub-meter is water or heat, not {self.kind!r}")
        if self.channel is not None and not 1 <= self.channel <= 4:
            raise InvalidInput(f"M-Bus channel {self.channel} is not 1..4 (SYSTEM M3)")
        if self.default_key is not None and len(self.default_key) != KEY_SIZE:
            raise InvalidInput(f"default key of {self.equipment_id} must be {KEY_SIZE} bytes (AES-128)")

    @property
    def device_kind(self) -> DeviceKind:
        return kind_named(self.kind)


@dataclass(frozen=True, slots=True)
class DecoupleSubMeter:
    """The water or heat meter on ``channel`` is decoupled (P3 ``slave_deinstall``); P1 then shows the
    channel emptied, device type kept (``emeter.p1view``)."""

    channel: int


def install_order(sub_meters: Sequence[AddSubMeter], gas: bool) -> list[AddSubMeter | None]:
    """The order in which the installer couples the devices so each lands on its channel; None: the gas meter.

    Devices with a channel come in channel order; the gas meter and devices without one fill the gaps."""
    claimed = {m.channel: m for m in sub_meters if m.channel is not None}
    if len(claimed) != sum(m.channel is not None for m in sub_meters):
        raise InvalidInput("two M-Bus devices claim the same channel")
    rest: list[AddSubMeter | None] = ([None] if gas else []) + [m for m in sub_meters if m.channel is None]
    order: list[AddSubMeter | None] = []
    for channel in range(1, 5):
        if channel in claimed:
            order.append(claimed.pop(channel))
        elif rest:
            order.append(rest.pop(0))
        elif claimed:
            raise InvalidInput(f"M-Bus channel {channel} would stay empty before channel {min(claimed)}: channels "
                               "follow the order of installation [P1-4.2.2 §6.3–6.5]")
    if rest:
        raise InvalidInput("more than 4 M-Bus devices (SYSTEM M3)")
    return order


def demand_for(command: AddSubMeter, seed: int, weather: WeatherSeries | None) -> Demand:
    if command.device_kind is WATER:
        return WaterDemand(seed, command.persons)
    return HeatDemand(seed, command.annual_gj, weather=weather or DE_BILT_1991_2020)


class SubMeterWiring:
    """Part of ``Installation``: its water and heat meters on the E-meter and the link (module docstring)."""

    emeter: EMeter
    link: GasLink
    supplies: list[GasSupply]
    weather: WeatherSeries | None
    sub_meters: dict[int, SubMeter]
    _rng: RandomSource
    _now: datetime

    if TYPE_CHECKING:
        def _couple(self, supply: GasSupply, meter: GasMeter) -> list[Event]: ...

    def _install_first(self, gas_meter: GasMeter | None, sub_meters: Sequence[AddSubMeter]) -> list[Event]:
        """Couple the house's gas meter and the devices present at the start, in ``install_order``."""
        events: list[Event] = []
        for item in install_order(sub_meters, gas_meter is not None):
            if item is None:
                assert gas_meter is not None
                events += self._couple(self.supplies[0], gas_meter)
            else:
                events += self._add_sub_meter(item)
        return events

    def _add_sub_meter(self, command: AddSubMeter) -> list[Event]:
        kind = command.device_kind
        in_use = {m.equipment_id for m in self.sub_meters.values()}
        if command.equipment_id in in_use:
            raise CommandRefused(f"{kind.name} meter {command.equipment_id} is already coupled")
        key = command.default_key if command.default_key is not None else self._rng.getrandbits(128).to_bytes(16)
        demand = demand_for(command, self._rng.getrandbits(63), self.weather)
        meter = SubMeter.install(kind, command.equipment_id, self._now, demand, key, initial=command.initial)
        manufacturer = command.manufacturer or MANUFACTURERS[kind.name]
        slave = SubMeterSlave(meter, manufacturer=manufacturer)
        who = slave.identity
        try:
            identity = MbusDeviceIdentity(manufacturer, int(who.ident), who.version, who.medium, meter.equipment_id)
        except InvalidInput as exc:
            raise CommandRefused(f"cannot couple {kind.name} meter {command.equipment_id}: {exc}") from exc
        channel, coupled = self.emeter.couple(self._now, identity)
        self.sub_meters[channel] = meter
        if isinstance(self.link, P2GasLink):
            self.link.attach_slave(self._now, channel, slave, meter.default_key)
        elif isinstance(self.link, DirectGasLink):
            self.link.attach_reader(channel, partial(_direct_reading, meter))
        return list(coupled)

    def _decouple_sub_meter(self, command: DecoupleSubMeter) -> list[Event]:
        meter = self.sub_meters.get(command.channel)
        if meter is None:
            raise CommandRefused(f"cannot decouple the M-Bus device on channel {command.channel}: no water or heat "
                                 "meter is coupled there")
        events: list[Event] = list(self.emeter.decouple(self._now, command.channel))
        self.link.detach(command.channel)
        del self.sub_meters[command.channel]
        return events

    def _advance_sub_meters(self, moment: datetime) -> None:
        for meter in self.sub_meters.values():
            meter.advance(moment)


def _direct_reading(meter: SubMeter, now: datetime) -> MbusReading:
    """What a perfect P2 read of ``meter`` would give the E-meter (the hourly value, else the actual one)."""
    meter.advance(now)
    last = meter.last_hour
    if last is None:
        return MbusReading(meter.register, now.replace(microsecond=0), 0, meter.resolution)
    return MbusReading(last[1], last[0], 0, meter.resolution)
