"""The JSON API over a Control backed by the real gas meter model (issue 5; SYSTEM G7–G12)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from starlette.testclient import TestClient

from meterkast.errors import ClockError, CommandRefused, InvalidInput, PortDisabled
from meterkast.p1.crc import crc16, parse_crc
from meterkast.web.api import (
    CONSENT,
    CS_RUNNING,
    CS_STATUS,
    EVENT,
    PROFILE_ENTRY,
    ROUTES,
    STATE,
    TELEGRAM,
    TRUTH_HOUR,
    arr,
)
from meterkast.web.app import STATIC, create_app
from meterkast.web.schema import check
from tests.web.fake_control import FakeControl


def state(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/state")
    assert response.status_code == 200
    return check(response.json(), STATE, "state")  # type: ignore[no-any-return]


def lcd(client: TestClient) -> dict[str, Any]:
    return state(client)["gas_meter"]["lcd"]  # type: ignore[no-any-return]


def test_state_has_the_documented_shape_and_a_dark_lcd(client: TestClient) -> None:
    body = state(client)
    assert body["gas_meter"]["display_state"] == "off"  # SYSTEM G7: off by default
    assert body["gas_meter"]["lcd"]["segments"]["lit"] is False


def test_a_click_shows_the_reading_on_the_lcd(client: TestClient, fake: FakeControl) -> None:
    response = client.post("/api/meter/button", json={"hold_s": 0.2})
    assert response.status_code == 200
    shown = lcd(client)
    assert shown["segments"]["lit"] and shown["segments"]["unit_m3"]
    assert re.fullmatch(r"\d{5}\.\d{3}", shown["text"])
    assert abs(Decimal(shown["text"]) - fake.meter.index_m3) < Decimal("0.01")
    assert fake.calls[-1] == ("press_button", (0.2,))


def test_an_empty_body_is_a_short_press(client: TestClient) -> None:
    assert client.post("/api/meter/button").status_code == 200
    assert state(client)["gas_meter"]["display_state"] == "reading"


def test_holding_more_than_ten_seconds_shows_the_legal_firmware_version(client: TestClient) -> None:
    client.post("/api/meter/button", json={"hold_s": 11})
    body = state(client)["gas_meter"]
    assert body["display_state"] == "test-firmware"  # SYSTEM G8
    version = body["firmware"]["legal"]["version"]
    assert body["lcd"]["text"].startswith("L")
    assert body["lcd"]["text"].replace(" ", "")[1:] == version


def test_ten_seconds_exactly_is_still_a_short_press(client: TestClient) -> None:
    client.post("/api/meter/button", json={"hold_s": 10})
    assert state(client)["gas_meter"]["display_state"] == "reading"


def test_test_mode_steps_like_the_model(client: TestClient) -> None:
    client.post("/api/meter/button", json={"hold_s": 12})
    seen = []
    for _ in range(4):
        client.post("/api/meter/button", json={"hold_s": 0.3})
        seen.append(state(client)["gas_meter"]["display_state"])
    assert seen == ["test-all-on", "test-all-off", "test-reading", "test-firmware"]


def test_breaking_the_seal_lights_the_triangle_and_logs_an_event(client: TestClient) -> None:
    client.post("/api/meter/button", json={"hold_s": 0.2})
    assert client.post("/api/meter/seal/break").status_code == 200
    body = state(client)
    assert body["gas_meter"]["seal_broken"] and body["gas_meter"]["alarm"]
    assert body["gas_meter"]["lcd"]["segments"]["triangle"]  # SYSTEM G9, G11
    assert body["events"][0]["kind"] == "SealBroken"


def test_reseal_needs_an_operator_and_clears_the_alarm(client: TestClient) -> None:
    client.post("/api/meter/seal/break")
    refused = client.post("/api/meter/seal/restore", json={"operator": "  "})
    assert refused.status_code == 400
    assert "operator" in refused.json()["message"]
    assert client.post("/api/meter/seal/restore", json={"operator": "Liander"}).status_code == 200
    assert not state(client)["gas_meter"]["alarm"]


@pytest.mark.parametrize("action", ["open", "close", "release"])
def test_the_valve_is_always_refused_visibly(client: TestClient, action: str) -> None:
    response = client.post("/api/meter/valve", json={"action": action})
    assert response.status_code == 409  # SYSTEM G12: refused, and the refusal is visible
    body = response.json()
    assert body["error"] == "ValveOperationRefused"
    assert "valve" in body["message"]
    assert body["refusal"]["action"] == action
    after = state(client)
    assert after["gas_meter"]["valve"] == "open"
    assert after["events"][0]["kind"] == "ValveCommandRefused"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/meter/button", {"hold_s": -1}, "body.hold_s"),
        ("/api/meter/button", {"hold_s": "long"}, "body.hold_s"),
        ("/api/meter/button", {"hold_s": True}, "body.hold_s"),
        ("/api/meter/button", {"hold": 1}, "unknown field"),
        ("/api/meter/button", [0.2], "expected object"),
        ("/api/meter/valve", {"action": "explode"}, "body.action"),
        ("/api/meter/valve", {}, "'action'"),
        ("/api/meter/gas-temperature", {"celsius": 90}, "body.celsius"),
        ("/api/meter/battery/drain", {"fraction": 1.5}, "body.fraction"),
        ("/api/clock/speed", {"speed": 0}, "body.speed"),
        ("/api/clock/jump", {"seconds": -60}, "body.seconds"),
        ("/api/clock/jump", {"seconds": 1e12}, "body.seconds"),  # was an OverflowError, a 500
        ("/api/clock/jump", {"seconds": 31 * 86400 + 1}, "body.seconds"),  # would stall the server's loop
        ("/api/faults", {"kind": "p3_gremlins", "value": 1}, "body.kind"),
        ("/api/faults", {"kind": "p1_crc_error", "value": 2}, "body.value"),
    ],
)
def test_invalid_input_is_400_naming_the_field(client: TestClient, path: str, body: Any, field: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidInput"
    assert field in response.json()["message"]


def test_json_nested_too_deeply_is_400_not_a_500(client: TestClient) -> None:
    body = b"[" * 20000 + b"]" * 20000
    response = client.post("/api/meter/gas-temperature", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["message"]


def test_a_body_that_is_not_json_is_400(client: TestClient) -> None:
    response = client.post("/api/meter/button", content=b"{hold_s: 1", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "not JSON" in response.json()["message"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/events?after_seq=abc", "query.after_seq"),
        ("/api/events?after_seq=-1", "query.after_seq"),
        ("/api/truth?hours=0", "query.hours"),
        ("/api/emeter/profiles/weekly", "path.kind"),
        ("/api/emeter/profiles/hourly?channel=9", "query.channel"),
    ],
)
def test_invalid_query_is_400(client: TestClient, url: str, field: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert field in response.json()["message"]


def test_errors_from_the_control_map_to_400_and_409(fake: FakeControl, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(operator: str) -> None:
        raise PortDisabled(f"{operator} may not: P0 was disabled for good")

    def invalid(fraction: float) -> None:
        raise InvalidInput(f"fraction {fraction} is wrong")

    monkeypatch.setattr(fake, "reseal", refuse)
    monkeypatch.setattr(fake, "drain_battery", invalid)
    with TestClient(create_app(fake)) as client:
        refused = client.post("/api/meter/seal/restore", json={"operator": "Liander"})
        assert refused.status_code == 409
        assert refused.json() == {"error": "PortDisabled", "message": "Liander may not: P0 was disabled for good"}
        assert issubclass(PortDisabled, CommandRefused)
        bad = client.post("/api/meter/battery/drain", json={"fraction": 0.5})
        assert bad.status_code == 400
        assert bad.json()["message"] == "fraction 0.5 is wrong"


@pytest.mark.parametrize("error", [RuntimeError("a bug"), ClockError("time went back inside the session")])
def test_other_errors_are_not_swallowed(fake: FakeControl, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def broken() -> None:
        raise error

    monkeypatch.setattr(fake, "break_seal", broken)
    with TestClient(create_app(fake)) as client, pytest.raises(type(error), match=str(error)):
        client.post("/api/meter/seal/break")
    with TestClient(create_app(fake), raise_server_exceptions=False) as client:
        assert client.post("/api/meter/seal/break").status_code == 500


def test_clock_jump_fills_profiles_truth_and_telegrams(client: TestClient) -> None:
    before = state(client)["clock"]["now"]
    assert client.post("/api/clock/jump", json={"seconds": 2 * 86400}).status_code == 200
    after = state(client)["clock"]["now"]
    assert after > before
    hourly = check(client.get("/api/emeter/profiles/hourly").json(), arr(PROFILE_ENTRY), "hourly")
    assert len(hourly) >= 47
    daily = check(client.get("/api/emeter/profiles/daily?channel=1").json(), arr(PROFILE_ENTRY), "daily")
    assert len(daily) >= 1
    truth = check(client.get("/api/truth?hours=24").json(), arr(TRUTH_HOUR), "truth")
    assert len(truth) == 24
    assert all(Decimal(h["consumed_m3"]) >= 0 for h in truth)
    assert check(client.get("/api/events?after_seq=0").json(), arr(EVENT), "events") is not None


def test_telegrams_carry_a_crc_that_checks(client: TestClient) -> None:
    client.post("/api/clock/jump", json={"seconds": 3600})
    telegrams = check(client.get("/api/p1/telegrams").json(), arr(TELEGRAM), "telegrams")
    assert telegrams
    for telegram in telegrams:
        text = telegram["text"]
        bang = text.rindex("!")
        assert (crc16(text[: bang + 1].encode("ascii")) == parse_crc(text[bang + 1 :].strip())) is telegram["crc_ok"]
    last = telegrams[-1]["seq"]
    assert client.get(f"/api/p1/telegrams?after_seq={last}").json() == []


def test_an_injected_crc_fault_shows_in_the_stream(client: TestClient) -> None:
    assert client.post("/api/faults", json={"kind": "p1_crc_error", "value": 1}).status_code == 200
    client.post("/api/clock/jump", json={"seconds": 60})
    newest = client.get("/api/p1/telegrams").json()[-1]
    assert newest["crc_ok"] is False
    assert client.post("/api/faults", json={"kind": "p1_crc_error", "value": False}).status_code == 200


def test_speed_gas_temperature_and_battery_reach_the_control(client: TestClient, fake: FakeControl) -> None:
    assert client.post("/api/clock/speed", json={"speed": None}).status_code == 200
    assert state(client)["clock"]["speed"] is None
    assert client.post("/api/clock/speed", json={"speed": 60}).status_code == 200
    assert state(client)["clock"]["speed"] == 60
    assert client.post("/api/meter/gas-temperature", json={"celsius": -5.5}).status_code == 200
    assert fake.meter.gas_temp_c == Decimal("-5.5")
    assert client.post("/api/meter/gas-temperature", json={"celsius": None}).status_code == 200
    assert client.post("/api/meter/battery/drain", json={"fraction": 0.5}).status_code == 200
    assert state(client)["gas_meter"]["battery"]["fraction"] < 0.51


def cs(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/cs")
    assert response.status_code == 200
    return check(response.json(), CS_RUNNING, "cs")  # type: ignore[no-any-return]


def test_the_cs_shows_what_it_read_and_what_consent_refused(client: TestClient, fake: FakeControl) -> None:
    client.post("/api/clock/jump", json={"seconds": 2 * 86400})
    before = cs(client)
    assert before["enabled"] is True and before["consent"] == "standard"
    assert {r["period_type"] for r in before["refused"]} == {"daily", "interval"}  # SYSTEM C2: detailed only
    assert all(r["consent"] == "standard" and r["required"] == "detailed" for r in before["refused"])
    assert before["last_reads"] == [] and before["stats"]["rows_stored"] == 0

    changed = client.post("/api/cs/consent", json={"level": "detailed"})
    assert changed.status_code == 200
    assert check(changed.json(), CONSENT, "consent")["level"] == "detailed"
    assert fake.calls[-1] == ("set_consent", ("detailed",))
    client.post("/api/clock/jump", json={"seconds": 3 * 3600})
    after = cs(client)
    assert after["consent"] == "detailed"
    assert [c["level"] for c in after["consent_history"]] == ["standard", "detailed"]
    assert [r["period_type"] for r in after["last_reads"]] == ["interval"] * 3  # newest first
    assert after["stats"]["rows_stored"] == 3
    assert after["refused"] == before["refused"]  # nothing refused since


def test_a_consent_outside_the_three_levels_is_400(client: TestClient) -> None:
    for body, field in (({"level": "full"}, "body.level"), ({}, "'level'"), ({"level": "none", "x": 1}, "x")):
        response = client.post("/api/cs/consent", json=body)
        assert response.status_code == 400, body
        assert field in response.json()["message"]


def test_without_a_cs_the_panel_is_disabled_and_consent_is_409() -> None:
    with TestClient(create_app(FakeControl(cs=None))) as client:
        response = client.get("/api/cs")
        assert check(response.json(), CS_STATUS, "cs") == {"enabled": False}
        refused = client.post("/api/cs/consent", json={"level": "detailed"})
        assert refused.status_code == 409
        assert "meterkast run --cs" in refused.json()["message"]


def test_the_page_and_its_assets_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="red-button"' in page.text
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    # No CDN: every src/href of the page is local (or an inline data: URL).
    for url in re.findall(r'(?:src|href)="([^"]*)"', page.text):
        assert url.startswith(("/", "#", "data:")), url
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    assert not re.search(r"fetch\(\s*[\"'`]https?:", script)
    assert not re.search(r"@import\s+url\(\s*[\"']?https?:", (STATIC / "style.css").read_text(encoding="utf-8"))


def test_every_api_route_is_in_the_table() -> None:
    assert len({(op.method, op.path) for op in ROUTES}) == len(ROUTES)
    assert len({op.operation_id for op in ROUTES}) == len(ROUTES)
