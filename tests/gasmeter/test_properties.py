"""Property tests of the gas meter model (Hypothesis): register, conversion, battery, determinism."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.gasmeter import commands as cmd
from meterkast.gasmeter.events import ReadingChanged
from meterkast.gasmeter.metrology import MeterType
from meterkast.units import convert_volume
from tests.gasmeter.conftest import T0, make_meter

segments = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=7200),  # seconds
        st.decimals(min_value=0, max_value=12, places=3),  # m³/h, up to twice Qmax of a G4
        st.decimals(min_value=-20, max_value=40, places=1),  # °C
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(segments, st.sampled_from(list(MeterType)))
def test_register_is_monotone_and_vb_follows_the_formula(
    plan: list[tuple[int, Decimal, Decimal]], meter_type: MeterType
) -> None:
    meter = make_meter(meter_type)
    t = T0
    expected_vb = Decimal(0)
    last_index = meter.index_m3
    for seconds, flow, temp in plan:
        meter.handle(t, cmd.SetFlow(flow, temp))
        measured_before = meter.register.measured_m3
        t += timedelta(seconds=seconds)
        events = meter.advance(t)
        expected_vb += convert_volume(meter.register.measured_m3 - measured_before, temp)
        assert meter.index_m3 >= last_index  # no wrap possible from 0 within this plan
        assert all(e.index_m3 >= last_index for e in events if isinstance(e, ReadingChanged))
        last_index = meter.index_m3
        assert meter.register.measured_m3 <= meter.register.true_m3 * Decimal("1.02") + Decimal("0.02")
    assert abs(meter.register.converted_m3 - expected_vb) < Decimal("1e-15")
    assert meter.battery.remaining_nah >= 0


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=2**63), st.integers(min_value=0, max_value=10**10))
def test_battery_never_negative(seed: int, drain: int) -> None:
    meter = make_meter(seed=seed % 1000)
    meter.handle(T0, cmd.DrainBattery(drain))
    meter.handle(T0 + timedelta(hours=3), cmd.DrainBattery(drain))
    assert 0 <= meter.battery.remaining_nah <= meter.battery.capacity_nah


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10**6))
def test_same_seed_same_meter(seed: int) -> None:
    a, b = make_meter(seed=seed), make_meter(seed=seed)
    assert (a.access_number, a.default_key) == (b.access_number, b.default_key)
