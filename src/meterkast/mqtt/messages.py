"""Decoded P1 telegrams as MQTT messages with Home Assistant MQTT discovery (sans-I/O; docs/mqtt.md).

``HomeAssistantBridge(prefix).messages(telegram)`` returns the ``Message``s (topic, payload, retain) one
telegram gives: first the discovery configuration of every sensor not announced before (retained), then
one JSON state per device. Devices: the E-meter (named by its equipment identifier ``0-0:96.1.1``,
[P1-4.2.2 Table 5-3]) and each M-Bus device on its channel ([P1-4.2.2 §5.12]: named by ``0-n:96.1.0``),
linked to the E-meter with ``via_device``. Sensors, device classes and units: ``sensors.py``.

Topic layout (docs/mqtt.md):

=============================================================  ======================================  =======
topic                                                          payload                                 retain
=============================================================  ======================================  =======
``<prefix>/status``                                            ``online`` / ``offline`` (the LWT)      yes
``<prefix>/<node>/state``                                      JSON: each sensor's key and value       no
``<discovery>/sensor/<node>/<key>/config``                     Home Assistant discovery config          yes
=============================================================  ======================================  =======

Rules this module keeps:
- register values stay exact: a Decimal is written into the JSON as the number the meter sent
  (``"import_t1": 1581.123``), never through a float; a meter that writes Wh or W (a Sagemcom T210) is
  scaled to the sensor's kWh or kW by a power of ten, exactly;
- a sensor is announced once, the first time its value appears; ``configs()`` gives every announced one
  again, for a broker that restarted without its retained messages;
- nothing here does I/O or reads a clock: the time in a state is the telegram's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from meterkast import __version__
from meterkast.errors import InvalidInput
from meterkast.mqtt.sensors import EMETER_SENSORS, MBUS_STATE_SENSORS, Sensor, mbus_reading_sensor
from meterkast.p1.formats import decode_octets
from meterkast.p1.telegram import MbusDevice, Telegram
from meterkast.p1.values import Quantity

ONLINE, OFFLINE = "online", "offline"
DEFAULT_PREFIX = "meterkast"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"
_SCALE = {("wh", "kwh"): Decimal("0.001"), ("w", "kw"): Decimal("0.001")}
Scalar = Decimal | int | str | bool | None


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Extra:
    """A value the telegram does not carry but the caller knows (``meterkast run``: the gas meter's battery),
    shown as a sensor of the E-meter (``channel`` None) or of the M-Bus device on ``channel``."""

    channel: int | None
    sensor: Sensor
    value: Scalar


def node_id(text: str) -> str:
    """A Home Assistant node id (``[a-zA-Z0-9_-]``) from an identifier: other characters become ``_``."""
    return "meterkast_" + re.sub(r"[^A-Za-z0-9_-]", "_", text)


def json_payload(values: Mapping[str, Any]) -> bytes:
    """Compact, sorted JSON in which a Decimal is written as the exact number it is (not via float)."""
    parts = []
    for key in sorted(values):
        value = values[key]
        if isinstance(value, Decimal) and value.is_finite():
            text = str(value)
        elif isinstance(value, datetime):
            text = json.dumps(value.isoformat())
        elif isinstance(value, Mapping):
            text = json_payload(value).decode()
        else:
            text = json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)
        parts.append(f"{json.dumps(key)}:{text}")
    return ("{" + ",".join(parts) + "}").encode()


def _in_unit(quantity: Quantity, unit: str | None) -> Decimal | None:
    """The value in ``unit``; None when the line's unit cannot be scaled to it (then nothing is shown)."""
    if quantity.unit is None or unit is None:
        return quantity.value
    if quantity.unit.lower() == unit.lower():
        return quantity.value
    factor = _SCALE.get((quantity.unit.lower(), unit.lower()))
    return None if factor is None else quantity.value * factor  # exact: 1581123 Wh * 0.001 = 1581.123 kWh


def _register(telegram: Telegram, code: str) -> object:
    """The object on ``code``, or on the same code of another E-meter channel (a Sagemcom XT211 writes 1-1:...)."""
    value = telegram.values.get(code)
    if value is None and code.startswith("1-0:"):
        for n in range(1, 10):
            if (value := telegram.values.get(f"1-{n}:{code[4:]}")) is not None:
                break
    return value


def _scalar(sensor: Sensor, value: object) -> Scalar:
    if isinstance(value, Quantity):
        return _in_unit(value, sensor.unit)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if value.isdigit() else value
    return None


@dataclass(frozen=True, slots=True)
class _Device:
    node: str
    info: dict[str, Any]
    values: dict[str, Scalar]
    sensors: tuple[Sensor, ...]


class HomeAssistantBridge:
    """The sans-I/O core: telegrams in, MQTT messages out; remembers what it announced."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, discovery_prefix: str = DEFAULT_DISCOVERY_PREFIX) -> None:
        for what, text in (("prefix", prefix), ("discovery prefix", discovery_prefix)):
            if not text or any(c in text for c in "#+\0") or text.startswith("/") or text.endswith("/"):
                raise InvalidInput(f"MQTT {what} {text!r} must be a topic without wildcards or outer '/'")
        self.prefix = prefix
        self.discovery_prefix = discovery_prefix
        self._configs: dict[str, Message] = {}

    @property
    def availability_topic(self) -> str:
        return f"{self.prefix}/status"

    def online(self) -> Message:
        return Message(self.availability_topic, ONLINE.encode(), retain=True)

    def offline(self) -> Message:
        """Also the broker's last will: what it publishes when the connection is lost."""
        return Message(self.availability_topic, OFFLINE.encode(), retain=True)

    def state_topic(self, node: str) -> str:
        return f"{self.prefix}/{node}/state"

    def configs(self) -> list[Message]:
        """Every discovery config announced so far (to publish again after a reconnect)."""
        return list(self._configs.values())

    def messages(self, telegram: Telegram, extras: Sequence[Extra] = ()) -> list[Message]:
        """New discovery configs (retained), then one state per device, for one decoded telegram."""
        devices = self._devices(telegram, extras)
        out: list[Message] = []
        for device in devices:
            for sensor in device.sensors:
                if device.values.get(sensor.key) is not None:
                    out.extend(self._announce(device, sensor))
        for device in devices:
            shown = {k: v for k, v in device.values.items() if v is not None}
            out.append(Message(self.state_topic(device.node), json_payload(shown)))
        return out

    # -- devices and their values --------------------------------------------------------------------------

    def _devices(self, telegram: Telegram, extras: Sequence[Extra]) -> list[_Device]:
        serial = _emeter_serial(telegram)
        emeter_node = node_id(serial)
        values: dict[str, Scalar] = {s.key: _scalar(s, _register(telegram, s.code)) for s in EMETER_SENSORS}
        info: dict[str, Any] = {
            "identifiers": [emeter_node], "name": f"E-meter {serial}", "manufacturer": telegram.header.flag,
            "model": _model(telegram) or "DSMR E-meter", "serial_number": serial,
        }
        if telegram.p1_version:
            info["sw_version"] = f"P1 {telegram.p1_version}"
        sensors = list(EMETER_SENSORS)
        mbus = [self._mbus_device(device, emeter_node, extras) for _, device in sorted(telegram.mbus.items())]
        for extra in extras:
            if extra.channel is None:
                values[extra.sensor.key] = extra.value
                sensors.append(extra.sensor)
        if telegram.timestamp is not None:
            values["time"] = telegram.timestamp.isoformat()
        return [_Device(emeter_node, info, values, tuple(sensors)), *mbus]

    def _mbus_device(self, device: MbusDevice, via: str, extras: Sequence[Extra]) -> _Device:
        equipment = device.equipment_text
        node = node_id(equipment) if equipment else f"{via}_mbus{device.channel}"
        reading = device.reading
        sensor = mbus_reading_sensor(device.device_type, None if reading is None else reading.unit)
        values: dict[str, Scalar] = {
            "channel": device.channel,
            "device_type": device.device_type,
            "reading": None if reading is None else reading.value,
            "captured": None if reading is None or reading.time is None else reading.time.isoformat(),
            "valve": device.valve,
            "switch_position": _scalar(MBUS_STATE_SENSORS[1], device.values.get(f"0-{device.channel}:96.3.10")),
        }
        sensors = [sensor, *MBUS_STATE_SENSORS]
        for extra in extras:
            if extra.channel == device.channel:
                values[extra.sensor.key] = extra.value
                sensors.append(extra.sensor)
        medium = sensor.name.removesuffix(" reading")
        info: dict[str, Any] = {
            "identifiers": [node], "name": f"{medium} meter {equipment or device.channel}", "via_device": via,
            "model": f"M-Bus device type {device.device_type}" if device.device_type is not None else "M-Bus device",
        }
        if equipment:
            info["serial_number"] = equipment
        return _Device(node, info, values, tuple(sensors))

    # -- discovery ---------------------------------------------------------------------------------------------

    def _announce(self, device: _Device, sensor: Sensor) -> Iterable[Message]:
        topic = f"{self.discovery_prefix}/sensor/{device.node}/{sensor.key}/config"
        message = Message(topic, json_payload(self._config(device, sensor)), retain=True)
        if self._configs.get(topic) == message:
            return ()
        self._configs[topic] = message
        return (message,)

    def _config(self, device: _Device, sensor: Sensor) -> dict[str, Any]:
        """[Home Assistant MQTT discovery]: one sensor entity, its device, the shared availability topic."""
        config: dict[str, Any] = {
            "name": sensor.name,
            "unique_id": f"{device.node}_{sensor.key}",
            "state_topic": self.state_topic(device.node),
            "value_template": f"{{{{ value_json.{sensor.key} }}}}",
            "availability_topic": self.availability_topic,
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "device": device.info,
            "origin": {"name": "meterkast", "sw_version": __version__},
        }
        for field, value in (("device_class", sensor.device_class), ("state_class", sensor.state_class),
                             ("unit_of_measurement", sensor.unit)):
            if value is not None:
                config[field] = value
        if sensor.diagnostic:
            config["entity_category"] = "diagnostic"
        return config


def _emeter_serial(telegram: Telegram) -> str:
    """The E-meter's identifier: ``0-0:96.1.1`` decoded, else a dialect's serial, else the header's ident."""
    for code in ("0-0:96.1.1", "0-0:96.1.0", "1-0:0.0.0", "0-0:96.1.255"):
        value = telegram.values.get(code)
        if isinstance(value, str) and value:
            return decode_octets(value) if code == "0-0:96.1.1" else value
    return _model(telegram) or telegram.header.flag


def _model(telegram: Telegram) -> str:
    """The header's identification without the ``\\2`` of the IEC 62056-21 mode that starts many [P1-4.2.2 §5.2]."""
    return re.sub(r"^\\\d", "", telegram.header.ident)

