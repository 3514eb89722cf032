"""Property: ingesting a random multiset of readings, in random order and repeatedly, stores exactly the
set that ingesting each unique reading once stores (idempotent ingestion on the natural key)."""

from __future__ import annotations

import itertools
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkast.central.model import Connection, PeriodType, Reading
from meterkast.central.store import Store
from tests.central.helpers import DAY, HOUR, T0, install, local, reading

Entry = tuple[PeriodType, datetime, int]  # period type, capture instant, value in litres

_examples = itertools.count(1)
KEYS = [
    *((PeriodType.INTERVAL, T0 + i * HOUR) for i in range(48)),
    *((PeriodType.DAILY, T0 + i * DAY) for i in range(10)),
    *((PeriodType.MONTHLY, local(2025, month, 1)) for month in range(1, 7)),
]


@st.composite
def multisets(draw: st.DrawFn) -> tuple[list[Entry], list[Entry]]:
    """Unique entries, and a shuffled list that holds each of them 1–3 times."""
    keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=25, unique=True))
    entries = [(period, instant, draw(st.integers(0, 10**9))) for period, instant in keys]
    repeats = draw(st.lists(st.integers(1, 3), min_size=len(entries), max_size=len(entries)))
    multiset = [entry for entry, times in zip(entries, repeats, strict=True) for _ in range(times)]
    return entries, draw(st.permutations(multiset))


def as_readings(connection: Connection, gas_meter: str, entries: list[Entry]) -> list[Reading]:
    return [
        reading(instant, f"{value / 1000:.3f}", period, connection=connection, gas_meter=gas_meter)
        for period, instant, value in entries
    ]


def stored(store: Store, connection: Connection) -> set[tuple[object, ...]]:
    """Everything stored for ``connection``, without the connection and meter names."""
    now = T0 + 400 * DAY
    return {
        (r.channel, r.period_type, r.capture_time, r.value_m3, r.amr_status, r.log_time)
        for period in PeriodType
        for r in store.readings(connection, period, T0, now, now=now)
    }


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=multisets(), split=st.integers(0, 75))
def test_repeated_shuffled_ingestion_equals_unique_once(
    store: Store, case: tuple[list[Entry], list[Entry]], split: int
) -> None:
    entries, multiset = case
    # Two fresh installations per example in the store the fixture gives (schemas are costly to make).
    n = next(_examples)
    once = install(store, Connection.from_body(f"8716871500{n:07d}"), emeter=f"E0031{n:010d}16",
                   gas_meter=f"G0019{n:010d}16")
    many = install(store, Connection.from_body(f"8716871600{n:07d}"), emeter=f"E0032{n:010d}16",
                   gas_meter=f"G0020{n:010d}16")

    assert store.store_readings(as_readings(once.connection, once.gas_meter, entries)) == len(entries)
    readings = as_readings(many.connection, many.gas_meter, multiset)
    cut = min(split, len(readings))
    new = sum(store.store_readings([r]) for r in readings[:cut])  # one at a time …
    new += store.store_readings(readings[cut:])  # … and the rest as one batch with repeats inside
    assert new == len(entries)
    assert store.store_readings(readings) == 0
    assert stored(store, many.connection) == stored(store, once.connection)
