"""Random bodies, parameters, headers and paths: the P4 API answers 4xx JSON naming the problem, never
a 500 (the test client raises any server error), and every answer is as documented."""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterkast.central.store_sql import open_store
from tests.central.helpers import CONN, G_ID, counter_nonces
from tests.p4.conftest import check_against_document
from tests.p4.helpers import ADMIN, World, bearer, make_world

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FIELD_NAMES = ["name", "kind", "party_id", "scope", "valid_from", "valid_to", "from", "to", "extra", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Hypothesis takes naive bounds; the strategy adds no zone, UTC, or any zone (and so near-overflow offsets).
instants = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.none() | st.just(UTC) | st.timezones()).map(lambda d: d.isoformat())
plausible = st.one_of(json_values, instants, st.sampled_from(["hourly", "daily", "monthly", "supplier",
                                                               "independent", "supplier-x"]))
bodies = st.dictionaries(st.sampled_from(FIELD_NAMES), plausible, max_size=6) | json_values
printable = st.text(string.printable.strip(), max_size=40)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str, str]]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'cs.db'}", sealer=counter_nonces())
    world = make_world(store)
    with world.client:
        party_id, party = world.register()
        customer = world.customer()
        world.grant(customer, party_id)
        yield world, party, customer
    check_against_document(world)
    store.close()


def expect_4xx_or_success(answer: Any) -> None:
    assert answer.status_code < 500
    if answer.status_code >= 400:
        assert answer.json()["message"]


@FUZZ
@given(body=bodies)
def test_random_json_bodies(fuzzed: tuple[World, str, str], body: Any) -> None:
    world, _, customer = fuzzed
    expect_4xx_or_success(world.call("POST", "/p4/parties", json=body, headers=ADMIN))
    expect_4xx_or_success(world.call("POST", f"/p4/connections/{CONN.ean}/authorisations", json=body,
                                     headers=bearer(customer)))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_random_bytes_bodies(fuzzed: tuple[World, str, str], raw: bytes) -> None:
    world, _, customer = fuzzed
    expect_4xx_or_success(world.call("POST", f"/p4/connections/{CONN.ean}/authorisations", content=raw,
                                     headers=bearer(customer)))


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["scope", "from", "to", "x"]), st.one_of(instants, printable),
                             max_size=4),
       meter=st.none() | printable | st.just(G_ID), ean=st.one_of(st.just(CONN.ean), printable))
def test_random_read_requests(fuzzed: tuple[World, str, str], query: dict[str, str], meter: str | None,
                              ean: str) -> None:
    world, party, _ = fuzzed
    headers = bearer(party) | ({} if meter is None else {"X-Meter-Number": meter})
    path = f"/p4/connections/{quote(ean, safe='')}/readings"
    expect_4xx_or_success(world.call("GET", path, params=query, headers=headers))


@FUZZ
@given(authorization=printable, segment=printable)
def test_random_credentials_and_paths(fuzzed: tuple[World, str, str], authorization: str, segment: str) -> None:
    world, _, _ = fuzzed
    headers = {"Authorization": authorization}
    expect_4xx_or_success(world.call("GET", f"/p4/connections/{quote(segment, safe='')}/audit", headers=headers))
    expect_4xx_or_success(world.call("DELETE", f"/p4/connections/{CONN.ean}/authorisations/{quote(segment, safe='')}",
                                     headers=headers))
