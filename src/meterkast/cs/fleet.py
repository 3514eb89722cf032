"""Simulated E-meters for the central system to read: a fleet that is cheap to build (issue 6 load test): sans-I/O.

A fleet is one prepared E-meter, copied: ``template_meter`` runs a meter with one G4 gas meter on channel 1
for a couple of days as a shell would (a P2 read at xx:01 of every hour, SYSTEM E1), and ``clone_meter``
copies it under another E-meter and gas meter identity. Building one meter that way costs about 15 ms;
a copy about 1 ms, so a thousand meters take about a second. Every copy holds the same profile values;
what differs is who they belong to, which is what the central system's bookkeeping is about.

``build_fleet`` names the meters (E-meters ``E0031nnnnnnnnnn25``, gas meters ``G0001nnnnnnnnnn25``,
connections ``8716871400nnnnnnn`` + check digit), draws their P3 keys from the injected random source
(STYLE 3) and gives each a consent level from ``consents`` in turn. ``FleetMeter.entry(host, port)``
is the inventory entry for wherever the meter ends up answering.

Rules this module keeps: no sockets, clock or global randomness; time comes in as arguments.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterkast.central.model import Connection, ConsentLevel
from meterkast.cs.inventory import GasCoupling, MeterEntry, system_title_for
from meterkast.dlms import SecurityKeys
from meterkast.emeter import EMeter, MbusDeviceIdentity, MbusReading
from meterkast.emeter.events import Event
from meterkast.errors import InvalidInput
from meterkast.randomness import RandomSource
from meterkast.timeutil import require_utc

GasSource = Callable[[int, datetime], Decimal]
StatusSource = Callable[[int, datetime], int]
M3_PER_HOUR = Decimal("0.123")
KEY_BITS = 128


def linear_gas(start: datetime, per_hour_m3: Decimal = M3_PER_HOUR) -> GasSource:
    """A register that grows by ``per_hour_m3`` every hour from ``start`` (a gas meter's index)."""
    def index(_channel: int, hour: datetime) -> Decimal:
        return per_hour_m3 * int((hour - start) / timedelta(hours=1))
    return index


def no_status(_channel: int, _hour: datetime) -> int:
    return 0


def run_meter(meter: EMeter, until: datetime, gas: GasSource, status: StatusSource = no_status) -> list[Event]:
    """Run ``meter`` to ``until`` as its shell would: wake at each deadline, read the channels that are due.

    The gas meter's reading carries the whole UTC hour of the read as its capture time (its clock in sync).
    """
    until = require_utc(until, "until")
    events: list[Event] = []
    while True:
        for channel in meter.polls_due(meter.now):
            hour = meter.now.replace(minute=0, second=0, microsecond=0)
            events += meter.record_reading(meter.now, channel, MbusReading(gas(channel, hour), hour,
                                                                           status(channel, hour)))
        deadline = meter.next_deadline()
        if deadline > until:
            return events + meter.advance(until)
        events += meter.advance(deadline)


def emeter_id(n: int) -> str:
    return f"E0031{n:010d}25"


def gas_meter_id(n: int) -> str:
    return f"G0001{n:010d}25"


def connection_for(n: int) -> Connection:
    return Connection.from_body(f"8716871400{n:07d}")


def template_meter(start: datetime, now: datetime, *, equipment_id: str = emeter_id(0),
                   gas_meter: str = gas_meter_id(0), gas: GasSource | None = None) -> EMeter:
    """One E-meter installed at ``start`` with a gas meter on channel 1, run to ``now``."""
    meter = EMeter(equipment_id, start)
    meter.couple(start, MbusDeviceIdentity.for_meter_number(gas_meter))
    run_meter(meter, now, gas or linear_gas(start))
    return meter


def clone_meter(frozen: bytes, equipment_id: str, gas_meters: Sequence[str]) -> EMeter:
    """A copy of a pickled template under new identities. The template is this package's own model, so
    the pickle is trusted; renaming reaches into the M-Bus channels because identities are fixed at
    coupling and a real meter is never renamed."""
    meter = pickle.loads(frozen)  # our own template, made by freeze() in this process
    if not isinstance(meter, EMeter):
        raise InvalidInput("a fleet template must be a pickled EMeter")
    meter.equipment_id = equipment_id
    for channel, gas_meter in enumerate(gas_meters, start=1):
        state = meter.mbus.channels[channel]
        if not state.coupled:
            raise InvalidInput(f"the template has no gas meter on channel {channel} to rename")
        state.identity = MbusDeviceIdentity.for_meter_number(gas_meter)
    return meter


def freeze(meter: EMeter) -> bytes:
    return pickle.dumps(meter, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass(frozen=True, slots=True)
class FleetMeter:
    number: int
    meter: EMeter
    connection: Connection
    gas_meter: str
    keys: SecurityKeys
    consent: ConsentLevel
    installed_at: datetime

    @property
    def system_title(self) -> bytes:
        return system_title_for(self.meter.equipment_id)

    def entry(self, host: str, port: int) -> MeterEntry:
        return MeterEntry(self.meter.equipment_id, self.connection, host, port, self.installed_at,
                          (GasCoupling(1, self.gas_meter, self.installed_at),), self.system_title,
                          self.consent, self.keys)


def _key(rng: RandomSource) -> bytes:
    return rng.getrandbits(KEY_BITS).to_bytes(KEY_BITS // 8, "big")


def build_fleet(count: int, *, start: datetime, now: datetime, rng: RandomSource,
                consents: Sequence[ConsentLevel] = (ConsentLevel.DETAILED,), first: int = 1) -> list[FleetMeter]:
    """``count`` E-meters installed at ``start`` and run to ``now``; consent ``consents[i % len]``."""
    if count < 0 or not consents:
        raise InvalidInput(f"a fleet needs a count >= 0 (got {count}) and at least one consent level")
    frozen = freeze(template_meter(start, now))
    fleet = []
    for i in range(count):
        n = first + i
        meter = clone_meter(frozen, emeter_id(n), [gas_meter_id(n)])
        keys = SecurityKeys(_key(rng), _key(rng))
        fleet.append(FleetMeter(n, meter, connection_for(n), gas_meter_id(n), keys, consents[i % len(consents)], start))
    return fleet
