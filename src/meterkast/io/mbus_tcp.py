"""M-Bus over TCP, as libmbus and ser2net gateways carry it: the raw EN 13757-2 byte stream, no extra
framing. ``TcpTransport`` is the master's end; the gateway end (a virtual bus served on a port) is in
``mbus_gateway.py``.
"""

from __future__ import annotations

import asyncio

from meterkast.errors import LinkError
from meterkast.io.tcp import close_quietly, open_tcp


class TcpTransport:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, where: str) -> None:
        self._reader = reader
        self._writer = writer
        self._where = where

    @classmethod
    async def connect(cls, host: str, port: int, timeout_s: float = 5.0) -> TcpTransport:
        reader, writer, where = await open_tcp(host, port, timeout_s, "the M-Bus gateway")
        return cls(reader, writer, where)

    async def write(self, data: bytes) -> None:
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as exc:
            raise LinkError(f"M-Bus gateway {self._where} dropped the connection: {exc}") from exc

    async def read(self, max_wait_s: float) -> bytes:
        try:
            data = await asyncio.wait_for(self._reader.read(4096), max_wait_s)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise LinkError(f"M-Bus gateway {self._where} dropped the connection: {exc}") from exc
        if not data:
            raise LinkError(f"M-Bus gateway {self._where} closed the connection")
        # A reply may arrive in several TCP segments; collect what follows within a short gap.
        while True:
            try:
                more = await asyncio.wait_for(self._reader.read(4096), 0.02)
            except TimeoutError:
                return data
            if not more:
                return data
            data += more

    async def close(self) -> None:
        await close_quietly(self._writer)
