"""``SqlStore.export_readings``: every connection's stored readings for ``cs export``, under the consent in
force now (SYSTEM C1, C2: withdrawal takes effect at once). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meterkast.central.model import ConsentLevel, PeriodType
from meterkast.central.store_sql import SqlStore
from meterkast.errors import InvalidInput
from tests.central.helpers import CONN, DAY, E_OTHER, OTHER, T0, hourly, install, reading

NOW = T0 + 30 * DAY


def fill(store: SqlStore) -> None:
    install(store)
    install(store, OTHER, emeter=E_OTHER, gas_meter="G0019340315370721")
    store.store_readings(hourly(T0, 3))
    store.store_readings(hourly(T0, 2, first_value=5000, connection=OTHER, gas_meter="G0019340315370721"))
    store.store_readings([reading(T0 + DAY, "102.000", PeriodType.DAILY)])


def test_every_connection_in_order_with_exact_values(store: SqlStore) -> None:
    fill(store)
    readings, withheld = store.export_readings(list(PeriodType), T0, NOW, now=NOW)
    assert withheld == []
    assert [(r.connection, r.period_type, r.value_m3) for r in readings] == [
        (CONN, PeriodType.DAILY, reading(T0, "102.000").value_m3),
        *[(CONN, PeriodType.INTERVAL, r.value_m3) for r in hourly(T0, 3)],
        *[(OTHER, PeriodType.INTERVAL, r.value_m3) for r in hourly(T0, 2, first_value=5000)],
    ]
    assert str(readings[1].value_m3) == "100.000"  # Decimal as stored, never a float


def test_span_and_profiles_select(store: SqlStore) -> None:
    fill(store)
    second = T0 + timedelta(hours=1)
    readings, _ = store.export_readings([PeriodType.INTERVAL], second, second, now=NOW)
    assert [(r.connection, r.capture_time) for r in readings] == [
        (CONN, T0 + timedelta(hours=1)), (OTHER, T0 + timedelta(hours=1))
    ]


def test_withdrawn_consent_withholds_that_connections_readings(store: SqlStore) -> None:
    fill(store)
    store.set_consent(OTHER, ConsentLevel.STANDARD, NOW - DAY, NOW - DAY)
    readings, withheld = store.export_readings(list(PeriodType), T0, NOW, now=NOW)
    assert {r.connection for r in readings if r.period_type is PeriodType.INTERVAL} == {CONN}
    assert withheld == [(OTHER, PeriodType.INTERVAL)]
    before, nothing = store.export_readings(list(PeriodType), T0, NOW, now=NOW - 2 * DAY)
    assert nothing == [] and len(before) == len(readings) + 2, "consent is judged at the export's instant"


def test_a_reversed_span_is_refused(store: SqlStore) -> None:
    with pytest.raises(InvalidInput, match="before it begins"):
        store.export_readings(list(PeriodType), NOW, T0, now=NOW)
