"""Where a meterkast server listens, and what address to tell the user (issue 15; docs/run.md "From another machine").

Every server ``meterkast run`` and ``meterkast cs serve`` start (P1 TCP, the web app, P3, P4, and the
M-Bus gateway) binds through ``bind_tcp``, so one ``--host`` means the same thing everywhere:

- an IPv4 or IPv6 literal, or a name that resolves to one (``localhost``, the machine's own name);
- ``0.0.0.0``: every IPv4 interface; ``::``: every interface, IPv6 and (where the system allows a
  dual-stack socket, as Linux does by default) IPv4 too. asyncio's ``start_server("::")`` would set
  ``IPV6_V6ONLY`` and leave IPv4 clients out, so the socket is made here and handed to the server;
- loopback stays the default (``DEFAULT_HOST``).

``is_private_host`` says whether a host keeps the server on this machine for the purpose of the web app's
token: only the default loopback addresses (127.0.0.1, ::1, localhost) do. Any other address, another
loopback one such as 127.0.0.2 included, is taken as "beyond loopback": the user chose to share it.

``shown_urls`` gives the addresses to print: for a wildcard bind the machine's non-loopback addresses
(``local_addresses``: the host name's addresses, then the source address the routing table picks for
an outside destination; a UDP ``connect`` sends no packet, so no network is touched), else the bound one.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import re
import socket
from collections.abc import Iterable

from meterkast.errors import InvalidInput, LinkError

DEFAULT_HOST = "127.0.0.1"
PRIVATE_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # every interface: a local client uses loopback
_HOST_NAME = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?")
BACKLOG = 128
# TEST-NET-1 (RFC 5737): never routed; a UDP socket "connected" to it only asks the routing table.
_PROBE = ("192.0.2.1", 9)


def check_host(text: str) -> str:
    """``--host``'s value, if it is an IP literal (``[::1]`` as in a URL too) or a host name; else
    ``InvalidInput`` naming it."""
    host = text.strip().removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(host)) if host not in WILDCARDS else host
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(host):
        raise InvalidInput(f"{text!r} is not an address: give an IP address (127.0.0.1, 0.0.0.0, ::, "
                           "192.168.1.10) or a host name")
    return host


def host_argument(text: str) -> str:
    """``check_host`` for argparse (``--host``): its message, printed as argparse prints a bad value's."""
    try:
        return check_host(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def is_private_host(host: str) -> bool:
    """True only for the default loopback addresses (module docstring): no token needed there."""
    return host.lower() in PRIVATE_HOSTS


def connect_host(host: str) -> str:
    """The address a client on this machine uses to reach a server bound to ``host``."""
    return WILDCARDS.get(host, host)


def bind_tcp(host: str, port: int, *, what: str = "a server", hint: str = "") -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 = a free port); ``LinkError`` naming both if it cannot be.

    ``::`` is dual-stack where the system allows it; SO_REUSEADDR is set (a restart need not wait out
    TIME_WAIT). The socket listens before it is returned, so a client that connects as soon as the address
    is announced is queued, not refused."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise LinkError(f"cannot listen for {what} on {host}: the name does not resolve ({exc.strerror})"
                        f"{'; ' + hint if hint else ''}") from exc
    family, _, _, _, address = infos[0]
    dual = host == "::" and socket.has_dualstack_ipv6()
    try:
        return socket.create_server(address[:2] if family == socket.AF_INET else (address[0], port),
                                    family=family, backlog=BACKLOG, dualstack_ipv6=dual)
    except OSError as exc:
        where = url_host(host)
        raise LinkError(f"cannot listen for {what} on {where}:{port}: {exc.strerror or exc}"
                        f"{'; ' + hint if hint else ''}") from exc


def url_host(host: str) -> str:
    """``host`` as it goes in a URL: IPv6 literals in brackets."""
    return f"[{host}]" if ":" in host else host


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def local_addresses() -> list[str]:
    """This machine's non-loopback unicast addresses, best guess first; no packet is sent (module docstring)."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM):
            found.append(str(info[4][0]))
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(_PROBE)
        found.insert(0, str(probe.getsockname()[0]))
    return usable(found)


def usable(addresses: Iterable[str]) -> list[str]:
    """The addresses another machine could use: no loopback, link-local, unspecified or duplicates."""
    seen: list[str] = []
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%")[0])
        except ValueError:
            continue
        if address.is_loopback or address.is_link_local or address.is_unspecified or str(address) in seen:
            continue
        seen.append(str(address))
    return seen


def shown_urls(scheme: str, host: str, port: int, suffix: str = "",
               addresses: Iterable[str] | None = None) -> list[str]:
    """The URLs to print for a server bound to ``host:port``: the bound address, or for a wildcard the
    machine's addresses (IPv4 only for ``0.0.0.0``), then the loopback one this machine can use."""
    if host not in WILDCARDS:
        return [f"{scheme}://{url_host(host)}:{port}{suffix}"]
    mine = usable(local_addresses() if addresses is None else addresses)
    if host == "0.0.0.0":
        mine = [a for a in mine if ":" not in a]
    return [f"{scheme}://{url_host(a)}:{port}{suffix}" for a in mine] + \
        [f"{scheme}://{url_host(connect_host(host))}:{port}{suffix}"]
