"""Consent with history, and the store's refusal to hold or hand out readings without it (SYSTEM C2, E3).

The rule (rules.REQUIRED_CONSENT, citing SYSTEM C2): NONE → no readings; STANDARD → monthly only;
DETAILED (explicit consent) → daily and hourly too.
"""

from __future__ import annotations

import re

import pytest

from meterkast.central.model import Consent, ConsentLevel, PeriodType
from meterkast.central.store import Store
from meterkast.errors import ClockError, ConsentRefused, InvalidInput
from tests.central.helpers import CONN, DAY, OTHER, T0, install, local, reading

NONE, STANDARD, DETAILED = ConsentLevel.NONE, ConsentLevel.STANDARD, ConsentLevel.DETAILED


def test_consent_history_and_consent_at(store: Store) -> None:
    install(store, consent=None)
    assert store.consent_at(CONN, T0) is NONE  # nothing recorded: nothing assumed
    store.set_consent(CONN, STANDARD, T0, T0)
    store.set_consent(CONN, DETAILED, T0 + 10 * DAY, T0 + 9 * DAY)
    store.set_consent(CONN, NONE, T0 + 20 * DAY, T0 + 20 * DAY)
    assert store.consent_at(CONN, T0 - DAY) is NONE
    assert store.consent_at(CONN, T0) is STANDARD
    assert store.consent_at(CONN, T0 + 10 * DAY - DAY / 24) is STANDARD
    assert store.consent_at(CONN, T0 + 10 * DAY) is DETAILED
    assert store.consent_at(CONN, T0 + 30 * DAY) is NONE
    assert store.consent_history(CONN) == [
        Consent(CONN, STANDARD, T0, T0),
        Consent(CONN, DETAILED, T0 + 10 * DAY, T0 + 9 * DAY),
        Consent(CONN, NONE, T0 + 20 * DAY, T0 + 20 * DAY),
    ]


def test_consent_is_append_only_and_not_backdated(store: Store) -> None:
    install(store, consent=None)
    store.set_consent(CONN, STANDARD, T0 + DAY, T0)
    store.set_consent(CONN, STANDARD, T0 + DAY, T0)  # the same again: no-op
    with pytest.raises(InvalidInput, match="already standard; it cannot become detailed"):
        store.set_consent(CONN, DETAILED, T0 + DAY, T0)
    with pytest.raises(InvalidInput, match="cannot be backdated"):
        store.set_consent(CONN, DETAILED, T0 + 2 * DAY, T0 + 3 * DAY)
    store.set_consent(CONN, DETAILED, T0 + 5 * DAY, T0 + 5 * DAY)
    with pytest.raises(InvalidInput, match="append-only"):
        store.set_consent(CONN, NONE, T0 + 4 * DAY, T0 + 4 * DAY)
    assert len(store.consent_history(CONN)) == 2


def test_consent_bad_input(store: Store) -> None:
    with pytest.raises(InvalidInput, match=f"connection {OTHER.ean} is unknown"):
        store.set_consent(OTHER, STANDARD, T0, T0)
    with pytest.raises(InvalidInput, match=f"connection {OTHER.ean} is unknown"):
        store.consent_at(OTHER, T0)
    with pytest.raises(ClockError, match=r"valid_from .* no time zone"):
        store.set_consent(CONN, STANDARD, T0.replace(tzinfo=None), T0)
    with pytest.raises(InvalidInput, match="consent level 'detailed' is not one of"):
        store.set_consent(CONN, "detailed", T0, T0)  # type: ignore[arg-type]


MONTH_START = local(2025, 2, 1)


@pytest.mark.parametrize(
    ("level", "period", "allowed"),
    [
        (NONE, PeriodType.MONTHLY, False),
        (NONE, PeriodType.DAILY, False),
        (NONE, PeriodType.INTERVAL, False),
        (STANDARD, PeriodType.MONTHLY, True),
        (STANDARD, PeriodType.DAILY, False),  # SYSTEM C2: daily readings need explicit consent
        (STANDARD, PeriodType.INTERVAL, False),
        (DETAILED, PeriodType.MONTHLY, True),
        (DETAILED, PeriodType.DAILY, True),
        (DETAILED, PeriodType.INTERVAL, True),
    ],
)
def test_store_and_return_follow_consent(store: Store, level: ConsentLevel, period: PeriodType, allowed: bool) -> None:
    install(store, consent=level)
    sample = reading(MONTH_START, "42.000", period)
    now = MONTH_START + DAY
    if allowed:
        assert store.store_readings([sample]) == 1
        assert store.readings(CONN, period, MONTH_START, MONTH_START, now=now) == [sample]
        return
    with pytest.raises(ConsentRefused, match=rf"{period.value} readings of connection {CONN.ean} .* consent in force"):
        store.store_readings([sample])
    with pytest.raises(ConsentRefused, match=f"consent in force then is {level.value}"):
        store.readings(CONN, period, MONTH_START, MONTH_START, now=now)


def test_withdrawal_takes_effect_at_once(store: Store) -> None:
    install(store, consent=DETAILED)
    sample = reading(T0 + DAY, "1.000")
    store.store_readings([sample])
    store.set_consent(CONN, STANDARD, T0 + 3 * DAY, T0 + 3 * DAY)
    assert store.readings(CONN, PeriodType.INTERVAL, T0, T0 + DAY, now=T0 + 2 * DAY) == [sample]
    with pytest.raises(ConsentRefused, match="consent in force now is standard"):
        store.readings(CONN, PeriodType.INTERVAL, T0, T0 + DAY, now=T0 + 3 * DAY)
    late = reading(T0 + 2 * DAY, "2.000", log_delay=DAY)  # captured under DETAILED, logged after withdrawal
    with pytest.raises(ConsentRefused, match="storing interval readings"):
        store.store_readings([late])


def test_raising_consent_does_not_reach_back(store: Store) -> None:
    install(store, consent=STANDARD)
    store.set_consent(CONN, DETAILED, T0 + 5 * DAY, T0 + 5 * DAY)
    with pytest.raises(ConsentRefused, match="consent in force then is standard"):
        store.store_readings([reading(T0 + DAY, "1.000", log_delay=6 * DAY)])
    # A range that straddles the change is refused as a whole, naming the first instant without consent.
    with pytest.raises(ConsentRefused, match=re.escape(T0.isoformat())):
        store.readings(CONN, PeriodType.INTERVAL, T0, T0 + 6 * DAY, now=T0 + 6 * DAY)
    assert store.readings(CONN, PeriodType.INTERVAL, T0 + 5 * DAY, T0 + 6 * DAY, now=T0 + 6 * DAY) == []


def test_a_refused_batch_stores_nothing(store: Store) -> None:
    install(store, consent=STANDARD)
    monthly = reading(MONTH_START, "5.000", PeriodType.MONTHLY)
    hourly = reading(MONTH_START + DAY, "5.100")
    with pytest.raises(ConsentRefused):
        store.store_readings([monthly, hourly])
    assert store.readings(CONN, PeriodType.MONTHLY, T0, MONTH_START, now=MONTH_START + 2 * DAY) == []
