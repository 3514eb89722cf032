"""The API over the real ``LiveSession`` (meterkast.live.session): the same contract as over the fake.

The session is built in-process on a simulated clock that only moves when the API jumps it (no runner),
so every answer is exact: what the LCD shows is the index, hour by hour the truth and P1 agree.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from meterkast.clock import SimClock
from meterkast.p1.crc import crc16, parse_crc
from meterkast.web.api import PROFILE_ENTRY, ROUTES, STATE, TELEGRAM, TRUTH_HOUR, arr
from meterkast.web.app import create_app
from meterkast.web.schema import check

session_module = pytest.importorskip("meterkast.live.session")
from meterkast.sim.installation import Installation  # noqa: E402 - after the skip: same package family
from meterkast.sim.p2_link import P2GasLink  # noqa: E402

T0 = datetime(2026, 1, 12, 6, 0, tzinfo=UTC)


def live_session() -> Any:
    rng = random.Random(5)
    installation = Installation.build(T0, rng, link=P2GasLink(rng))
    world = session_module.World(
        installation, rng, "4", session_module.P1Faults(), random.Random(55), first_hour=T0,
    )
    return session_module.LiveSession(world, SimClock(T0), 1.0)


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(live_session())) as test_client:
        yield test_client


def state(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/state")
    assert response.status_code == 200
    return check(response.json(), STATE, "state")  # type: ignore[no-any-return]


def test_every_documented_read_answers_with_its_documented_shape(client: TestClient) -> None:
    assert client.post("/api/clock/jump", json={"seconds": 3 * 3600}).status_code == 200
    for op in ROUTES:
        if op.method != "GET":
            continue
        path = op.path.replace("{kind}", "hourly")
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
        check(response.json(), op.response, path)


def test_button_lcd_seal_and_valve_behave_as_the_model(client: TestClient) -> None:
    assert state(client)["gas_meter"]["lcd"]["segments"]["lit"] is False
    client.post("/api/meter/button", json={"hold_s": 0.2})
    meter = state(client)["gas_meter"]
    assert Decimal(meter["lcd"]["text"]) == Decimal(meter["index_m3"])  # the clock stands still here
    client.post("/api/meter/button", json={"hold_s": 10.5})
    meter = state(client)["gas_meter"]
    assert meter["lcd"]["text"].replace(" ", "") == "L" + meter["firmware"]["legal"]["version"]
    client.post("/api/meter/seal/break")
    after = state(client)
    assert after["gas_meter"]["lcd"]["segments"]["triangle"]
    assert after["events"][0]["kind"] == "SealBroken"
    refused = client.post("/api/meter/valve", json={"action": "close"})
    assert refused.status_code == 409
    assert "valve" in refused.json()["message"]
    assert state(client)["events"][0]["kind"] == "ValveCommandRefused"


def test_a_jump_fills_profiles_truth_and_a_checked_p1_stream(client: TestClient) -> None:
    assert client.post("/api/clock/jump", json={"seconds": 2 * 86400}).status_code == 200
    hourly = check(client.get("/api/emeter/profiles/hourly").json(), arr(PROFILE_ENTRY), "hourly")
    assert len(hourly) >= 40
    truth = check(client.get("/api/truth?hours=24").json(), arr(TRUTH_HOUR), "truth")
    assert len(truth) == 24
    assert all(h["p1_value_m3"] is not None for h in truth)
    telegrams = check(client.get("/api/p1/telegrams").json(), arr(TELEGRAM), "telegrams")
    assert telegrams
    for telegram in telegrams:
        text = telegram["text"]
        bang = text.rindex("!")
        assert crc16(text[: bang + 1].encode("ascii")) == parse_crc(text[bang + 1 :].strip())
        assert telegram["crc_ok"] is True


def test_an_injected_p1_crc_fault_shows_in_the_stream(client: TestClient) -> None:
    assert client.post("/api/faults", json={"kind": "p1_crc_error", "value": 1}).status_code == 200
    client.post("/api/clock/jump", json={"seconds": 2 * 3600})
    newest = client.get("/api/p1/telegrams").json()[-1]
    assert newest["crc_ok"] is False
