"""The MQTT core: decoded telegrams as state messages and Home Assistant discovery configs (docs/mqtt.md).

Real telegrams from dsmr_parser's corpus ([P1-5.0.2 Table 6-3] DSMR 5, [P1-3.0] DSMR 3 with a valve,
a Sagemcom T210 in Wh); the M-Bus device type decides the reading's device class (EN 13757-3 Table 3).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import InvalidInput
from meterkast.mqtt.messages import Extra, HomeAssistantBridge, Message, json_payload, node_id
from meterkast.mqtt.sensors import Sensor, mbus_reading_sensor
from meterkast.p1.decode import decode_telegram
from meterkast.p1.telegram import Telegram
from tests.p1.corpus import by_name

EMETER = "meterkast_K8EG004046395507"  # 0-0:96.1.1 of v5.txt, hex-decoded
GAS = "meterkast_2222ABCD123456789"


def telegram(name: str) -> Telegram:
    return decode_telegram(by_name(name).data)


def payload(message: Message) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(message.payload, parse_float=Decimal)
    return result


def by_topic(messages: list[Message]) -> dict[str, Message]:
    return {m.topic: m for m in messages}


def test_a_dsmr5_telegram_announces_its_sensors_then_sends_one_state_per_device() -> None:
    bridge = HomeAssistantBridge()
    messages = bridge.messages(telegram("v5"))
    topics = by_topic(messages)
    configs = [m for m in messages if m.topic.endswith("/config")]
    states = [m for m in messages if m.topic.endswith("/state")]
    assert messages[: len(configs)] == configs, "configs come before the states that refer to them"
    assert all(m.retain for m in configs) and not any(m.retain for m in states)
    assert [m.topic for m in states] == [f"meterkast/{EMETER}/state", f"meterkast/{GAS}/state",
                                         f"meterkast/{EMETER}_mbus2/state"]  # channel 2 has no identifier

    energy = payload(topics[f"homeassistant/sensor/{EMETER}/import_t1/config"])
    assert energy["device_class"] == "energy" and energy["state_class"] == "total_increasing"
    assert energy["unit_of_measurement"] == "kWh"
    assert energy["state_topic"] == f"meterkast/{EMETER}/state"
    assert energy["value_template"] == "{{ value_json.import_t1 }}"
    assert energy["unique_id"] == f"{EMETER}_import_t1"
    assert energy["availability_topic"] == "meterkast/status"
    assert (energy["payload_available"], energy["payload_not_available"]) == ("online", "offline")
    assert energy["device"]["identifiers"] == [EMETER] and energy["device"]["model"] == "MT382-1000"

    power = payload(topics[f"homeassistant/sensor/{EMETER}/power_import/config"])
    assert (power["device_class"], power["state_class"], power["unit_of_measurement"]) == ("power", "measurement", "kW")

    gas = payload(topics[f"homeassistant/sensor/{GAS}/reading/config"])
    assert (gas["device_class"], gas["state_class"], gas["unit_of_measurement"]) == ("gas", "total_increasing", "m³")
    assert gas["device"]["via_device"] == EMETER and gas["device"]["identifiers"] == [GAS]

    failures = payload(topics[f"homeassistant/sensor/{EMETER}/power_failures/config"])
    assert failures["entity_category"] == "diagnostic" and "unit_of_measurement" not in failures


def test_states_carry_the_exact_register_values_and_capture_time() -> None:
    t = telegram("v5")
    states = by_topic(HomeAssistantBridge().messages(t))
    emeter = payload(states[f"meterkast/{EMETER}/state"])
    assert emeter["import_t1"] == Decimal("4.426") == t.decimal("1-0:1.8.1")
    assert emeter["export_t2"] == Decimal("0.000")  # the meter's resolution is kept
    assert emeter["voltage_l1"] == Decimal("230.0") and emeter["tariff"] == 2 and emeter["power_failures"] == 13
    assert emeter["time"] == "2017-01-02T19:20:02+01:00"
    gas = payload(states[f"meterkast/{GAS}/state"])
    assert gas == {"captured": "2017-01-02T16:10:05+01:00", "channel": 1, "device_type": 3, "reading": Decimal("0.107")}


def test_a_meter_in_wh_and_w_is_shown_in_kwh_and_kw_exactly() -> None:
    """A Sagemcom T210 writes ``1-0:1.8.1(005017120*Wh)`` and ``1-0:1.7.0(000000286*W)``."""
    messages = HomeAssistantBridge().messages(telegram("sagemcom_t210_d_r"))
    (state,) = [m for m in messages if m.topic.endswith("/state")]
    values = payload(state)
    assert values["import_t1"] == Decimal("5017.120") and values["power_import"] == Decimal("0.286")
    # no 96.1.1: the header's identification after the IEC 62056-21 "\\2" (/EST5\\253710000_A)
    assert state.topic == "meterkast/meterkast_53710000_A/state"


def test_a_dsmr3_valve_position_is_device_state() -> None:
    """[P1-3.0 §5.10]: ``0-1:24.4.0`` is the gas valve position."""
    messages = by_topic(HomeAssistantBridge().messages(telegram("v3")))
    assert payload(messages[f"meterkast/{GAS}/state"])["valve"] == 1
    assert payload(messages[f"homeassistant/sensor/{GAS}/valve/config"])["entity_category"] == "diagnostic"


def test_sensors_are_announced_once_and_all_again_on_request() -> None:
    bridge = HomeAssistantBridge("home/p1", "ha")
    first = bridge.messages(telegram("v5"))
    again = bridge.messages(telegram("v5"))
    assert all(m.topic.endswith("/state") for m in again)
    assert bridge.configs() == [m for m in first if m.topic.endswith("/config")]
    assert all(m.topic.startswith("ha/sensor/") for m in bridge.configs())
    assert bridge.online() == Message("home/p1/status", b"online", retain=True)
    assert bridge.offline() == Message("home/p1/status", b"offline", retain=True)


def test_extras_become_sensors_of_the_device_they_belong_to() -> None:
    battery = Sensor("battery", "-", "Battery", "battery", "measurement", "%", diagnostic=True)
    messages = by_topic(HomeAssistantBridge().messages(telegram("v5"), [Extra(1, battery, Decimal("87.5"))]))
    assert payload(messages[f"meterkast/{GAS}/state"])["battery"] == Decimal("87.5")
    config = payload(messages[f"homeassistant/sensor/{GAS}/battery/config"])
    assert (config["device_class"], config["unit_of_measurement"]) == ("battery", "%")


@pytest.mark.parametrize(("device_type", "unit", "device_class", "shown"), [
    (3, "m3", "gas", "m³"),
    (7, "m3", "water", "m³"),
    (6, "m3", "water", "m³"),
    (4, "GJ", "energy", "GJ"),
    (12, "kWh", "energy", "kWh"),
    (99, "m3", None, "m³"),
    (None, None, None, None),
    # Home Assistant refuses a discovery config whose unit its device class does not allow (MQTT sensor
    # schema: "not valid together with device class"): then the reading goes without a class, not missing.
    (7, "l", "water", "L"),
    (4, "m3", None, "m³"),
    (3, None, None, None),
    (3, "kWh", None, "kWh"),
    (12, "MWh", "energy", "MWh"),
])
def test_the_mbus_reading_takes_its_class_from_the_device_type(
    device_type: int | None, unit: str | None, device_class: str | None, shown: str | None
) -> None:
    """EN 13757-3 Table 3: 3 gas, 4/12 heat, 6 warm water, 7 water."""
    sensor = mbus_reading_sensor(device_type, unit)
    assert (sensor.device_class, sensor.unit, sensor.state_class) == (device_class, shown, "total_increasing")


@pytest.mark.parametrize("prefix", ["", "a/#", "+", "/lead", "trail/"])
def test_a_prefix_that_is_no_plain_topic_is_refused(prefix: str) -> None:
    with pytest.raises(InvalidInput, match="prefix"):
        HomeAssistantBridge(prefix)


def test_node_ids_keep_only_what_home_assistant_allows() -> None:
    assert node_id("E0031003 239/45.6") == "meterkast_E0031003_239_45_6"


scalars = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-10**9, max_value=10**9),
    st.integers(), st.text(), st.booleans(), st.none(),
)


@given(st.dictionaries(st.text(min_size=1), scalars))
def test_json_payload_reads_back_exactly(values: dict[str, Any]) -> None:
    """No float on the way: a Decimal register comes back as the same Decimal."""
    assert json.loads(json_payload(values), parse_float=Decimal) == values
