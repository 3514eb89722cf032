"""Publish the MQTT core's messages to a broker with aiomqtt: bounded queue, reconnect, LWT (docs/mqtt.md).

``MqttPublisher(url, bridge)``: ``submit(messages)`` queues what ``mqtt.messages.HomeAssistantBridge`` made
and never blocks the caller (a P1 reader, the live run); ``run()`` keeps a connection and publishes the
queue in order; ``close()`` publishes what is left (within a time limit), says ``offline`` and disconnects.

Rules this module keeps:
- every message goes out with QoS 1 and leaves the queue only once the broker acknowledged it (PUBACK):
  a broker that restarts, or a connection that drops, loses nothing that was queued; a message whose
  acknowledgement never came is sent again after the reconnect (at least once, never silently lost);
- the queue of states is bounded (``queue_size``, default 10000: with two devices, about 14 hours of DSMR 4
  telegrams, one every 10 s, or well over an hour of DSMR 5's one a second). When it is full the OLDEST
  state is dropped, counted in ``stats.dropped`` and said in a warning at most once a minute: a meter
  reading is superseded by the next one, and the newest is the one a dashboard needs. Retained messages
  (availability, discovery configs) are not in that queue: the newest per topic is kept, always;
- on every (re)connection it first publishes ``online`` and every discovery config the bridge announced
  (retained), so a broker that restarted without persistence gets them back; the last will is ``offline``
  (retained) on the same availability topic, so Home Assistant marks the sensors unavailable when the
  connection is lost;
- reconnecting backs off exponentially (``initial_s`` doubling to ``max_s``), reset by a good connection;
- foreign errors stay inside: a broker that cannot be reached is logged and retried, never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import aiomqtt

from meterkast.errors import InvalidInput
from meterkast.io.p1_reader import Backoff
from meterkast.mqtt.messages import HomeAssistantBridge, Message

log = logging.getLogger(__name__)

DEFAULT_PORT = 1883
DEFAULT_QUEUE = 10_000
QOS = 1
REPORT_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class BrokerUrl:
    host: str
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:  # without the password
        user = f"{self.username}@" if self.username else ""
        return f"mqtt://{user}{self.host}:{self.port}"


def masked(text: str) -> str:
    """A broker URL as it may be shown (errors, logs): its password, if it has one, as ``***``."""
    return _PASSWORD.sub(r"\1***@", text)


_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/:@]*:).*@")  # to the last '@': it may hold '/' or '@'


def parse_mqtt_url(text: str) -> BrokerUrl:
    """``mqtt://[user[:password]@]host[:port]`` (port 1883 when left out). A refusal shows the URL
    ``masked``: the message ends up on a terminal and in logs."""
    parts = urllib.parse.urlsplit(text)
    shown = masked(text)
    if parts.scheme != "mqtt":
        raise InvalidInput(f"--mqtt {shown!r}: give mqtt://[user[:password]@]host[:port] (TLS, mqtts://, "
                           "is not supported yet)")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise InvalidInput(f"--mqtt {shown!r}: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise InvalidInput(f"--mqtt {shown!r} names no host")
    if parts.path not in ("", "/") or parts.query:
        raise InvalidInput(f"--mqtt {shown!r}: a broker URL has no path or query; set topics with --mqtt-prefix")
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return BrokerUrl(parts.hostname, port, user, password)


@dataclass(slots=True)
class PublisherStats:
    published: int = 0  # acknowledged by the broker
    dropped: int = 0  # states dropped because the queue was full
    connects: int = 0
    failures: int = 0  # connections that failed or broke


class MqttPublisher:
    def __init__(
        self,
        url: BrokerUrl,
        bridge: HomeAssistantBridge,
        *,
        queue_size: int = DEFAULT_QUEUE,
        identifier: str | None = None,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if queue_size < 1:
            raise InvalidInput(f"the MQTT queue size {queue_size} must be at least 1")
        self.url = url
        self.bridge = bridge
        self.stats = PublisherStats()
        self.connected = False
        self._states: deque[Message] = deque()
        self._queue_size = queue_size
        self._retained: dict[str, Message] = {}
        self._identifier = identifier or f"meterkast-{uuid.uuid4().hex[:12]}"
        self._backoff = backoff or Backoff(initial_s=0.5, max_s=30.0)
        self._timeout_s = timeout_s
        self._monotonic = monotonic
        self._last_drop_report: float | None = None
        self._drops_unreported = 0
        self._work = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def pending(self) -> int:
        return len(self._states) + len(self._retained)

    def submit(self, messages: Iterable[Message]) -> None:
        """Queue messages; never blocks. A full state queue drops its oldest state (module docstring)."""
        for message in messages:
            if message.retain:
                self._retained.pop(message.topic, None)  # the newest goes to the back: order kept per topic
                self._retained[message.topic] = message
                continue
            if len(self._states) >= self._queue_size:
                self._states.popleft()
                self._dropped()
            self._states.append(message)
        if self.pending:
            self._idle.clear()
            self._work.set()

    def _dropped(self) -> None:
        self.stats.dropped += 1
        self._drops_unreported += 1
        now = self._monotonic()
        if self._last_drop_report is None or now - self._last_drop_report >= REPORT_EVERY_S:
            log.warning("MQTT: the queue of %d readings is full (broker %s unreachable?): dropped the %d oldest; "
                        "%d dropped in all", self._queue_size, self.url, self._drops_unreported, self.stats.dropped)
            self._last_drop_report = now
            self._drops_unreported = 0

    async def run(self) -> None:
        """Connect, publish, reconnect after a failure; until cancelled."""
        failing = False
        while True:
            try:
                async with self._client() as client:
                    self.connected = True
                    self.stats.connects += 1
                    if failing:
                        log.warning("MQTT: connected to %s again", self.url)
                        failing = False
                    self._backoff.reset()
                    self._retained = {m.topic: m for m in (self.bridge.online(), *self.bridge.configs())} | {
                        t: m for t, m in self._retained.items() if t != self.bridge.availability_topic
                    }
                    async with asyncio.TaskGroup() as group:  # the first to fail ends both
                        group.create_task(self._watch(client))
                        group.create_task(self._drain(client))
            except* aiomqtt.MqttError as errors:
                self.stats.failures += 1
                if not failing:
                    failing = True
                    log.warning("MQTT: broker %s: %s; reconnecting (%d queued)", self.url, errors.exceptions[0],
                                self.pending)
            finally:
                self.connected = False
            await asyncio.sleep(self._backoff.next_delay())

    @staticmethod
    async def _watch(client: aiomqtt.Client) -> None:
        """Raises MqttError as soon as the connection is lost, even while nothing is being published (so that
        the retained configs are back soon after a broker restart, and a publish waiting for its
        acknowledgement is given up at once rather than after the timeout). Nothing is subscribed: no
        message ever arrives."""
        async for _ in client.messages:
            pass

    def _client(self) -> aiomqtt.Client:
        offline = self.bridge.offline()
        will = aiomqtt.Will(offline.topic, offline.payload, qos=QOS, retain=True)
        return aiomqtt.Client(
            self.url.host, self.url.port, username=self.url.username, password=self.url.password,
            identifier=self._identifier, will=will, timeout=self._timeout_s, clean_session=True,
        )

    async def _drain(self, client: aiomqtt.Client) -> None:
        while True:
            self._work.clear()
            message = self._head()
            if message is None:
                self._idle.set()
                await self._work.wait()
                continue
            await client.publish(message.topic, message.payload, qos=QOS, retain=message.retain)
            self._pop(message)
            self.stats.published += 1

    def _head(self) -> Message | None:
        if self._retained:
            return next(iter(self._retained.values()))
        return self._states[0] if self._states else None

    def _pop(self, message: Message) -> None:
        """Remove ``message`` once acknowledged (a newer retained one for the topic may have replaced it)."""
        if message.retain:
            if self._retained.get(message.topic) is message:
                del self._retained[message.topic]
        elif self._states and self._states[0] is message:
            self._states.popleft()

    async def flush(self, timeout_s: float) -> bool:
        """Wait until everything queued is acknowledged (True), or ``timeout_s`` passed (False)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        except TimeoutError:
            return False
        return True


@contextlib.asynccontextmanager
async def publishing(publisher: MqttPublisher, close_timeout_s: float = 5.0) -> AsyncIterator[MqttPublisher]:
    """Run ``publisher`` in the background for the ``async with`` block; on the way out publish what is queued
    (waiting at most ``close_timeout_s``), say ``offline`` and disconnect."""
    task = asyncio.create_task(publisher.run(), name="mqtt-publisher")
    try:
        yield publisher
    finally:
        await _close(publisher, task, close_timeout_s)


async def _close(publisher: MqttPublisher, task: asyncio.Task[None], timeout_s: float) -> None:
    if not task.done():
        if await publisher.flush(timeout_s):
            publisher.submit([publisher.bridge.offline()])  # a clean disconnect sends no last will: say it
            await publisher.flush(timeout_s)
        else:
            log.warning("MQTT: %d message(s) not published to %s before stopping", publisher.pending, publisher.url)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
