"""The aiomqtt publisher against real Mosquitto brokers (docs/mqtt.md): QoS 1 with acknowledgement, a broker
restart loses no reading, the bounded queue drops the oldest, retained configs come back after a restart.

Every wait is for a condition (a message received, a counter reached) with a generous deadline, never a
guessed sleep; brokers of the tests' own run on free loopback ports (tests/mqtt_broker.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiomqtt
import pytest

from meterkast.errors import InvalidInput
from meterkast.io.mqtt_publisher import BrokerUrl, MqttPublisher, parse_mqtt_url, publishing
from meterkast.io.p1_reader import Backoff
from meterkast.mqtt.messages import HomeAssistantBridge, Message
from meterkast.p1.decode import decode_telegram
from tests.mqtt_broker import OwnBroker, shared_broker, unique_prefix
from tests.p1.corpus import by_name

DEADLINE_S = 60.0  # generous: both cores may be busy with other test runs


def fast_publisher(port: int, bridge: HomeAssistantBridge, **options: int) -> MqttPublisher:
    return MqttPublisher(BrokerUrl("127.0.0.1", port), bridge, backoff=Backoff(initial_s=0.05, max_s=0.5),
                         timeout_s=10.0, **options)


@dataclass
class Subscriber:
    """Collects what arrives on ``topics``; a persistent session (clean_session False, QoS 1), so that a
    broker with persistence keeps what is published while it reconnects after a restart."""

    port: int
    topics: list[str]
    received: list[tuple[str, bytes, bool]] = field(default_factory=list)
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0
    persistent: bool = True

    async def run(self, identifier: str) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port, identifier=identifier,
                                          clean_session=not self.persistent) as c:
                    self.connections += 1
                    for topic in self.topics:
                        await c.subscribe(topic, qos=1)
                    self.subscribed.set()
                    async for message in c.messages:
                        payload = message.payload if isinstance(message.payload, bytes) else b""
                        self.received.append((str(message.topic), payload, message.retain))
                        self.changed.set()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.05)  # the broker is away: try again (the test's deadline bounds it)

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        async with asyncio.timeout(DEADLINE_S):
            while not condition():
                self.changed.clear()
                await self.changed.wait()
        assert condition(), what

    def payloads(self, topic: str) -> list[bytes]:
        return [p for t, p, _ in self.received if t == topic]


@contextlib.asynccontextmanager
async def subscribed(
    port: int, *topics: str, identifier: str = "test-subscriber", persistent: bool = True
) -> AsyncIterator[Subscriber]:
    subscriber = Subscriber(port, list(topics), persistent=persistent)
    task = asyncio.create_task(subscriber.run(identifier))
    try:
        async with asyncio.timeout(DEADLINE_S):
            await subscriber.subscribed.wait()
        yield subscriber
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def readings(prefix: str, numbers: range) -> list[Message]:
    return [Message(f"{prefix}/meter/state", str(n).encode()) for n in numbers]


async def until(condition: Callable[[], bool]) -> None:
    """For conditions on the publisher's side: polled, within the deadline."""
    async with asyncio.timeout(DEADLINE_S):
        while not condition():
            await asyncio.sleep(0.01)


def test_a_broker_restart_loses_no_reading(tmp_path: Path) -> None:
    """Readings queued while the broker is down are published after it is back (QoS 1, kept until PUBACK)."""

    async def scenario() -> None:
        broker = OwnBroker(tmp_path)
        await asyncio.to_thread(broker.start)
        prefix = "restart"
        try:
            async with subscribed(broker.port, f"{prefix}/meter/state") as sub:
                publisher = fast_publisher(broker.port, HomeAssistantBridge(prefix))
                async with publishing(publisher):
                    publisher.submit(readings(prefix, range(10)))
                    await sub.until(lambda: len(set(sub.payloads(f"{prefix}/meter/state"))) == 10, "first 10")
                    await asyncio.to_thread(broker.stop)
                    publisher.submit(readings(prefix, range(10, 30)))  # while the broker is away
                    await until(lambda: not publisher.connected)
                    assert publisher.pending >= 20
                    await asyncio.to_thread(broker.start)
                    publisher.submit(readings(prefix, range(30, 40)))
                    expected = {str(n).encode() for n in range(40)}
                    await sub.until(lambda: set(sub.payloads(f"{prefix}/meter/state")) == expected, "all 40")
                assert publisher.stats.dropped == 0 and publisher.stats.connects >= 2
                assert publisher.stats.failures >= 1 and sub.connections >= 2
        finally:
            await asyncio.to_thread(broker.stop)

    asyncio.run(scenario())


def test_a_full_queue_drops_the_oldest_readings_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        broker = OwnBroker(tmp_path)
        prefix = "full"
        await asyncio.to_thread(broker.start)
        try:
            # The subscriber's persistent session is on the broker before it goes away, so the broker keeps
            # for it what the publisher sends after the restart, whoever of the two reconnects first.
            async with subscribed(broker.port, f"{prefix}/#") as sub:
                await asyncio.to_thread(broker.stop)
                publisher = fast_publisher(broker.port, HomeAssistantBridge(prefix), queue_size=5)
                async with publishing(publisher):
                    with caplog.at_level(logging.WARNING, logger="meterkast.io.mqtt_publisher"):
                        publisher.submit(readings(prefix, range(8)))
                    assert publisher.stats.dropped == 3 and publisher.pending == 5
                    assert "dropped the 1 oldest" in caplog.text
                    await asyncio.to_thread(broker.start)
                    expected = [str(n).encode() for n in range(3, 8)]  # the newest five, in order
                    await sub.until(lambda: sub.payloads(f"{prefix}/meter/state") == expected, "newest five")
                    assert sub.payloads(f"{prefix}/status") == [b"online"]
        finally:
            await asyncio.to_thread(broker.stop)

    asyncio.run(scenario())


def test_discovery_configs_come_back_after_a_broker_restart_without_persistence(tmp_path: Path) -> None:
    """A broker that forgets its retained messages gets ``online`` and every config again on reconnection."""

    async def scenario() -> None:
        broker = OwnBroker(tmp_path, persistence=False)
        await asyncio.to_thread(broker.start)
        bridge = HomeAssistantBridge("ha-restart", "ha-discovery")
        publisher = fast_publisher(broker.port, bridge)
        try:
            async with publishing(publisher):
                publisher.submit(bridge.messages(decode_telegram(by_name("v5").data)))
                configs = {m.topic for m in bridge.configs()}
                await until(lambda: publisher.pending == 0)
                await asyncio.to_thread(broker.stop)
                await until(lambda: not publisher.connected)  # noticed while idle, without a publish
                await asyncio.to_thread(broker.start)
                await until(lambda: publisher.stats.connects == 2 and publisher.pending == 0)
                # Subscribed only now: what arrives is what the broker retained since the restart.
                async with subscribed(broker.port, "ha-discovery/#", "ha-restart/status", identifier="late") as sub:
                    await sub.until(lambda: {t for t, _, _ in sub.received if t in configs} == configs, "configs")
                    await sub.until(lambda: sub.payloads("ha-restart/status")[-1:] == [b"online"], "online")
                    assert all(retain for t, _, retain in sub.received if t in configs)
        finally:
            await asyncio.to_thread(broker.stop)

    asyncio.run(scenario())


def test_smoke_on_the_shared_broker_online_states_and_offline_at_close() -> None:
    host, port = shared_broker()
    prefix = unique_prefix("smoke")
    discovery = unique_prefix("smoke-ha")

    async def scenario() -> None:
        bridge = HomeAssistantBridge(prefix, discovery)
        messages = bridge.messages(decode_telegram(by_name("v5").data))
        states = [m for m in messages if not m.retain]
        publisher = MqttPublisher(BrokerUrl(host, port), bridge)
        try:
            async with subscribed(port, f"{prefix}/#", f"{discovery}/#", identifier=unique_prefix("sub"),
                                  persistent=False) as sub:  # leaves no session behind on the shared broker
                async with publishing(publisher):
                    publisher.submit(messages)
                    await sub.until(lambda: all(m.payload in sub.payloads(m.topic) for m in states), "states")
                await sub.until(lambda: sub.payloads(f"{prefix}/status")[-1:] == [b"offline"], "offline at close")
                assert sub.payloads(f"{prefix}/status")[0] == b"online"
        finally:  # leave nothing retained on the shared broker
            async with aiomqtt.Client(host, port) as client:
                for topic in [bridge.availability_topic, *(m.topic for m in bridge.configs())]:
                    await client.publish(topic, b"", qos=1, retain=True)

    asyncio.run(scenario())


@pytest.mark.parametrize(("url", "expected"), [
    ("mqtt://127.0.0.1", BrokerUrl("127.0.0.1", 1883)),
    ("mqtt://broker.lan:1884", BrokerUrl("broker.lan", 1884)),
    ("mqtt://ha:s%40cret@10.0.0.2", BrokerUrl("10.0.0.2", 1883, "ha", "s@cret")),
])
def test_broker_urls(url: str, expected: BrokerUrl) -> None:
    assert parse_mqtt_url(url) == expected
    assert "cret" not in str(parse_mqtt_url(url))


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:1883", "mqtts://h", "mqtt://", "mqtt://h:99999", "mqtt://h/x"])
def test_bad_broker_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput, match="--mqtt"):
        parse_mqtt_url(url)


@pytest.mark.parametrize("url", ["mqtts://ha:hunter2secret@h", "mqtt://ha:hunter2secret@h:99999",
                                 "mqtt://ha:hunter2secret@h/x", "mqtt://ha:hunter2secret@", "tcp://ha:hunter2secret@h"])
def test_a_refused_broker_url_never_repeats_its_password(url: str) -> None:
    """The message goes to stderr and into logs: it names the URL with the password masked."""
    with pytest.raises(InvalidInput, match="--mqtt") as refused:
        parse_mqtt_url(url)
    assert "hunter2secret" not in str(refused.value) and "ha:***@" in str(refused.value)


def test_the_password_is_not_in_the_broker_urls_repr() -> None:
    assert "hunter2secret" not in repr(parse_mqtt_url("mqtt://ha:hunter2secret@h"))
