"""``run --mqtt``'s output stage (live/mqtt_output.py): the run's telegrams as a reader takes them, the gas
meter's state beside them. [P1-5.0.2 §6.1]: a reader refuses a telegram whose CRC does not match; an
encrypted port's frames are opened with the scenario's keys (the Luxembourg Smarty AES-GCM frame)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal

from meterkast.live.mqtt_output import MqttOutput
from meterkast.live.session import LiveSession
from meterkast.mqtt.messages import HomeAssistantBridge, Message
from meterkast.sim.p1_source import P1Cipher
from tests.live.helpers import make_session

GAS = "meterkast/meterkast_G0001123456789012/state"


def telegrams(session: LiveSession, count: int) -> list[bytes]:
    made: list[bytes] = []
    moment = session.next_telegram_at()
    while len(made) < count:
        made += session.step(moment, telegram=True)
        moment += session.port.interval
    return made


class Collected:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, messages: Iterable[Message]) -> None:
        self.messages.extend(messages)

    def states(self, topic: str) -> list[dict[str, object]]:
        return [json.loads(m.payload, parse_float=Decimal) for m in self.messages if m.topic == topic]


def test_each_good_telegram_gives_states_with_the_gas_meters_own_state() -> None:
    session = make_session()
    collected = Collected()
    output = MqttOutput(session, collected, HomeAssistantBridge())
    output(telegrams(session, 3))
    assert (output.published, output.refused) == (3, 0)
    gas = collected.states(GAS)
    assert len(gas) == 3
    assert gas[0]["valve_state"] == "open" and gas[0]["seal_broken"] is False and gas[0]["alarm"] is False
    meter = session.installation.gas_meter
    assert meter is not None and gas[0]["battery"] == Decimal(f"{meter.battery.remaining_percent:.1f}")


def test_telegrams_with_a_bad_crc_are_refused_as_a_reader_refuses_them() -> None:
    session = make_session()
    session.inject_fault("p1_crc_error", 1.0)
    collected = Collected()
    output = MqttOutput(session, collected, HomeAssistantBridge())
    output(telegrams(session, 2))
    assert (output.published, output.refused) == (0, 2) and collected.messages == []


def test_an_encrypted_port_is_read_with_the_scenarios_keys() -> None:
    session = make_session()
    session.world.cipher = P1Cipher(bytes(range(16)), bytes(16))
    collected = Collected()
    output = MqttOutput(session, collected, HomeAssistantBridge())
    made = telegrams(session, 2)
    assert not made[0].startswith(b"/")  # really a cipher frame
    output(made)
    assert output.published == 2 and len(collected.states(GAS)) == 2
