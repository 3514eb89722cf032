"""``/api/supplier/{kind}``: the supplier's figures from the E-meter's gas profile (SYSTEM G4; manual §9,
Drukaanpassing). The fake control files profiles from the real gas meter model (tests/web/fake_control.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from meterkast.supplier.schema import SUPPLIER_VIEW
from meterkast.web.app import create_app
from meterkast.web.schema import check

ZONE = ZoneInfo("Europe/Amsterdam")
FACTOR_2015 = Decimal("1043.5") / Decimal("1041.25")  # ACM 2015 air pressure over the meter's assumption


def view(client: TestClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return check(response.json(), SUPPLIER_VIEW, path)  # type: ignore[no-any-return]


def test_hourly_periods_follow_the_profile_and_carry_the_2015_correction(client: TestClient) -> None:
    assert client.post("/api/clock/jump", json={"seconds": 3 * 86400}).status_code == 200
    profile = [e for e in client.get("/api/emeter/profiles/hourly").json() if e["value_m3"] is not None]
    body = view(client, "/api/supplier/hourly")
    assert len(body["periods"]) == len(profile) - 1 and body["granularity"] == "reading"
    metered = Decimal(profile[-1]["value_m3"]) - Decimal(profile[0]["value_m3"])
    total = body["total"]
    assert Decimal(total["metered_m3"]) == metered > 0
    assert Decimal(total["corrected_m3"]) == (metered * FACTOR_2015).quantize(Decimal("0.001"))
    mj = metered * FACTOR_2015 * Decimal("35.17")
    assert abs(Decimal(total["energy_mj"]) - mj) <= Decimal("0.0005")
    assert abs(Decimal(total["energy_kwh"]) - mj / Decimal("3.6")) <= Decimal("0.0005")
    assert {p["pressure_factor"] for p in body["periods"]} == {"1.002160864"}
    assert {p["name"] for p in body["parameters"]} >= {"pressure_factor", "calorific_value", "atmospheric_pressure"}


def test_days_from_hourly_values_start_at_local_midnight(client: TestClient) -> None:
    client.post("/api/clock/jump", json={"seconds": 3 * 86400})
    days = view(client, "/api/supplier/hourly?by=day")["periods"]
    assert len(days) >= 2
    for period in days:
        start = datetime.fromisoformat(period["start"]).astimezone(ZONE)
        assert (start.hour, start.minute) == (0, 0)
    hours = view(client, "/api/supplier/hourly")["periods"]
    inside = [h for h in hours if days[0]["start"] <= h["start"] < days[0]["end"]]
    assert len(inside) == 24
    assert sum(Decimal(h["metered_m3"]) for h in inside) == Decimal(days[0]["metered_m3"])


def test_daily_profile_gives_a_period_per_day(client: TestClient) -> None:
    client.post("/api/clock/jump", json={"seconds": 4 * 86400})
    daily = [e for e in client.get("/api/emeter/profiles/daily").json() if e["value_m3"] is not None]
    body = view(client, "/api/supplier/daily?channel=1")
    assert len(body["periods"]) == len(daily) - 1 >= 2


def test_an_empty_channel_has_no_total(client: TestClient) -> None:
    assert view(client, "/api/supplier/monthly?channel=2")["total"] is None


@pytest.mark.parametrize(("path", "field"), [
    ("/api/supplier/weekly", "path.kind"),
    ("/api/supplier/hourly?by=week", "query.by"),
    ("/api/supplier/hourly?channel=5", "query.channel"),
])
def test_bad_requests_name_the_field(client: TestClient, path: str, field: str) -> None:
    response = client.get(path)
    assert response.status_code == 400 and field in response.json()["message"]


def test_over_the_real_live_session_the_view_names_the_coupled_meter() -> None:
    """The same route over ``meterkast run``'s session (tests/web/test_live_session.py builds it)."""
    from tests.web.test_live_session import live_session  # noqa: PLC0415 - skips when the session is absent

    with TestClient(create_app(live_session())) as live:
        assert live.post("/api/clock/jump", json={"seconds": 2 * 86400}).status_code == 200
        profile = [e for e in live.get("/api/emeter/profiles/hourly").json() if e["value_m3"] is not None]
        body = view(live, "/api/supplier/hourly?by=day")
        equipment = live.get("/api/state").json()["emeter"]["channels"][0]["equipment_id"]
        assert body["periods"] and {p["gas_meter"] for p in body["periods"]} == {equipment}
        hours = view(live, "/api/supplier/hourly")["total"]
        assert Decimal(hours["metered_m3"]) == Decimal(profile[-1]["value_m3"]) - Decimal(profile[0]["value_m3"])


def test_the_view_is_of_the_gas_meter_never_of_a_water_or_heat_meter() -> None:
    """water-heat.toml has the water meter on channel 1, gas on 2, heat on 3 [P1-4.2.2 §6.3–6.5]. The supplier's
    view is of gas (SYSTEM G4: pressure correction and 35.17 MJ/m³(n)): without a channel it is the gas meter's,
    and a water (m³ water) or heat (GJ) channel is refused, not invoiced as gas."""
    from tests.live.helpers import make_session  # noqa: PLC0415 - the live session of ``meterkast run``

    with TestClient(create_app(make_session(scenario="water-heat"))) as live:
        assert live.post("/api/clock/jump", json={"seconds": 2 * 86400}).status_code == 200
        body = view(live, "/api/supplier/hourly")
        assert body["periods"] and {p["gas_meter"] for p in body["periods"]} == {"G0001123456789012"}
        for channel, kind in ((1, "water"), (3, "heat")):
            response = live.get(f"/api/supplier/hourly?channel={channel}")
            assert response.status_code == 409 and kind in response.json()["message"], response.text
