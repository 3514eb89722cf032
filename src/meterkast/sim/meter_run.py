"""Drive one gas meter hour by hour over simulated time (sans-I/O): the engine of ``meterkast meter simulate``.

Each hour: apply the flow plan's steps at their instants, advance to the next whole hour (where the meter
stores its hourly value), then count the E-meter's hourly P2 readout against the battery, because DSMR
computes battery life "with hourly E–G communication" [MAIN-4.2.2 DSMR-M 4.3.4].
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterkast.gasmeter.commands import SetFlow
from meterkast.gasmeter.events import Event
from meterkast.gasmeter.meter import GasMeter
from meterkast.sim.household import FlowStep

FlowPlan = Callable[[datetime], Sequence[FlowStep]]


@dataclass(frozen=True, slots=True)
class HourReport:
    end: datetime
    index_m3: Decimal
    measured_m3: Decimal  # Vm since manufacture
    converted_m3: Decimal  # Vb since manufacture
    true_m3: Decimal  # gas that really flowed since manufacture
    battery_percent: float
    events: tuple[Event, ...]


def constant_plan(flow_m3h: Decimal, gas_temp_c: Decimal) -> FlowPlan:
    step = (FlowStep(0, flow_m3h, gas_temp_c),)
    return lambda _hour: step


def cyclic_plan(steps: Sequence[tuple[Decimal, Decimal]]) -> FlowPlan:
    """A profile of (flow, gas temperature) per hour, repeated; hour 0 is the first simulated hour."""
    origin: list[datetime] = []

    def plan(hour: datetime) -> Sequence[FlowStep]:
        if not origin:
            origin.append(hour)
        index = int((hour - origin[0]) / timedelta(hours=1)) % len(steps)
        flow, temp = steps[index]
        return (FlowStep(0, flow, temp),)

    return plan


def run_hours(
    meter: GasMeter, plan: FlowPlan, hours: int, *, hourly_readout: bool = True
) -> Iterator[HourReport]:
    """Run ``hours`` whole hours from the meter's current time (rounded down to the hour)."""
    hour = meter.now.replace(minute=0, second=0, microsecond=0)
    last_step: FlowStep | None = None
    for _ in range(hours):
        events: list[Event] = []
        for step in plan(hour):
            at = hour + timedelta(seconds=step.offset_s)
            if at < meter.now or step == last_step:
                continue
            last_step = step
            events.extend(meter.handle(at, SetFlow(step.flow_m3h, step.gas_temp_c)))
        hour += timedelta(hours=1)
        events.extend(meter.advance(hour))
        if hourly_readout and meter.can_communicate:
            events.extend(meter.note_mbus_exchange(hour))
        register = meter.register
        yield HourReport(
            end=hour,
            index_m3=meter.index_m3,
            measured_m3=register.measured_m3,
            converted_m3=register.converted_m3,
            true_m3=register.true_m3,
            battery_percent=round(meter.battery.remaining_percent, 3),
            events=tuple(events),
        )
