"""The ``--mqtt`` options that ``p1 read`` and ``run`` share (docs/mqtt.md).

Light on purpose: ``add_mqtt_arguments`` runs whenever the parser is built, so the publisher (aiomqtt,
asyncio) and the message bridge are imported only when ``--mqtt`` is given (issue 13 item 6).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meterkast.io.mqtt_publisher import MqttPublisher

# io.mqtt_publisher's and mqtt.messages's defaults, repeated so that the parser does not import them;
# tests/commands/test_cli_startup.py checks that they agree.
DEFAULT_QUEUE = 10_000
DEFAULT_PREFIX = "meterkast"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"


def add_mqtt_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mqtt", metavar="URL",
                        help="also publish to this MQTT broker, mqtt://[user[:password]@]host[:port], with Home "
                             "Assistant discovery (docs/mqtt.md)")
    parser.add_argument("--mqtt-prefix", default=DEFAULT_PREFIX,
                        help=f"state topics' prefix (default {DEFAULT_PREFIX})")
    parser.add_argument("--mqtt-discovery-prefix", default=DEFAULT_DISCOVERY_PREFIX,
                        help=f"Home Assistant discovery prefix (default {DEFAULT_DISCOVERY_PREFIX})")
    parser.add_argument("--mqtt-queue", type=int, default=DEFAULT_QUEUE,
                        help=f"states kept while the broker is away; the oldest go first (default {DEFAULT_QUEUE})")


def mqtt_publisher(args: argparse.Namespace) -> MqttPublisher | None:
    """The publisher the options ask for (None without ``--mqtt``); checks them before anything starts."""
    if not args.mqtt:
        return None
    from meterkast.io.mqtt_publisher import MqttPublisher, parse_mqtt_url  # noqa: PLC0415 - only with --mqtt
    from meterkast.mqtt.messages import HomeAssistantBridge  # noqa: PLC0415

    bridge = HomeAssistantBridge(args.mqtt_prefix, args.mqtt_discovery_prefix)
    return MqttPublisher(parse_mqtt_url(args.mqtt), bridge, queue_size=args.mqtt_queue)


@contextlib.asynccontextmanager
async def maybe_publishing(publisher: MqttPublisher | None) -> AsyncIterator[MqttPublisher | None]:
    if publisher is None:
        yield None
        return
    from meterkast.io.mqtt_publisher import publishing  # noqa: PLC0415 - only with --mqtt

    async with publishing(publisher) as running:
        yield running
