"""The API over the real ``LiveSession`` (meterkast.live.session): the same contract as over the fake.

The session is built in-process on a simulated clock that only moves when the API jumps it (no runner),
so every answer is exact: what the LCD shows is the index, hour by hour the truth and P1 agree. The central
system panel is checked both without a CS (``enabled`` false, consent 409) and with the real one
(``live.cs_link``: a CentralSystem reading the session's E-meter over P3 TCP on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from meterkast.central.model import ConsentLevel
from meterkast.clock import SimClock
from meterkast.errors import CommandRefused, InvalidInput
from meterkast.live.cs_link import CsOptions, start_cs_link
from meterkast.p1.crc import crc16, parse_crc
from meterkast.web.api import CONSENT, CS_RUNNING, PROFILE_ENTRY, ROUTES, STATE, TELEGRAM, TRUTH_HOUR, arr
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


def test_without_a_cs_the_panel_says_so_and_consent_is_refused(client: TestClient) -> None:
    assert client.get("/api/cs").json() == {"enabled": False}
    refused = client.post("/api/cs/consent", json={"level": "detailed"})
    assert refused.status_code == 409
    assert refused.json()["error"] == "CommandRefused" and "meterkast run --cs" in refused.json()["message"]
    session = live_session()
    with pytest.raises(InvalidInput, match="'full' is not one of none, standard, detailed"):
        session.set_consent("full")  # the session checks too, not only the API's schema
    with pytest.raises(CommandRefused):
        session.set_consent("none")


def test_with_a_cs_the_api_shows_refusals_then_reads_after_a_consent_change(tmp_path: Path) -> None:
    """The real CS next to the real session, through the API: consent none refuses every profile; detailed,
    set through the API, lets the next rounds read the hourly values filed after it."""
    session = live_session()
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.NONE)

    async def hours(link: Any, count: int) -> None:
        for _ in range(count):
            session.step(session.now + timedelta(hours=1))
            link.sync_couplings()
            await link.cs.step(session.now)

    async def main() -> tuple[Any, Any, Any]:
        link = await start_cs_link(session, options)
        transport = httpx.ASGITransport(app=create_app(session))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://meterkast") as api:
                await hours(link, 3)
                refusing = (await api.get("/api/cs")).json()
                changed = await api.post("/api/cs/consent", json={"level": "detailed"})
                assert changed.status_code == 200, changed.text
                await hours(link, 3)
                reading = (await api.get("/api/cs")).json()
        finally:
            await link.close()
        return refusing, changed.json(), reading

    refusing, changed, reading = asyncio.run(main())
    check(refusing, CS_RUNNING, "cs")
    assert refusing["consent"] == "none" and refusing["last_reads"] == []
    assert {r["period_type"] for r in refusing["refused"]} == {"monthly", "daily", "interval"}
    assert refusing["stats"]["rows_stored"] == 0 and refusing["refused_total"] >= 3
    assert check(changed, CONSENT, "consent")["level"] == "detailed"
    check(reading, CS_RUNNING, "cs")
    assert reading["consent"] == "detailed"
    assert [c["level"] for c in reading["consent_history"]] == ["none", "detailed"]
    hourly = [r for r in reading["last_reads"] if r["period_type"] == "interval"]
    assert hourly and sum(r["stored"] for r in hourly) == reading["stats"]["rows_stored"] >= 2
    assert all(r["first"] >= changed["valid_from"] for r in hourly)  # consent does not reach back (SYSTEM C2)
    assert session.cs is None and session.cs_status() == {"enabled": False}  # closed: detached
