"""A supplier's P4 read carries the supplier view (SYSTEM G4; manual §9 Drukaanpassing: "De correctie wordt
administratief via de factuur van uw energieleverancier verwerkt"); an independent party's does not.

Worked values: the world's register grows 0.123 m³ an hour from 100.000 m³ (tests/central/helpers.hourly).
In 2025 the ACM air pressure 1015.5 mbar applies, factor 1043.5 / 1041.25 = 4174/4165:
one hour 0.123 → 0.12326579 m³(n) → 4.3352577 MJ → 1.2042383 kWh;
one day 2.952 → 2.9583789 m³(n) → 104.0461849 MJ → 28.9017180 kWh.
Every answer is also held to the OpenAPI document (tests/p4/conftest.py).
"""

from __future__ import annotations

from meterkast.central.model import AuthScope
from meterkast.emeter.profiles import PeriodType
from tests.central.helpers import DAY, G_ID, T0, reading
from tests.p4.helpers import World, bearer, iso, refused


def _authorised(world: World, kind: str, scope: AuthScope = AuthScope.HOURLY) -> str:
    party_id, token = world.register(f"{kind} BV", kind)
    assert world.grant(world.customer(), party_id, scope).status_code == 201
    return token


def test_a_supplier_gets_per_hour_and_per_day_figures_with_cited_parameters(world: World) -> None:
    answer = world.read(_authorised(world, "supplier"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    view = body["supplier"]
    assert len(body["readings"]) == 25 and len(view["periods"]) == 24 and view["granularity"] == "reading"
    first = view["periods"][0]
    assert first == {
        "start": iso(T0), "end": iso(T0 + DAY / 24), "gas_meter": G_ID,
        "index_start_m3": "100.000", "index_end_m3": "100.123", "pressure_factor": "1.002160864",
        "metered_m3": "0.123", "corrected_m3": "0.123", "energy_mj": "4.335", "energy_kwh": "1.204",
    }
    assert view["total"] == {"start": iso(T0), "end": iso(T0 + DAY), "periods": 24, "metered_m3": "2.952",
                             "corrected_m3": "2.958", "energy_mj": "104.046", "energy_kwh": "28.902"}
    cited = {(p["name"], p["valid_from"]): (p["value"], p["source"]) for p in view["parameters"]}
    since_2015 = "2014-12-31T23:00:00+00:00"
    assert cited[("atmospheric_pressure", since_2015)][0] == "1015.5"
    assert "ACM Codebesluit Administratieve Volumeherleiding" in cited[("atmospheric_pressure", since_2015)][1]
    assert cited[("calorific_value", None)][0] == "35.17"
    assert view["skipped"] == []


def test_a_daily_scope_gives_a_period_per_day(world: World) -> None:
    token = _authorised(world, "supplier", AuthScope.DAILY)
    assert world.read(token, "daily").json()["supplier"]["total"] is None  # no daily values stored yet
    world.store.store_readings([reading(T0 + n * DAY, value, PeriodType.DAILY)
                                for n, value in enumerate(("100.000", "103.500", "110.000"))])
    answer = world.read(token, "daily", start=T0, end=T0 + 2 * DAY)
    assert answer.status_code == 200, answer.text
    periods = answer.json()["supplier"]["periods"]
    assert [(p["metered_m3"], p["corrected_m3"]) for p in periods] == [("3.500", "3.508"), ("6.500", "6.514")]
    assert answer.json()["supplier"]["total"]["energy_kwh"] == "97.906"  # 10 × 4174/4165 × 35.17 / 3.6 = 97.9055


def test_an_independent_party_gets_the_readings_only(world: World) -> None:
    answer = world.read(_authorised(world, "independent"))
    assert answer.status_code == 200, answer.text
    assert "supplier" not in answer.json() and len(answer.json()["readings"]) == 25


def test_a_refused_supplier_gets_no_figures(world: World) -> None:
    token = _authorised(world, "supplier")
    body = refused(world.read(token, meter="G0000000000000000"), 403, "wrong_meter_number")
    assert "supplier" not in body


def test_the_store_finds_a_party_by_its_token_only(world: World) -> None:
    party_id, token = world.register("Gas BV", "supplier")
    found = world.store.party_for_token(token)
    assert found is not None and (found.party_id, found.name) == (party_id, "Gas BV")
    assert world.store.party_for_token("x" * 43) is None
    assert world.call("GET", "/p4/openapi.json", headers=bearer(token)).status_code == 200
