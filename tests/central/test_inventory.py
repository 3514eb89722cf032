"""Inventory: connections, E-meters, gas meters coupled on channels 1–4 with history (SYSTEM M3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from meterkast.central.model import EMeterRecord, GasMeterRecord, PeriodType
from meterkast.central.store import Store
from meterkast.errors import ClockError, InvalidIdentity, InvalidInput
from tests.central.helpers import CONN, DAY, E_ID, E_OTHER, G_ID, G_NEW, OTHER, T0, install, reading


def test_add_and_get_emeter(store: Store) -> None:
    store.add_connection(CONN)
    store.add_connection(CONN)  # idempotent
    record = EMeterRecord(E_ID, CONN, T0)
    assert store.add_emeter(record) == record
    assert store.add_emeter(record) == record  # the same again: no-op
    assert store.get_emeter(E_ID) == record


def test_emeter_on_unknown_connection_is_refused(store: Store) -> None:
    with pytest.raises(InvalidInput, match=f"connection {CONN.ean} is unknown"):
        store.add_emeter(EMeterRecord(E_ID, CONN, T0))


def test_emeter_cannot_move_silently(store: Store) -> None:
    store.add_connection(CONN)
    store.add_connection(OTHER)
    store.add_emeter(EMeterRecord(E_ID, CONN, T0))
    with pytest.raises(InvalidInput, match=f"already registered on connection {CONN.ean}"):
        store.add_emeter(EMeterRecord(E_ID, OTHER, T0))


def test_unknown_emeter_is_named(store: Store) -> None:
    with pytest.raises(InvalidInput, match=f"E-meter {E_OTHER} is unknown"):
        store.get_emeter(E_OTHER)
    with pytest.raises(InvalidIdentity, match="17"):
        store.get_emeter("E123")


def test_couple_decouple_keeps_history(store: Store) -> None:
    install(store)
    old = store.decouple_gas_meter(E_ID, 1, T0 + 10 * DAY)
    assert old == GasMeterRecord(G_ID, E_ID, 1, T0, T0 + 10 * DAY)
    store.couple_gas_meter(E_ID, 1, G_NEW, T0 + 11 * DAY)
    assert store.gas_meter_history(E_ID) == [old, GasMeterRecord(G_NEW, E_ID, 1, T0 + 11 * DAY)]
    assert store.gas_meter_at(E_ID, 1, T0 + 5 * DAY) == old
    assert store.gas_meter_at(E_ID, 1, T0 + 10 * DAY + DAY / 2) is None
    assert store.gas_meter_at(E_ID, 1, T0 + 20 * DAY) == GasMeterRecord(G_NEW, E_ID, 1, T0 + 11 * DAY)


def test_replaced_gas_meter_keeps_its_readings_under_its_own_id(store: Store) -> None:
    install(store)
    store.store_readings([reading(T0 + DAY, "10.000")])
    store.replace_gas_meter(E_ID, 1, G_NEW, T0 + 2 * DAY)
    store.store_readings([reading(T0 + 3 * DAY, "0.500", gas_meter=G_NEW)])
    got = store.readings(CONN, PeriodType.INTERVAL, T0, T0 + 4 * DAY, now=T0 + 5 * DAY)
    assert [(r.gas_meter, r.value_m3) for r in got] == [(G_ID, Decimal("10.000")), (G_NEW, Decimal("0.500"))]
    # The old meter's id no longer fits the channel after the replacement.
    with pytest.raises(InvalidInput, match=f"gas meter {G_ID} was not coupled on channel 1"):
        store.store_readings([reading(T0 + 3 * DAY, "10.500")])


def test_all_four_channels(store: Store) -> None:
    install(store)
    for channel, serial in ((2, "G0019340315370702"), (3, "G0019340315370703"), (4, "G0019340315370704")):
        store.couple_gas_meter(E_ID, channel, serial, T0)
    assert sorted(c.channel for c in store.gas_meter_history(E_ID)) == [1, 2, 3, 4]
    with pytest.raises(InvalidInput, match="channel 5 does not exist"):
        store.couple_gas_meter(E_ID, 5, G_NEW, T0)


def test_overlapping_couplings_are_refused(store: Store) -> None:
    install(store)
    with pytest.raises(InvalidInput, match=f"channel 1 of E-meter {E_ID} is taken .* {G_ID}"):
        store.couple_gas_meter(E_ID, 1, G_NEW, T0 + DAY)
    with pytest.raises(InvalidInput, match=f"gas meter {G_ID} is taken"):
        store.couple_gas_meter(E_ID, 2, G_ID, T0 + DAY)
    store.decouple_gas_meter(E_ID, 1, T0 + 5 * DAY)
    with pytest.raises(InvalidInput, match=r"until .*cannot overlap"):
        store.couple_gas_meter(E_ID, 1, G_NEW, T0 + 4 * DAY)  # back in time, into the old coupling


def test_coupling_rules(store: Store) -> None:
    install(store)
    with pytest.raises(InvalidInput, match=r"before E-meter .* was installed"):
        store.couple_gas_meter(E_ID, 2, G_NEW, T0 - DAY)
    with pytest.raises(InvalidInput, match="carries no gas meter"):
        store.decouple_gas_meter(E_ID, 2, T0 + DAY)
    with pytest.raises(InvalidInput, match="not after the coupling"):
        store.decouple_gas_meter(E_ID, 1, T0)
    with pytest.raises(ClockError, match="no time zone"):
        store.decouple_gas_meter(E_ID, 1, T0.replace(tzinfo=None))
    with pytest.raises(InvalidInput, match=f"E-meter {E_OTHER} is unknown"):
        store.couple_gas_meter(E_OTHER, 1, G_NEW, T0)


def test_failed_replace_changes_nothing(store: Store) -> None:
    install(store)
    store.couple_gas_meter(E_ID, 2, G_NEW, T0)
    before = store.gas_meter_history(E_ID)
    with pytest.raises(InvalidInput, match=f"gas meter {G_NEW} is taken"):
        store.replace_gas_meter(E_ID, 1, G_NEW, T0 + DAY)  # G_NEW still hangs on channel 2
    assert store.gas_meter_history(E_ID) == before  # the decouple of channel 1 was rolled back
