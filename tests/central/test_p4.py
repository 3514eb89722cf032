"""P4: third parties, authorisations, revocation, history depth, and an audit entry for every attempt
(SYSTEM C3, DSMR-FACTS §5)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from meterkast.central import rules
from meterkast.central.model import AuthScope, ConsentLevel, PeriodType, ThirdParty
from meterkast.central.store import Store
from meterkast.central.store_sql_db import Database
from meterkast.errors import ConsentRefused, InvalidInput
from tests.central.helpers import CONN, DAY, HOUR, OTHER, T0, TOKEN, hourly, install, local, reading

NOW = T0 + 5 * DAY
HOURLY, DAILY, MONTHLY = AuthScope.HOURLY, AuthScope.DAILY, AuthScope.MONTHLY


def setup(store: Store, scope: AuthScope = HOURLY, consent: ConsentLevel = ConsentLevel.DETAILED) -> int:
    install(store, consent=consent)
    store.add_connection(OTHER)
    if consent is ConsentLevel.DETAILED:
        store.store_readings(hourly(T0, 72))
    store.register_party("supplier-1", "Energie BV", TOKEN, T0)
    return store.authorise("supplier-1", CONN, scope, valid_from=T0, valid_to=T0 + 400 * DAY, at=T0).authorisation_id


def refused(store: Store, match: str, token: str = TOKEN, scope: AuthScope = HOURLY, **span: object) -> None:
    start, end = span.get("from_", T0), span.get("to", T0 + DAY)
    now = span.get("now", NOW)
    connection = span.get("connection", CONN)
    with pytest.raises(ConsentRefused, match=match):
        store.readings_for_party(token, connection, scope, start, end, now=now)  # type: ignore[arg-type]


def test_granted_access_returns_readings_and_is_audited(store: Store) -> None:
    setup(store)
    got = store.readings_for_party(TOKEN, CONN, HOURLY, T0, T0 + DAY, now=NOW)
    assert got == hourly(T0, 25)
    (entry,) = store.audit_log(CONN)
    assert (entry.party_id, entry.connection, entry.scope, entry.granted, entry.readings) == (
        "supplier-1", CONN.ean, HOURLY, True, 25)
    assert (entry.at, entry.data_from, entry.data_to, entry.reason) == (NOW, T0, T0 + DAY, "granted")


def test_token_is_stored_hashed_only(store: Store, database: Database) -> None:
    setup(store)
    rows = database.run("SELECT party_id, name, token_sha256 FROM third_parties")
    assert rows == [("supplier-1", "Energie BV", hashlib.sha256(TOKEN.encode()).hexdigest())]
    assert all(TOKEN not in str(value) for row in rows for value in row)


def test_registration_rules(store: Store) -> None:
    setup(store)
    again = store.register_party("supplier-1", "Energie BV", TOKEN, T0 + DAY)
    assert again == ThirdParty("supplier-1", "Energie BV", T0)  # the same again: the first registration stands
    with pytest.raises(InvalidInput, match="already registered"):
        store.register_party("supplier-1", "Other BV", TOKEN, T0)
    with pytest.raises(InvalidInput, match="already in use"):
        store.register_party("supplier-2", "Other BV", TOKEN, T0)
    with pytest.raises(InvalidInput, match="at least 32 characters"):
        store.register_party("supplier-3", "Other BV", "short", T0)
    with pytest.raises(InvalidInput, match="party id 'bad id!'"):
        store.register_party("bad id!", "Other BV", "y" * 40, T0)
    with pytest.raises(InvalidInput, match="'nobody' is not registered"):
        store.authorise("nobody", CONN, HOURLY, valid_from=T0, valid_to=T0 + DAY, at=T0)
    with pytest.raises(InvalidInput, match="ends before it begins"):
        store.authorise("supplier-1", CONN, HOURLY, valid_from=T0, valid_to=T0, at=T0)


def test_unknown_token_is_refused_and_audited(store: Store) -> None:
    setup(store)
    refused(store, "token matches no registered third party", token="z" * 40)
    (entry,) = store.audit_log(CONN)
    assert entry.party_id is None and not entry.granted and entry.readings == 0


def test_other_connection_and_unknown_connection_read_alike(store: Store) -> None:
    setup(store)
    refused(store, f"holds no authorisation for connection {OTHER.ean}", connection=OTHER)
    stranger = OTHER.from_body("87168714999999999")
    refused(store, f"holds no authorisation for connection {stranger.ean}", connection=stranger)
    assert [e.granted for e in store.audit_log(OTHER)] == [False]


def test_scope_hierarchy(store: Store) -> None:
    setup(store, scope=DAILY)
    refused(store, "covering hourly data", scope=HOURLY)
    assert store.readings_for_party(TOKEN, CONN, DAILY, T0, T0 + DAY, now=NOW) == []
    assert store.readings_for_party(TOKEN, CONN, MONTHLY, T0, T0 + DAY, now=NOW) == []
    assert [e.granted for e in store.audit_log(CONN)] == [False, True, True]


def test_authorisation_period(store: Store) -> None:
    setup(store)
    refused(store, "holds from .* not at", now=T0 + 401 * DAY, from_=T0 + 395 * DAY, to=T0 + 396 * DAY)
    refused(store, "holds from .* not at", now=T0 - HOUR, from_=T0 - 2 * HOUR, to=T0 - HOUR)
    refused(store, "after now", to=NOW + HOUR)


def test_revocation_is_immediate(store: Store) -> None:
    auth_id = setup(store)
    revoked = store.revoke(auth_id, NOW)
    assert revoked.revoked_at == NOW
    assert store.revoke(auth_id, NOW + DAY).revoked_at == NOW  # the first revocation stands
    assert store.authorisations(CONN) == [revoked]
    assert len(store.readings_for_party(TOKEN, CONN, HOURLY, T0, T0 + HOUR, now=NOW - timedelta(seconds=1))) == 2
    refused(store, f"authorisation {auth_id} was revoked at", now=NOW)
    with pytest.raises(InvalidInput, match="before authorisation"):
        store.revoke(setup_second(store), T0 - DAY)


def setup_second(store: Store) -> int:
    return store.authorise("supplier-1", OTHER, MONTHLY, valid_from=T0, valid_to=T0 + DAY, at=T0).authorisation_id


@pytest.mark.parametrize(
    ("scope", "depth"),
    [(HOURLY, timedelta(days=10)), (DAILY, timedelta(days=40))],
)
def test_history_depth_in_days(store: Store, scope: AuthScope, depth: timedelta) -> None:
    setup(store)
    now = T0 + 60 * DAY
    store.readings_for_party(TOKEN, CONN, scope, now - depth, now, now=now)
    refused(store, "goes back to .* only", scope=scope, from_=now - depth - HOUR, to=now, now=now)


def test_history_depth_monthly_is_13_calendar_months(store: Store) -> None:
    assert rules.history_start(MONTHLY, local(2025, 9, 15)) == local(2024, 8, 15)
    assert rules.history_start(MONTHLY, local(2025, 3, 31)) == local(2024, 2, 29)  # clamped to the month's end
    setup(store, scope=MONTHLY, consent=ConsentLevel.STANDARD)
    now = local(2026, 1, 15)
    refused(store, "monthly data goes back to 2024-12-14T23:00:00", scope=MONTHLY, from_=local(2024, 12, 1), to=now,
            now=now)
    assert store.readings_for_party(TOKEN, CONN, MONTHLY, local(2025, 1, 1), now, now=now) == []


def test_consent_still_rules(store: Store) -> None:
    setup(store, consent=ConsentLevel.STANDARD)
    refused(store, "P4 access refused: interval readings .* need detailed consent")
    month = reading(local(2025, 2, 1), "9.000", PeriodType.MONTHLY)
    store.store_readings([month])
    assert store.readings_for_party(TOKEN, CONN, MONTHLY, T0, local(2025, 2, 1), now=NOW + 30 * DAY) == [month]


def test_every_attempt_is_audited_in_order(store: Store) -> None:
    setup(store)
    store.readings_for_party(TOKEN, CONN, HOURLY, T0, T0 + HOUR, now=NOW)
    refused(store, "token", token="w" * 40)
    refused(store, "goes back", from_=NOW - 11 * DAY, to=NOW)
    store.readings_for_party(TOKEN, CONN, DAILY, T0, T0 + DAY, now=NOW + HOUR)
    log = store.audit_log(CONN)
    assert [(e.granted, e.party_id) for e in log] == [
        (True, "supplier-1"), (False, None), (False, "supplier-1"), (True, "supplier-1")]
    assert [e.entry_id for e in log] == sorted(e.entry_id for e in log)
    assert "SYSTEM C3" in log[2].reason


def test_party_for_token_finds_the_party_and_audits_nothing(store: Store) -> None:
    # The P4 API asks who holds a token to learn the party's kind (a supplier gets the SYSTEM G4 view).
    setup(store)
    assert store.party_for_token(TOKEN) == ThirdParty("supplier-1", "Energie BV", T0)
    assert store.party_for_token("z" * 43) is None
    assert store.audit_log(CONN) == []
