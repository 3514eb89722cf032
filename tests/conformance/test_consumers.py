"""The checker and the non-JSON-lines consumers: MQTT state captures and Home Assistant's REST states.

There is no Home Assistant here: ``GET /api/states`` is served by a small fake on loopback that checks
the bearer token. MQTT captures are made by meterkast's own bridge (``mqtt.messages``) from the telegrams
a situation plays, printed as ``mosquitto_sub -v`` would.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from meterkast.commands.p1_check import fetch_ha_states
from meterkast.conformance.check import check
from meterkast.conformance.consumers import MQTT_UNCARRIED, entity_map, from_ha_states, from_mqtt_lines
from meterkast.conformance.play import play
from meterkast.conformance.records import FIELDS, from_json
from meterkast.conformance.situations import BY_NAME, SITUATIONS, Situation
from meterkast.errors import InvalidInput, LinkError
from meterkast.mqtt.messages import HomeAssistantBridge
from meterkast.p1.decode import decode_telegram

TOKEN = "test-token"


def truths(situation: Situation) -> list[dict[str, str]]:
    return [p.truth for p in play(situation) if p.truth is not None]


# -- the checker ------------------------------------------------------------------------------------------


def test_a_faithful_report_passes_and_a_changed_value_is_the_first_difference() -> None:
    situation = BY_NAME["dsmr5-hourly"]
    expected = truths(situation)
    assert check(situation, expected, [dict(r) for r in expected]).passed
    changed = [dict(r) for r in expected]
    changed[3]["gas_m3"] = str(changed[3]["gas_m3"]) + "1"
    result = check(situation, expected, changed)
    assert not result.passed and result.first is not None
    assert result.first.startswith(f"telegram {expected[3]['timestamp']}: gas_m3 should be")


def test_numbers_and_times_compare_by_value() -> None:
    situation = BY_NAME["dsmr5-hourly"]
    expected = truths(situation)[:1]
    report = [dict(expected[0], gas_m3=expected[0]["gas_m3"] + "00",
                   timestamp=expected[0]["timestamp"].replace("+00:00", "Z"))]
    assert check(situation, expected, report).passed


def test_a_spoiled_telegram_reported_is_a_difference() -> None:
    situation = BY_NAME["crc-and-cut-off"]
    played = list(play(situation))
    spoiled = next(p for p in played if p.fault == "crc")
    report = [p.truth for p in played if p.truth is not None]
    report.append({"timestamp": spoiled.at.isoformat()})
    result = check(situation, [p.truth for p in played if p.truth is not None], report)
    assert result.first is not None and "not sent intact" in result.first


def test_a_missed_telegram_is_a_difference() -> None:
    situation = BY_NAME["power-failure"]
    expected = truths(situation)
    result = check(situation, expected, expected[1:])
    assert result.first == f"telegram {expected[0]['timestamp']}: intact, but the consumer reported nothing for it"


def test_an_unknown_field_is_refused_with_its_name() -> None:
    with pytest.raises(InvalidInput, match="gas_volume"):
        from_json({"timestamp": "2025-01-01T00:00:00+00:00", "gas_volume": 1}, "line 3")


# -- MQTT --------------------------------------------------------------------------------------------------


def mqtt_capture(situation: Situation) -> list[str]:
    bridge = HomeAssistantBridge()
    lines = []
    for played in play(situation):
        if played.truth is None or played.data is None:
            continue
        for message in bridge.messages(decode_telegram(played.data)):
            lines.append(f"{message.topic} {message.payload.decode()}")
    return lines


@pytest.mark.parametrize("situation", [s for s in SITUATIONS if not s.encrypted], ids=lambda s: s.name)
def test_meterkast_mqtt_bridge_passes_every_situation(situation: Situation) -> None:
    report = from_mqtt_lines(mqtt_capture(situation))
    result = check(situation, truths(situation), report, uncarried=MQTT_UNCARRIED)
    assert result.passed, result.line()


# -- Home Assistant ----------------------------------------------------------------------------------------


@pytest.fixture
def fake_ha() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    states: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.send_response(401)
                self.end_headers()
                return
            body = json.dumps(states).encode() if self.path == "/api/states" else b"{}"
            self.send_response(200 if self.path == "/api/states" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", states
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_home_assistant_states_are_checked_against_the_last_telegram(fake_ha: tuple[str, list[dict[str, Any]]]) -> None:
    url, states = fake_ha
    situation = BY_NAME["gas-meter-replaced"]
    last = truths(situation)[-1]
    mapping = entity_map(["gas_m3=sensor.gas_meter", "gas_id=sensor.gas_meter_id"])
    states[:] = [{"entity_id": "sensor.gas_meter", "state": last["gas_m3"]},
                 {"entity_id": "sensor.gas_meter_id", "state": last["gas_id"]}]
    record = from_ha_states(fetch_ha_states(url, TOKEN), mapping)
    uncarried = frozenset(FIELDS) - set(mapping)
    assert check(situation, truths(situation), [record], latest=True, uncarried=uncarried).passed
    states[0]["state"] = "0"  # the emptied form shown as 0
    record = from_ha_states(fetch_ha_states(url, TOKEN), mapping)
    result = check(situation, truths(situation), [record], latest=True, uncarried=uncarried)
    assert result.first == f"telegram {last['timestamp']}: gas_m3 should be {last['gas_m3']}, the consumer reported 0"


def test_home_assistant_wrong_token_is_a_clear_link_error(fake_ha: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = fake_ha
    with pytest.raises(LinkError, match=r"401.*--token"):
        fetch_ha_states(url, "wrong")


def test_home_assistant_unknown_entity_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"sensor\.nope"):
        from_ha_states([], {"gas_m3": "sensor.nope"})
