"""A P3 client over TCP: the IEC 62056-47 wrapper around the sans-I/O ``meterkast.cosem.client``
(DSMR 4.2.2 P3 §3.1; SYSTEM C1).

``P3TcpClient.connect(host, port, client)`` opens the connection; ``run(procedure)`` drives any procedure
of ``P3Client`` or ``meterkast.cosem.readings`` (``associate``, ``get``, ``read_profile``, ``release`` …):
each APDU it yields is wrapped (source wPort = the client SAP, destination wPort 1, the management logical
device) and sent, and the next whole frame from the meter is handed back. ``async with`` associates on
entry and releases and closes on exit.

Rules this module keeps: a meter that does not answer within ``timeout_s`` raises ``NoReply`` (DSMR meters
answer an out-of-sequence frame counter with silence, P3 §3.2.3.1); a closed or broken connection raises
``LinkError``; either leaves the client IDLE (``P3Client.link_lost``), to associate again; OS errors are
translated at this boundary (``raise ... from``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from types import TracebackType
from typing import TypeVar

from meterkast.cosem.client import Association, P3Client, Procedure
from meterkast.cosem.readings import GasProfileRow, read_clock, read_profile
from meterkast.dlms import ObisCode, WrapperFrame, WrapperFramer, encode_wrapper
from meterkast.dlms.wrapper import MANAGEMENT_LOGICAL_DEVICE
from meterkast.errors import LinkError, NoReply
from meterkast.io.tcp import close_quietly, open_tcp

T = TypeVar("T")


class P3TcpClient:
    def __init__(self, client: P3Client, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str,
                 timeout_s: float) -> None:
        self.client = client
        self._reader = reader
        self._writer = writer
        self._where = where
        self.timeout_s = timeout_s
        self._framer = WrapperFramer()
        self._frames: list[WrapperFrame] = []

    @classmethod
    async def connect(cls, host: str, port: int, client: P3Client, *, timeout_s: float = 10.0) -> P3TcpClient:
        reader, writer, where = await open_tcp(host, port, timeout_s, "the E-meter's P3 port")
        return cls(client, reader, writer, where, timeout_s)

    async def exchange(self, apdu: bytes) -> bytes:
        """Send one APDU, return the APDU of the next frame from the meter."""
        frame = WrapperFrame(int(self.client.client), MANAGEMENT_LOGICAL_DEVICE, apdu)
        try:
            self._writer.write(encode_wrapper(frame))
            await self._writer.drain()
            while not self._frames:
                data = await asyncio.wait_for(self._reader.read(65536), self.timeout_s)
                if not data:
                    raise LinkError(f"the E-meter at {self._where} closed the connection")
                self._frames += self._framer.feed(data)
        except TimeoutError as exc:
            raise NoReply(f"the E-meter at {self._where} did not answer within {self.timeout_s} s") from exc
        except OSError as exc:
            raise LinkError(f"the connection to the E-meter at {self._where} failed: {exc}") from exc
        return self._frames.pop(0).apdu

    async def run(self, procedure: Procedure[T]) -> T:
        """Drive a ``P3Client`` procedure over this connection."""
        try:
            request = next(procedure)
            while True:
                request = procedure.send(await self.exchange(request))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        except LinkError:
            self.client.link_lost()  # the association cannot be trusted any more
            raise

    async def associate(self) -> Association:
        return await self.run(self.client.associate())

    async def release(self) -> None:
        await self.run(self.client.release())

    async def read_clock(self) -> datetime:
        return await self.run(read_clock(self.client))

    async def read_profile(self, logical_name: ObisCode, from_: datetime | None = None, to: datetime | None = None,
                           *, channel: int = 1) -> list[GasProfileRow]:
        return await self.run(read_profile(self.client, logical_name, from_, to, channel=channel))

    async def close(self) -> None:
        await close_quietly(self._writer)

    async def __aenter__(self) -> P3TcpClient:
        await self.associate()
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        try:
            if error is None:
                await self.release()
        finally:
            await self.close()
