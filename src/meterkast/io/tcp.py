"""What every TCP adapter in ``meterkast.io`` does the same way: connect within a timeout, a refusal or a
timeout becoming ``LinkError`` that names the peer (``raise ... from``), and close without minding a peer
that has already gone.
"""

from __future__ import annotations

import asyncio
import contextlib

from meterkast.errors import LinkError


async def open_tcp(host: str, port: int, timeout_s: float,
                   peer: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, str]:
    """Reader, writer and ``tcp://host:port``; ``peer`` names what was to answer ("the P1 bridge")."""
    where = f"tcp://{host}:{port}"
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except (OSError, TimeoutError) as exc:
        raise LinkError(f"cannot reach {peer} at {where}: {exc}") from exc
    return reader, writer, where


async def close_quietly(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):  # the peer went first: nothing left to close
        await writer.wait_closed()
