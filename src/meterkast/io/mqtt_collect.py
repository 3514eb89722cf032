"""Collect a consumer's MQTT state messages live with aiomqtt (``p1 check --consumer mqtt mqtt://…``;
docs/conformance.md "MQTT consumers").

``collect_states(url, topics, …)`` subscribes (QoS 1) to ``topics`` and returns what arrives as the lines
``mosquitto_sub -v`` prints (``<topic> <payload>``), so ``conformance.consumers.from_mqtt_lines`` reads a
live subscription and a captured file alike. It stops:
- after ``count`` E-meter states (a state with ``time``, 0-0:1.0.0: one per telegram the consumer took),
  once ``settle_s`` passes without a message: the M-Bus device states of the last telegram follow its
  E-meter state;
- or when ``timeout_s`` has passed since subscribing, with what it has.

Rules: an unreachable broker or a refused connection is a ``LinkError`` naming the broker; retained
messages (the last state from before the subscription) are skipped: they are not this run's telegrams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable, Sequence

import aiomqtt

from meterkast.errors import LinkError
from meterkast.io.mqtt_publisher import QOS, BrokerUrl

DEFAULT_SETTLE_S = 1.0


def _is_emeter_state(payload: bytes) -> bool:
    try:
        state = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(state, dict) and "time" in state


async def _receive(client: aiomqtt.Client, lines: list[str], count: int | None, settle_s: float) -> None:
    seen = 0
    messages = aiter(client.messages)
    while True:
        try:
            if count is not None and seen >= count:
                message = await asyncio.wait_for(anext(messages), settle_s)
            else:
                message = await anext(messages)
        except TimeoutError:
            return  # the last telegram's device states have had their time
        if message.retain:
            continue
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
        lines.append(f"{message.topic} {payload.decode('utf-8', errors='replace')}")
        seen += _is_emeter_state(payload)


async def collect_states(url: BrokerUrl, topics: Sequence[str], *, count: int | None, timeout_s: float,
                         settle_s: float = DEFAULT_SETTLE_S,
                         on_subscribed: Callable[[], None] | None = None) -> list[str]:
    """The state messages on ``topics`` as ``<topic> <payload>`` lines (see the module's stop rules)."""
    lines: list[str] = []
    try:
        async with aiomqtt.Client(url.host, url.port, username=url.username, password=url.password,
                                  identifier=f"meterkast-check-{uuid.uuid4().hex[:12]}", clean_session=True,
                                  timeout=10.0) as client:
            for topic in topics:
                await client.subscribe(topic, qos=QOS)
            if on_subscribed is not None:
                on_subscribed()
            with contextlib.suppress(TimeoutError):  # the time given is up: compare what came
                await asyncio.wait_for(_receive(client, lines, count, settle_s), timeout_s)
    except aiomqtt.MqttError as exc:
        raise LinkError(f"MQTT broker {url}: {exc}") from exc
    return lines
