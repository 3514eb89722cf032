"""Test-only driver for Gurux's DLMS client (gurux-dlms, GPL-2.0) over the IEC 62056-47 wrapper.

Gurux is sans-I/O on the client side: it generates frames (``aarqRequest``, ``read``, ``releaseRequest``)
and parses replies fed to ``getData``; the caller moves the bytes. This module is that caller, a blocking
socket loop with one deadline per exchange, the way Gurux's own reader examples drive a medium:
send each generated frame, receive until one whole wrapper frame (8-octet header, then the length the
header gives) has arrived, hand it to ``getData`` until Gurux says the reply is complete, and ask for
the next block (``receiverReady``) while the reply says more data follows (block transfer with GET).

It also starts our ``P3TcpServer`` on an ephemeral loopback port in a thread's event loop, collecting the
server's events. Never imported by the package (licence: Gurux is GPL-2.0, a test-only peer).
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from gurux_dlms import GXByteBuffer, GXDLMSClient, GXReplyData
from gurux_dlms.enums import Authentication, InterfaceType, Security
from gurux_dlms.secure import GXDLMSSecureClient

from meterkast.cosem.access import MeterInfo
from meterkast.cosem.events import P3Event
from meterkast.dlms import SecurityKeys
from meterkast.emeter import EMeter
from meterkast.io.p3_server import P3TcpServer

HOST = "127.0.0.1"
DEADLINE_S = 5.0  # per exchange; loopback answers take milliseconds
WRAPPER_HEADER = 8  # version, source wPort, destination wPort, length: two octets each (IEC 62056-47 §7)


class GuruxReplyError(Exception):
    """Gurux parsed a reply that carries a Data-Access-Result other than success (``GXReplyData.error``)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"data access result {code}")
        self.code = code


class NoReply(Exception):
    """The deadline passed without a whole wrapper frame."""


@dataclass
class Served:
    """Our E-meter's P3 port on a loopback port, and what it reported."""

    server: P3TcpServer
    port: int
    events: list[P3Event] = field(default_factory=list)
    event_seen: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_event(self, kind: type, deadline_s: float = DEADLINE_S) -> P3Event:
        """Wait (on a condition, with a deadline) for the first event of this kind."""
        with self.event_seen:
            found = self.event_seen.wait_for(lambda: any(isinstance(e, kind) for e in self.events), deadline_s)
            assert found, f"no {kind.__name__} within {deadline_s} s; events: {self.events}"
            return next(e for e in self.events if isinstance(e, kind))

    def _record(self, event: P3Event) -> None:
        with self.event_seen:
            self.events.append(event)
            self.event_seen.notify_all()


@contextmanager
def serve(meter: EMeter, system_title: bytes, keys: SecurityKeys, seed: int = 9) -> Iterator[Served]:
    """A fresh ``P3TcpServer`` (fresh counters: its own from 1, no client counter seen) for ``meter``."""
    loop = asyncio.new_event_loop()
    server = P3TcpServer(lambda: meter, MeterInfo(system_title), keys, rng=random.Random(seed))
    port = loop.run_until_complete(server.start(HOST, 0))
    served = Served(server, port)
    server.on_event = served._record
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(DEADLINE_S)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(DEADLINE_S)
        loop.close()


def public_client() -> GXDLMSClient:
    """Client SAP 16 to the management logical device 1, logical names, no security (P3 §2.1.1)."""
    return GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.WRAPPER)


def management_client(system_title: bytes, keys: SecurityKeys, counter: int, *,
                      max_pdu: int | None = None) -> GXDLMSSecureClient:
    """Client SAP 1, HLS5-GMAC, every xDLMS APDU authenticated and encrypted with the global keys, security
    suite 0 (P3 §3.2); ``counter`` is the first invocation counter, the AARQ's."""
    client = GXDLMSSecureClient(True, 1, 1, Authentication.HIGH_GMAC, None, InterfaceType.WRAPPER)
    client.ciphering.security = Security.AUTHENTICATION_ENCRYPTION
    client.ciphering.systemTitle = bytearray(system_title)
    client.ciphering.blockCipherKey = bytearray(keys.encryption_key)
    client.ciphering.authenticationKey = bytearray(keys.authentication_key)
    client.ciphering.invocationCounter = counter
    if max_pdu is not None:
        client.maxReceivePDUSize = max_pdu
    return client


class GuruxLink:
    """One TCP connection; ``exchange`` runs one Gurux request to its complete reply."""

    def __init__(self, client: GXDLMSClient, port: int) -> None:
        self.client = client
        self.sock = socket.create_connection((HOST, port), timeout=DEADLINE_S)
        self.received: list[bytes] = []  # every wrapper frame from the meter, in order
        self.next_block_requests = 0
        self._pending = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> GuruxLink:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def send(self, frames: list[bytes] | bytes) -> None:
        """Send without waiting for an answer (for requests the meter is to leave unanswered)."""
        for frame in frames if isinstance(frames, list) else [frames]:
            self.sock.sendall(bytes(frame))

    def receive_frame(self) -> bytes:
        deadline = time.monotonic() + DEADLINE_S
        while len(self._pending) < WRAPPER_HEADER or \
                len(self._pending) < WRAPPER_HEADER + int.from_bytes(self._pending[6:8], "big"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise NoReply(self._pending.hex())
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                raise NoReply(self._pending.hex()) from None
            if not chunk:
                raise NoReply("connection closed by the meter")
            self._pending += chunk
        size = WRAPPER_HEADER + int.from_bytes(self._pending[6:8], "big")
        frame, self._pending = self._pending[:size], self._pending[size:]
        self.received.append(frame)
        return frame

    def _one(self, frame: bytes | bytearray, reply: GXReplyData) -> None:
        self.sock.sendall(bytes(frame))
        buffer = GXByteBuffer()
        while True:
            buffer.set(self.receive_frame())
            if self.client.getData(buffer, reply):
                return

    def exchange(self, frames: Any) -> GXReplyData:
        """Send Gurux's frames, collect the whole reply (all blocks), raise ``GuruxReplyError`` on an error."""
        reply = GXReplyData()
        for frame in frames if isinstance(frames, list) else [frames]:
            self._one(frame, reply)
            while reply.isMoreData():
                self.next_block_requests += 1
                self._one(self.client.receiverReady(reply), reply)
        if reply.error:
            raise GuruxReplyError(int(reply.error))
        return reply

    def associate(self) -> None:
        """AARQ → AARE; with HLS, the reply to StoC (f(StoC) in reply_to_HLS_authentication) → f(CtoS)."""
        self.client.parseAareResponse(self.exchange(self.client.aarqRequest()).data)
        if self.client.getIsAuthenticationRequired():
            self.client.parseApplicationAssociationResponse(
                self.exchange(self.client.getApplicationAssociationRequest()).data)

    def read(self, item: Any, attribute: int) -> Any:
        """GET one attribute; Gurux stores it in ``item`` and the value is returned."""
        reply = self.exchange(self.client.read(item, attribute))
        self.client.updateValue(item, attribute, reply.value)
        return reply.value

    def release(self) -> GXReplyData:
        return self.exchange(self.client.releaseRequest())
