"""``meterkast run --mqtt``: the run's P1 telegrams, read as a P1 reader reads them, published over MQTT with
the gas meter's own state beside them (issue 13; docs/mqtt.md).

``MqttOutput(session, submit, bridge)`` is the runner's ``on_telegrams``: each telegram the P1 output stage
made (``live/p1_output.py``) is taken as the port sends it, so the scenario's P1 faults count: a telegram
with a bad CRC or cut short is skipped, as a reader refuses it ([P1-5.0.2 §6.1]: the CRC covers the
telegram), and an encrypted one is opened with the scenario's keys first. What it shows goes through
``mqtt.messages.HomeAssistantBridge``; the gas meter's battery, valve and seal, which no P1 line carries,
go along as extra sensors of the gas meter's M-Bus device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from meterkast.errors import CodecError
from meterkast.live.session import LiveSession
from meterkast.mqtt.messages import Extra, HomeAssistantBridge, Message
from meterkast.mqtt.sensors import MEASUREMENT, Sensor
from meterkast.p1.crypto import decrypt_telegram
from meterkast.p1.decode import decode_telegram
from meterkast.p1.telegram import Telegram

BATTERY = Sensor("battery", "-", "Battery", "battery", MEASUREMENT, "%", diagnostic=True)
VALVE_STATE = Sensor("valve_state", "-", "Valve", diagnostic=True)
SEAL = Sensor("seal_broken", "-", "Seal broken", diagnostic=True)
ALARM = Sensor("alarm", "-", "Alarm", diagnostic=True)


class MqttOutput:
    def __init__(
        self, session: LiveSession, submit: Callable[[Iterable[Message]], None], bridge: HomeAssistantBridge
    ) -> None:
        self.session = session
        self.submit = submit
        self.bridge = bridge
        self.published = 0
        self.refused = 0  # telegrams a reader would not accept (the scenario's P1 faults)

    def __call__(self, telegrams: list[bytes]) -> None:
        for data in telegrams:
            telegram = self._read(data)
            if telegram is None:
                self.refused += 1
                continue
            self.submit(self.bridge.messages(telegram, self.extras()))
            self.published += 1

    def _read(self, data: bytes) -> Telegram | None:
        cipher = self.session.world.cipher
        try:
            if cipher is not None:
                data = decrypt_telegram(data, encryption_key=cipher.encryption_key,
                                        authentication_key=cipher.authentication_key)
            return decode_telegram(data, strict=True)
        except CodecError:
            return None

    def extras(self) -> list[Extra]:
        """The gas meter's state that P1 does not carry, on its M-Bus channel."""
        installation = self.session.installation
        meter, channel = installation.gas_meter, installation.gas_channel
        if meter is None or channel is None:
            return []
        percent = Decimal(f"{meter.battery.remaining_percent:.1f}")  # the float model, shown to 0.1 %
        return [
            Extra(channel, BATTERY, percent),
            Extra(channel, VALVE_STATE, meter.valve.name.lower()),
            Extra(channel, SEAL, meter.seal_broken),
            Extra(channel, ALARM, meter.alarm),
        ]
