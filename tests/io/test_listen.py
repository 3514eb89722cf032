"""Where the servers listen (issue 15; io/listen.py): one ``--host`` meaning the same for every server.

Loopback only: 127.0.0.1, 127.0.0.2 (also loopback on Linux, but not a default address: it stands for
"beyond loopback"), ::1, and the wildcards 0.0.0.0 and :: reached over loopback. The machine's own
network addresses are never connected to; ``shown_urls`` is tested with addresses given to it.
"""

from __future__ import annotations

import asyncio
import random
import socket
from datetime import UTC, datetime

import pytest

from meterkast.clock import SimClock
from meterkast.errors import InvalidInput, LinkError
from meterkast.io.listen import (
    bind_tcp,
    bound_port,
    check_host,
    connect_host,
    is_private_host,
    shown_urls,
    url_host,
    usable,
)
from meterkast.io.mbus_gateway import MbusGateway
from meterkast.mbus.virtual import VirtualBus


def ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


@pytest.mark.parametrize(("given", "host"), [
    ("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0"), ("::", "::"), ("[::1]", "::1"), ("::0:1", "::1"),
    ("localhost", "localhost"), ("meterkast.local", "meterkast.local"), (" 192.168.1.10 ", "192.168.1.10"),
])
def test_good_hosts(given: str, host: str) -> None:
    assert check_host(given) == host


@pytest.mark.parametrize("given", ["", "http://0.0.0.0", "host:8000", "a b", "-bad-", "1.2.3.4/24", "[]"])
def test_bad_hosts_are_refused_naming_them(given: str) -> None:
    with pytest.raises(InvalidInput, match="is not an address"):
        check_host(given)


@pytest.mark.parametrize(("host", "private"), [
    ("127.0.0.1", True), ("::1", True), ("localhost", True), ("LOCALHOST", True),
    ("127.0.0.2", False), ("0.0.0.0", False), ("::", False), ("192.168.1.10", False), ("meterkast.local", False),
])
def test_only_the_default_loopback_addresses_need_no_token(host: str, private: bool) -> None:
    assert is_private_host(host) is private


def test_a_wildcard_is_reached_over_loopback_here() -> None:
    assert [connect_host(h) for h in ("0.0.0.0", "::", "127.0.0.2", "::1")] == ["127.0.0.1", "::1", "127.0.0.2", "::1"]
    assert url_host("::1") == "[::1]" and url_host("127.0.0.1") == "127.0.0.1"


def test_the_urls_shown_for_a_wildcard_are_the_machines_addresses_then_loopback() -> None:
    mine = ["192.168.1.23", "127.0.1.1", "fe80::1%eth0", "2001:db8::5", "192.168.1.23", "0.0.0.0", "nonsense"]
    assert usable(mine) == ["192.168.1.23", "2001:db8::5"]
    assert shown_urls("http", "0.0.0.0", 8000, "/", mine) == ["http://192.168.1.23:8000/", "http://127.0.0.1:8000/"]
    assert shown_urls("tcp", "::", 2000, "", mine) == ["tcp://192.168.1.23:2000", "tcp://[2001:db8::5]:2000",
                                                      "tcp://[::1]:2000"]
    assert shown_urls("http", "127.0.0.2", 8000, "/", mine) == ["http://127.0.0.2:8000/"]
    assert shown_urls("http", "0.0.0.0", 8000, "/", []) == ["http://127.0.0.1:8000/"]  # nothing found: loopback


def echo_once(listener: socket.socket, peer: tuple[str, int], family: socket.AddressFamily) -> bytes:
    with socket.socket(family, socket.SOCK_STREAM) as client:
        client.settimeout(10)
        client.connect(peer)
        accepted, _ = listener.accept()
        with accepted:
            accepted.sendall(b"hello")
            return client.recv(5)


@pytest.mark.parametrize(("host", "reach", "family"), [
    ("127.0.0.1", "127.0.0.1", socket.AF_INET), ("127.0.0.2", "127.0.0.2", socket.AF_INET),
    ("0.0.0.0", "127.0.0.1", socket.AF_INET), ("localhost", "127.0.0.1", socket.AF_INET),
])
def test_bind_and_reach_ipv4(host: str, reach: str, family: socket.AddressFamily) -> None:
    with bind_tcp(host, 0) as listener:
        listener.settimeout(10)
        assert echo_once(listener, (reach, bound_port(listener)), family) == b"hello"


@needs_ipv6
def test_bind_ipv6_loopback_and_the_dual_stack_wildcard() -> None:
    with bind_tcp("::1", 0) as listener:
        listener.settimeout(10)
        assert echo_once(listener, ("::1", bound_port(listener)), socket.AF_INET6) == b"hello"
    with bind_tcp("::", 0) as listener:  # every interface, IPv6 and IPv4: the "::" a user expects
        listener.settimeout(10)
        port = bound_port(listener)
        assert echo_once(listener, ("::1", port), socket.AF_INET6) == b"hello"
        if socket.has_dualstack_ipv6():
            assert echo_once(listener, ("127.0.0.1", port), socket.AF_INET) == b"hello"


def test_a_port_in_use_is_a_link_error_naming_the_address() -> None:
    with bind_tcp("127.0.0.2", 0) as taken, pytest.raises(LinkError, match=r"127\.0\.0\.2:\d+.*use --port"):
        bind_tcp("127.0.0.2", bound_port(taken), what="a test", hint="use --port")


def test_a_name_that_does_not_resolve_is_a_link_error() -> None:
    with pytest.raises(LinkError, match="does not resolve"):
        bind_tcp("no-such-host.invalid", 0)


def test_the_mbus_gateway_listens_on_every_interface_too() -> None:
    async def main() -> bytes:
        gateway = MbusGateway(VirtualBus(random.Random(0)), SimClock(datetime(2026, 1, 1, tzinfo=UTC)))
        port = await gateway.start("0.0.0.0", 0)
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return b"connected"
        finally:
            await gateway.stop()

    assert asyncio.run(main()) == b"connected"
