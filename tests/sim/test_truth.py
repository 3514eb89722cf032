"""Ground truth: every simulated hour's real consumption, beside what the meter's register did."""

from __future__ import annotations

import pickle
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meterkast.emeter.emeter import EMeter
from meterkast.gasmeter.commands import DrainBattery
from meterkast.gasmeter.events import HourlyValueStored
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.sim.gaslink import GasMeterEvent
from meterkast.sim.household import FlowStep
from meterkast.sim.installation import DecoupleGasMeter, Event, Installation, OperateGasMeter
from meterkast.sim.truth import GroundTruth
from meterkast.units import conversion_factor

START = datetime(2025, 1, 14, 22, 30, tzinfo=UTC)
METER = "G0001123456789012"


class ConstantPlan:
    """The same flow every hour (a module-level class, so an installation using it still pickles)."""

    def __init__(self, flow_m3h: str, temp_c: str) -> None:
        self.step = FlowStep(0, Decimal(flow_m3h), Decimal(temp_c))

    def __call__(self, hour: datetime) -> Sequence[FlowStep]:
        return [self.step]


def constant(flow: str = "0.5", temp: str = "8.0") -> Installation:
    meter = GasMeter.manufacture(MeterType.G4, METER, START, random.Random(1))
    emeter = EMeter("E0031003239456716", START)
    return Installation(emeter, random.Random(2), gas_meter=meter, plan=ConstantPlan(flow, temp))


def stored(events: list[Event]) -> dict[datetime, Decimal]:
    return {
        e.event.captured_at: e.event.index_m3
        for e in events
        if isinstance(e, GasMeterEvent) and isinstance(e.event, HourlyValueStored)
    }


def test_one_hour_of_constant_flow_is_converted_as_the_meter_converts() -> None:
    truth = GroundTruth()
    truth.add_flow(1, Decimal("1.2"), Decimal(15), 30 * 60 * 1_000_000)
    row = truth.close_hour(START, 1, index_m3=Decimal("12.345"), meter_number=METER, channel=1)
    assert row.actual_m3 == Decimal("0.600000")
    assert row.consumed_m3 == (Decimal("0.6") * conversion_factor(Decimal(15))).quantize(Decimal("0.000001"))
    assert (row.index_m3, row.meter_number, row.channel, row.supply) == (Decimal("12.345"), METER, 1, 1)
    assert truth.total_m3() == row.consumed_m3 and truth.current_m3() == 0


def test_truth_rows_end_at_the_meters_hourly_values_and_agree_with_the_register() -> None:
    installation = Installation.build(START, random.Random(4))
    events = installation.advance(START + timedelta(days=2))
    rows = installation.truth.hours()
    assert [r.hour for r in rows] == [START.replace(minute=0) + timedelta(hours=h) for h in range(len(rows))]
    values = stored(events)
    for row in rows:
        assert row.index_m3 == values[row.hour + timedelta(hours=1)]  # the index the meter stored at the hour's end
    consumed = sum(r.consumed_m3 for r in rows[1:])
    counted = rows[-1].index_m3 - rows[0].index_m3  # type: ignore[operator]
    assert consumed > 5
    assert abs(counted - consumed) < Decimal("0.02") * consumed + Decimal("0.01")  # error curve, cycles, truncation


def test_truth_does_not_depend_on_how_time_is_sliced() -> None:
    whole, sliced = Installation.build(START, random.Random(8)), Installation.build(START, random.Random(8))
    end = START + timedelta(hours=20)
    whole.advance(end)
    moment = START
    while moment < end:
        moment = min(end, moment + timedelta(seconds=53))
        sliced.advance(moment)
    assert whole.truth.hours() == sliced.truth.hours()


def test_gas_keeps_flowing_into_the_truth_without_a_counting_meter() -> None:
    installation = constant("0.5", "8.0")
    installation.handle(START + timedelta(hours=2), OperateGasMeter(DrainBattery(4_000_000_000_000)))
    installation.advance(START + timedelta(hours=5))
    installation.handle(START + timedelta(hours=5), DecoupleGasMeter())
    installation.advance(START + timedelta(hours=8))
    rows = installation.truth.hours()
    factor = conversion_factor(Decimal("8.0"))
    for row in rows[1:]:
        assert row.actual_m3 == Decimal("0.500000")
        assert row.consumed_m3 == (Decimal("0.5") * factor).quantize(Decimal("0.000001"))
    dead = [r for r in rows if START + timedelta(hours=3) <= r.hour < START + timedelta(hours=4)]
    assert dead and dead[0].index_m3 == rows[2].index_m3  # an empty battery stops the register, not the gas
    assert rows[-1].index_m3 is None and rows[-1].meter_number is None  # decoupled: no meter on supply 1


def test_a_gas_temperature_override_reaches_meter_and_truth() -> None:
    installation = constant("0.5", "8.0")
    installation.advance(START + timedelta(minutes=30))
    installation.set_gas_temperature(START + timedelta(minutes=30), Decimal(20))
    assert installation.gas_meter is not None and installation.gas_meter.gas_temp_c == Decimal(20)
    installation.advance(START + timedelta(hours=2, minutes=30))
    row = installation.truth.hours()[-1]
    assert row.consumed_m3 == (Decimal("0.5") * conversion_factor(Decimal(20))).quantize(Decimal("0.000001"))


def test_an_installation_with_its_truth_pickles_and_runs_on_identically() -> None:
    original = Installation.build(START, random.Random(6))
    original.advance(START + timedelta(hours=7, minutes=13))
    copy = pickle.loads(pickle.dumps(original))
    for installation in (original, copy):
        installation.advance(START + timedelta(hours=30))
    assert copy.truth.hours() == original.truth.hours()
    assert copy.truth.total_m3() == original.truth.total_m3() > 0


def test_old_rows_are_dropped_but_the_total_keeps_counting() -> None:
    truth = GroundTruth(keep_hours=3)
    for hour in range(5):
        truth.add_flow(1, Decimal(1), Decimal(0), 3_600_000_000)
        truth.close_hour(START + timedelta(hours=hour), 1, index_m3=None)
    assert [r.hour for r in truth.hours()] == [START + timedelta(hours=h) for h in (2, 3, 4)]
    assert truth.total_m3() == (5 * conversion_factor(Decimal(0))).quantize(Decimal("0.000001"))
    assert truth.hours(2) == [] and truth.last(2) is None
