"""Open an M-Bus transport from a URL: ``tcp://host:port`` (a libmbus/ser2net-style gateway) or a serial
device path (``/dev/ttyUSB0``; anything pyserial's ``serial_for_url`` takes, e.g. ``rfc2217://``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from meterkast.errors import InvalidInput
from meterkast.io.mbus_serial import DSMR_P2_BAUD, SerialTransport
from meterkast.io.mbus_tcp import TcpTransport
from meterkast.mbus.master import MbusTransport


def parse_tcp_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise InvalidInput(f"{url!r} is not tcp://host:port")
    return parts.hostname, port


async def open_transport(url: str, baud: int = DSMR_P2_BAUD) -> MbusTransport:
    if url.startswith("tcp:"):
        host, port = parse_tcp_url(url)
        return await TcpTransport.connect(host, port)
    if "://" in url and not url.startswith(("rfc2217://", "socket://", "loop://")):
        raise InvalidInput(f"{url!r}: use tcp://host:port or a serial device such as /dev/ttyUSB0")
    return SerialTransport.open(url, baud)
