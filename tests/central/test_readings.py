"""Readings: idempotent ingestion, conflicts named, gaps for catch-up, bad input named (SYSTEM C1, E2)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from meterkast.central.model import Connection, ConsentLevel, Gap, PeriodType, Reading
from meterkast.central.store import Store
from meterkast.emeter.amr import AmrStatus
from meterkast.errors import ClockError, InvalidInput
from tests.central.helpers import CONN, DAY, E_ID, G_ID, G_NEW, HOUR, OTHER, T0, hourly, install, local, reading

NOW = T0 + 30 * DAY


def test_store_and_read_back(store: Store) -> None:
    install(store)
    batch = hourly(T0, 24)
    assert store.store_readings(batch) == 24
    got = store.readings(CONN, PeriodType.INTERVAL, T0, T0 + DAY, now=NOW)
    assert got == batch
    assert all(r.capture_time.tzinfo is not None for r in got)
    assert store.readings(CONN, PeriodType.INTERVAL, T0 + 2 * HOUR, T0 + 3 * HOUR, now=NOW) == batch[2:4]
    assert store.readings(CONN, PeriodType.DAILY, T0, T0 + DAY, now=NOW) == []


def test_decimal_and_status_survive_exactly(store: Store) -> None:
    install(store)
    sample = reading(T0, "12345678.901", status=int(AmrStatus.DST | AmrStatus.DNV | AmrStatus.PDN))
    store.store_readings([sample])
    (got,) = store.readings(CONN, PeriodType.INTERVAL, T0, T0, now=NOW)
    assert got.value_m3 == Decimal("12345678.901") and str(got.value_m3) == "12345678.901"
    assert got.amr_status == AmrStatus.DST | AmrStatus.DNV | AmrStatus.PDN


def test_storing_twice_is_a_no_op(store: Store) -> None:
    install(store)
    batch = hourly(T0, 5)
    assert store.store_readings(batch) == 5
    assert store.store_readings(batch) == 0
    again_later = [reading(r.capture_time, str(r.value_m3), log_delay=DAY) for r in batch]
    assert store.store_readings(again_later) == 0  # a later re-read of the same entries
    assert store.readings(CONN, PeriodType.INTERVAL, T0, T0 + DAY, now=NOW) == batch  # first log_time kept


def test_conflicting_value_is_an_error_naming_both(store: Store) -> None:
    install(store)
    store.store_readings([reading(T0, "100.000")])
    with pytest.raises(InvalidInput, match=r"stored as 100\.000 m³.*conflicting 100\.001 m³"):
        store.store_readings([reading(T0, "100.001")])
    with pytest.raises(InvalidInput, match=r"status 0x00.*status 0x04"):
        store.store_readings([reading(T0, "100.000", status=int(AmrStatus.DNV))])
    # Within one batch too, and the whole batch is rolled back.
    with pytest.raises(InvalidInput, match="conflicting"):
        store.store_readings([reading(T0 + HOUR, "1.000"), reading(T0 + HOUR, "2.000")])
    assert store.readings(CONN, PeriodType.INTERVAL, T0, T0 + DAY, now=NOW) == [reading(T0, "100.000")]


def test_same_instant_different_period_types_coexist(store: Store) -> None:
    install(store)
    stored = [reading(T0, "7.000", period) for period in PeriodType]
    assert store.store_readings(stored) == 3


def test_off_grid_capture_times_are_refused(store: Store) -> None:
    install(store)
    with pytest.raises(InvalidInput, match="not on the interval grid"):
        store.store_readings([reading(T0 + timedelta(minutes=11), "1.000")])
    with pytest.raises(InvalidInput, match="not on the daily grid"):
        store.store_readings([reading(T0 + HOUR, "1.000", PeriodType.DAILY)])
    with pytest.raises(InvalidInput, match="not on the monthly grid"):
        store.store_readings([reading(T0 + DAY, "1.000", PeriodType.MONTHLY)])
    # Local midnight across the DST change is still on the daily grid.
    store.store_readings([reading(local(2025, 3, 30), "1.000", PeriodType.DAILY),
                          reading(local(2025, 3, 31), "1.100", PeriodType.DAILY)])


def test_bad_input_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"-1\.000 m³ is negative"):
        reading(T0, "-1.000")
    with pytest.raises(InvalidInput, match="never a float"):
        Reading(CONN, G_ID, 1, PeriodType.INTERVAL, T0, 1.5, AmrStatus(0), T0)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="finite"):
        reading(T0, "NaN")
    with pytest.raises(ClockError, match="capture_time 2024-12-31T23:00:00 has no time zone"):
        reading(T0.replace(tzinfo=None))
    with pytest.raises(InvalidInput, match=r"log_time .* before its capture_time"):
        reading(T0, log_delay=-HOUR)
    with pytest.raises(InvalidInput, match="one byte"):
        reading(T0, status=256)
    with pytest.raises(InvalidInput, match="channel 0 does not exist"):
        reading(T0, channel=0)
    with pytest.raises(InvalidInput, match="check digit 0, GS1 mod 10 gives 9"):
        Connection("871687140000000010")


def test_unknown_connection_and_uncoupled_meter(store: Store) -> None:
    install(store)
    with pytest.raises(InvalidInput, match=f"connection {OTHER.ean} is unknown"):
        store.store_readings([reading(T0, connection=OTHER)])
    with pytest.raises(InvalidInput, match=f"connection {OTHER.ean} is unknown"):
        store.readings(OTHER, PeriodType.INTERVAL, T0, T0, now=NOW)
    with pytest.raises(InvalidInput, match=f"gas meter {G_NEW} was not coupled on channel 1 of an E-meter"):
        store.store_readings([reading(T0, gas_meter=G_NEW)])
    with pytest.raises(InvalidInput, match=f"gas meter {G_ID} was not coupled on channel 2"):
        store.store_readings([reading(T0, channel=2)])
    with pytest.raises(InvalidInput, match="was not coupled"):
        store.store_readings([reading(T0 - HOUR)])  # before the coupling
    with pytest.raises(InvalidInput, match=r"ends .* before it begins"):
        store.readings(CONN, PeriodType.INTERVAL, T0 + HOUR, T0, now=NOW)
    with pytest.raises(InvalidInput, match="is not a Reading"):
        store.store_readings(["reading"])  # type: ignore[list-item]


def test_missing_periods_after_an_outage(store: Store) -> None:
    install(store)
    day = hourly(T0, 24)
    store.store_readings(day[:5] + day[9:20] + day[22:])  # outages 05:00–08:00 and 20:00–21:00
    gaps = store.missing_periods(CONN, PeriodType.INTERVAL, T0, T0 + 23 * HOUR)
    assert gaps == [
        Gap(G_ID, 1, PeriodType.INTERVAL, T0 + 5 * HOUR, T0 + 8 * HOUR, 4),
        Gap(G_ID, 1, PeriodType.INTERVAL, T0 + 20 * HOUR, T0 + 21 * HOUR, 2),
    ]
    # Catching up the gaps closes them, and a repeated catch-up adds no duplicates.
    assert store.store_readings(day[5:9] + day[20:22]) == 6
    assert store.store_readings(day) == 0
    assert store.missing_periods(CONN, PeriodType.INTERVAL, T0, T0 + 23 * HOUR) == []
    assert len(store.readings(CONN, PeriodType.INTERVAL, T0, T0 + 23 * HOUR, now=NOW)) == 24


def test_missing_periods_follow_couplings_and_consent(store: Store) -> None:
    install(store)
    store.replace_gas_meter(E_ID, 1, G_NEW, T0 + 2 * DAY)
    store.store_readings([reading(T0, "1.000", PeriodType.DAILY),
                          reading(T0 + 3 * DAY, "0.100", PeriodType.DAILY, gas_meter=G_NEW)])
    store.set_consent(CONN, ConsentLevel.STANDARD, T0 + 4 * DAY, T0 + 4 * DAY)
    gaps = store.missing_periods(CONN, PeriodType.DAILY, T0 - DAY, T0 + 6 * DAY)
    assert gaps == [
        Gap(G_ID, 1, PeriodType.DAILY, T0 + DAY, T0 + DAY, 1),  # coupled from T0, replaced at T0 + 2 days
        Gap(G_NEW, 1, PeriodType.DAILY, T0 + 2 * DAY, T0 + 2 * DAY, 1),  # from T0 + 4 days: no consent
    ]
    assert store.missing_periods(CONN, PeriodType.DAILY, T0, T0 + 6 * DAY, now=T0 + 5 * DAY) == []
    assert store.missing_periods(CONN, PeriodType.MONTHLY, T0, local(2025, 3, 1)) == [
        Gap(G_ID, 1, PeriodType.MONTHLY, T0, T0, 1),
        Gap(G_NEW, 1, PeriodType.MONTHLY, local(2025, 2, 1), local(2025, 3, 1), 2),
    ]
