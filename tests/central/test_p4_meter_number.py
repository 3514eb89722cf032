"""P4: the party proves the gas meter's number (DSMR-FACTS §5), and every refusal carries its code
(SYSTEM C3). Runs on both backends through the shared ``store`` fixture."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meterkast.central.model import AuthScope, ConsentLevel, P4AccessRefused, P4Refusal
from meterkast.central.store import Store
from meterkast.central.store_sql_p4 import normalise_meter_number
from meterkast.errors import ConsentRefused
from tests.central.helpers import CONN, DAY, E_ID, G_ID, G_NEW, OTHER, T0, TOKEN, hourly, install

NOW = T0 + 5 * DAY
HOURLY = AuthScope.HOURLY


def setup(store: Store, consent: ConsentLevel = ConsentLevel.DETAILED) -> int:
    install(store, consent=consent)
    store.add_connection(OTHER)
    if consent is ConsentLevel.DETAILED:
        store.store_readings(hourly(T0, 72))
    store.register_party("supplier-1", "Energie BV", TOKEN, T0)
    return store.authorise("supplier-1", CONN, HOURLY, valid_from=T0, valid_to=T0 + 40 * DAY, at=T0).authorisation_id


def refusal(store: Store, meter: str | None = G_ID, **kw: object) -> P4Refusal:
    args: dict[str, object] = {"token": TOKEN, "connection": CONN, "scope": HOURLY, "from_": T0, "to": T0 + DAY,
                               "now": NOW, "meter_number": meter, **kw}
    with pytest.raises(P4AccessRefused) as caught:
        store.readings_for_party(**args)  # type: ignore[arg-type]
    assert isinstance(caught.value, ConsentRefused)  # existing callers keep working
    return caught.value.refusal


def test_right_meter_number_is_granted_as_printed(store: Store) -> None:
    setup(store)
    for given in (G_ID, G_ID.lower(), "G0019 3403153706 16", f" {G_ID} "):
        assert len(store.readings_for_party(TOKEN, CONN, HOURLY, T0, T0 + 2 * timedelta(hours=1), now=NOW,
                                            meter_number=given)) == 3
    assert normalise_meter_number("ABCD340315370616") == " ABCD340315370616"  # KIWA code padded (SYSTEM G13)


def test_wrong_or_missing_meter_number_is_refused_and_audited(store: Store) -> None:
    setup(store)
    assert refusal(store, "G0019340315370617") is P4Refusal.WRONG_METER_NUMBER
    assert refusal(store, "") is P4Refusal.WRONG_METER_NUMBER
    assert refusal(store, E_ID) is P4Refusal.WRONG_METER_NUMBER  # the E-meter's number is not the gas meter's
    log = store.audit_log(CONN)
    assert [(e.granted, e.party_id) for e in log] == [(False, "supplier-1")] * 3
    assert "not that of the gas meter" in log[0].reason and "G0019340315370617" not in log[0].reason
    assert "no meter number was given" in log[1].reason


def test_a_replaced_gas_meter_no_longer_proves_anything(store: Store) -> None:
    setup(store)
    store.replace_gas_meter(E_ID, 1, G_NEW, NOW - timedelta(hours=1))
    assert refusal(store, G_ID) is P4Refusal.WRONG_METER_NUMBER
    store.readings_for_party(TOKEN, CONN, HOURLY, T0, T0 + DAY, now=NOW, meter_number=G_NEW)


def test_meter_number_is_checked_only_after_the_authorisation(store: Store) -> None:
    """No probing: without an authorisation the answer is the same whatever meter number is given."""
    setup(store)
    assert refusal(store, G_ID, connection=OTHER) is P4Refusal.NOT_AUTHORISED
    assert refusal(store, "G0000000000000000", connection=OTHER) is P4Refusal.NOT_AUTHORISED


def test_every_refusal_has_its_code(store: Store) -> None:
    auth_id = setup(store)
    assert refusal(store, token="q" * 40) is P4Refusal.UNKNOWN_TOKEN
    assert refusal(store, to=NOW + timedelta(hours=1)) is P4Refusal.FUTURE_RANGE
    assert refusal(store, scope=HOURLY, connection=OTHER) is P4Refusal.NOT_AUTHORISED
    assert refusal(store, now=T0 + 41 * DAY, from_=T0 + 35 * DAY, to=T0 + 36 * DAY) is P4Refusal.OUTSIDE_PERIOD
    assert refusal(store, from_=NOW - 11 * DAY, to=NOW) is P4Refusal.HISTORY_DEPTH
    store.revoke(auth_id, NOW)
    assert refusal(store) is P4Refusal.REVOKED
    assert refusal(store, meter=None) is P4Refusal.REVOKED  # None skips only the meter-number proof


def test_no_consent_has_its_code(store: Store) -> None:
    setup(store, consent=ConsentLevel.STANDARD)
    assert refusal(store) is P4Refusal.NO_CONSENT
