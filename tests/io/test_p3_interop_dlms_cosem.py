"""dlms-cosem 21.3.2 (MIT, test-only) as the central system against our E-meter over TCP.

Its ``DlmsClient.with_tcp_transport`` (blocking sockets, IEC 62056-47 wrapper) connects to ``P3TcpServer``
running in a thread's event loop:

* public client 16, no security: it reads the clock and the E-meter equipment identifier. A register such
  as 1-0:1.8.1 is read-write-denied to it, because DSMR P3 gives the public client no metering data
  ("it must not be allowed to read metering data", §2.1.1; the register tables have no R in the P column),
  so the test checks that refusal as dlms-cosem reports it (``DataResultError``);
* management client 1 with HLS5-GMAC and ciphering: the full association (AARQ with a glo-initiate-request,
  f(StoC)/f(CtoS)), then the +A rate 1 register and its scaler-unit, and an hourly gas profile with a range
  descriptor. dlms-cosem protects xDLMS APDUs with general-glo-ciphering (tag DB) rather than the
  service-specific glo- tags, so the server answers in the form the client used.

dlms-cosem checks that the meter's first invocation counter is above its initial value (0): a fresh meter's
counter starts at 1, so the first management association to a fresh meter succeeds (no offset here). A
second association that reuses the client counter of the first is refused (authentication-failure), one
above it is served.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Iterator

import pytest

pytest.importorskip("dlms_cosem")

from dlms_cosem import cosem as their_cosem
from dlms_cosem import enumerations as their_enums
from dlms_cosem import utils as their_utils
from dlms_cosem.clients.dlms_client import DataResultError, DlmsClient
from dlms_cosem.cosem.capture_object import CaptureObject as TheirCaptureObject
from dlms_cosem.cosem.selective_access import RangeDescriptor as TheirRange
from dlms_cosem.exceptions import DlmsClientException

from meterkast.cosem.access import MeterInfo
from meterkast.dlms import CosemDateTime
from meterkast.emeter import EMeter
from meterkast.io.p3_server import P3TcpServer
from tests.cosem.conftest import CS_TITLE, KEYS, METER_TITLE, two_day_meter
from tests.emeter.conftest import local

HOST = "127.0.0.1"
Iface = their_enums.CosemInterface


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[EMeter, int]]:
    meter = two_day_meter()
    loop = asyncio.new_event_loop()
    server = P3TcpServer(lambda: meter, MeterInfo(METER_TITLE), KEYS, rng=random.Random(9))
    port = loop.run_until_complete(server.start(HOST, 0))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield meter, port, server
    asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def _decoded(raw: bytes) -> object:
    return their_utils.parse_as_dlms_data(raw)


def test_dlms_cosem_public_client_reads_the_clock(served: tuple[EMeter, int, P3TcpServer]) -> None:
    meter, port, _ = served
    client = DlmsClient.with_tcp_transport(HOST, port, client_logical_address=16, server_logical_address=1,
                                           timeout=5)
    with client.session() as session:
        raw = session.get(their_cosem.CosemAttribute(Iface.CLOCK, their_cosem.Obis(0, 0, 1, 0, 0), 2))
        clock = CosemDateTime.decode(_decoded(raw)).to_datetime()  # type: ignore[arg-type]
        assert clock == meter.meter_time().replace(microsecond=0)
        raw = session.get(their_cosem.CosemAttribute(Iface.DATA, their_cosem.Obis(0, 0, 96, 1, 1), 2))
        assert _decoded(raw) == meter.equipment_id.encode()
        with pytest.raises(DataResultError, match="READ_WRITE_DENIED"):
            session.get(their_cosem.CosemAttribute(Iface.REGISTER, their_cosem.Obis(1, 0, 1, 8, 1), 2))


def _management(port: int, counter: int) -> DlmsClient:
    return DlmsClient.with_tcp_transport(
        HOST, port, client_logical_address=1, server_logical_address=1,
        authentication_method=their_enums.AuthenticationMechanism.HLS_GMAC, encryption_key=KEYS.encryption_key,
        authentication_key=KEYS.authentication_key, client_system_title=CS_TITLE,
        client_initial_invocation_counter=counter, timeout=5)


def test_dlms_cosem_management_client_reads_a_register_and_a_profile(
        served: tuple[EMeter, int, P3TcpServer]) -> None:
    meter, port, server = served
    assert server.core.counter.next_value == 1 and not server.core.counters.client_last  # a fresh meter
    client = _management(port, 7)
    register = their_cosem.Obis(1, 0, 1, 8, 1)
    with client.session() as session:
        value = _decoded(session.get(their_cosem.CosemAttribute(Iface.REGISTER, register, 2)))
        scaler_unit = _decoded(session.get(their_cosem.CosemAttribute(Iface.REGISTER, register, 3)))
        assert value == meter.registers.import_kwh()[0] * 1000 and value > 0
        assert scaler_unit == [0, 30]  # Wh (P3 §6.2)
        start, end = local(2024, 3, 2, 8), local(2024, 3, 2, 12)
        clock = TheirCaptureObject(their_cosem.CosemAttribute(Iface.CLOCK, their_cosem.Obis(0, 0, 1, 0, 0), 2))
        rows = _decoded(session.get(
            their_cosem.CosemAttribute(Iface.PROFILE_GENERIC, their_cosem.Obis(0, 1, 24, 3, 0), 2),
            access_descriptor=TheirRange(restricting_object=clock, from_value=start, to_value=end)))
    expected = meter.hourly_profile(1).entries(start, end)
    assert isinstance(rows, list) and len(rows) == len(expected) == 5
    assert [row[2] for row in rows] == [int(e.value_m3 * 1000) for e in expected]
    assert [CosemDateTime.decode(row[0]).to_datetime() for row in rows] == [e.clock for e in expected]


def test_dlms_cosem_reusing_a_client_counter_on_a_new_association_is_refused(
        served: tuple[EMeter, int, P3TcpServer]) -> None:
    """After the management test above (counters from 7): the same start again is refused, five times of five,
    and a client that starts above the last counter the meter accepted is served."""
    _, port, server = served
    clock = their_cosem.CosemAttribute(Iface.CLOCK, their_cosem.Obis(0, 0, 1, 0, 0), 2)
    with _management(port, 500).session() as session:
        session.get(clock)
    last = max(server.core.counters.client_last.values())
    assert last > 500
    for _ in range(5):
        with pytest.raises(DlmsClientException, match=r"REJECTED_PERMANENT.*AUTHENTICATION_FAILED"), \
                _management(port, 500).session() as session:
            session.get(clock)
        assert max(server.core.counters.client_last.values()) == last  # a refused AARQ moves nothing
    with _management(port, last + 1).session() as session:
        assert session.get(clock)
