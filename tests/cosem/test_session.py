"""Client and server in memory, both clients of DSMR P3 §2.1: association, GET (normal, with-list, blocks),
SET, ACTION and release, the bytes passed between the two state machines."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from meterkast.cosem.client import ClientState
from meterkast.cosem.events import (
    AssociationEstablished,
    AssociationReleased,
    MbusCommandReceived,
    MeterEventsRaised,
)
from meterkast.cosem.readings import read_clock, read_register
from meterkast.cosem.server import ServerState
from meterkast.cosem.services import MAX_LIST_REFERENCES
from meterkast.dlms import (
    ActionResult,
    Array,
    AttributeDescriptor,
    AttributeWithSelection,
    ClockStatus,
    CosemDateTime,
    DataAccessResult,
    DoubleLongUnsigned,
    Integer,
    LongUnsigned,
    MethodDescriptor,
    ObisCode,
    OctetString,
    encode_data,
)
from meterkast.emeter.events import LogId, ValveCommandRefused
from meterkast.errors import CommandRefused
from tests.cosem.conftest import (
    CS_TITLE,
    METER_TITLE,
    NOW,
    make_server,
    management_session,
    public_session,
    two_day_meter,
)

LN = ObisCode.parse
CLOCK_TIME = AttributeDescriptor(8, LN("0-0:1.0.0.255"), 2)
IMPORT_T1 = LN("1-0:1.8.1.255")
OBJECT_LIST = AttributeDescriptor(15, LN("0-0:40.0.0.255"), 2)


def test_public_client_reads_the_clock_without_security(server) -> None:  # type: ignore[no-untyped-def]
    session = public_session(server)
    assert session.client.association is not None and session.client.association.server_max_pdu == 1024
    clock = session.run(read_clock(session.client))
    assert clock == server.meter().meter_time().replace(microsecond=0)
    assert clock.utcoffset() == timedelta(hours=1)  # CET: deviation -60 (P3 §5.3)
    session.run(session.client.release())
    assert session.client.state is ClientState.IDLE and session.link.association.state is ServerState.IDLE
    assert [type(e) for e in session.link.events] == [AssociationEstablished, AssociationReleased]


def test_public_client_has_no_metering_data_and_no_set_or_action(server) -> None:  # type: ignore[no-untyped-def]
    session = public_session(server)
    # "it must not be allowed to read metering data, or perform any programming" (P3 §2.1.1, §2.2)
    assert session.run(session.client.get(AttributeDescriptor(3, IMPORT_T1, 2))) is DataAccessResult.READ_WRITE_DENIED
    assert session.run(session.client.get(AttributeDescriptor(8, LN("0-0:1.0.0.255"), 3))) is \
        DataAccessResult.READ_WRITE_DENIED  # time_zone: management only
    with pytest.raises(CommandRefused, match="SERVICE_NOT_SUPPORTED"):
        session.run(session.client.set(CLOCK_TIME, OctetString(bytes(12))))
    with pytest.raises(CommandRefused, match="SERVICE_NOT_SUPPORTED"):
        session.run(session.client.action(MethodDescriptor(70, LN("0-1:24.4.0.255"), 1), Integer(0)))
    assert session.client.state is ClientState.ASSOCIATED  # refusals are not protocol errors


def test_management_client_reads_registers_with_hls5_and_ciphering(server) -> None:  # type: ignore[no-untyped-def]
    session = management_session(server)
    association = session.client.association
    assert association is not None and association.server_system_title == METER_TITLE
    value, unit = session.run(read_register(session.client, 3, IMPORT_T1))
    meter = server.meter()
    assert value == meter.registers.import_kwh()[0] * 1000 and unit == 30  # Wh, scaler 0 (P3 §6.2)
    gas, gas_unit = session.run(read_register(session.client, 4, LN("0-1:24.2.1.255")))
    master = meter.master_value(1)
    assert gas == master.value_m3 and gas_unit == 14
    assert session.link.events[0] == AssociationEstablished(1, CS_TITLE)


def test_get_with_list_answers_what_it_can(server) -> None:  # type: ignore[no-untyped-def]
    session = management_session(server)
    items = [AttributeWithSelection(AttributeDescriptor(3, IMPORT_T1, 2)),
             AttributeWithSelection(AttributeDescriptor(3, LN("1-0:9.9.9.255"), 2)),
             AttributeWithSelection(AttributeDescriptor(1, IMPORT_T1, 2)),
             AttributeWithSelection(AttributeDescriptor(4, LN("0-3:24.2.1.255"), 2))]
    results = session.run(session.client.get_with_list(items))
    assert isinstance(results[0], DoubleLongUnsigned)
    assert results[1:] == (DataAccessResult.OBJECT_UNDEFINED, DataAccessResult.OBJECT_CLASS_INCONSISTENT,
                           DataAccessResult.OBJECT_UNAVAILABLE)  # P3 §3.5; channel 3 never had a device
    too_many = [items[0]] * (MAX_LIST_REFERENCES + 1)  # P3 §2.1.3: at most 16
    with pytest.raises(CommandRefused, match="OPERATION_NOT_POSSIBLE"):
        session.run(session.client.get_with_list(too_many))


def test_large_answers_come_in_blocks(server) -> None:  # type: ignore[no-untyped-def]
    session = management_session(server)
    sizes: list[int] = []
    original = session.link.exchange

    def spy(apdu: bytes) -> bytes:
        reply = original(apdu)
        sizes.append(len(reply))
        return reply

    session.link.exchange = spy  # type: ignore[method-assign]
    listed = session.run(session.client.get(OBJECT_LIST))
    assert isinstance(listed, Array) and len(encode_data(listed)) > 3000
    assert len(sizes) > 3 and max(sizes) <= 1024  # client max receive PDU (P3 §2.1.3)
    pair = [AttributeWithSelection(OBJECT_LIST)] * 2
    assert session.run(session.client.get_with_list(pair)) == (listed, listed)


def test_set_adjusts_the_clock_and_clears_the_alarm_register() -> None:
    meter = two_day_meter()
    session = management_session(make_server(meter))
    later = meter.meter_time() + timedelta(minutes=5)
    value = OctetString(CosemDateTime.from_datetime(later, ClockStatus(0)).encode())
    assert session.run(session.client.set(CLOCK_TIME, value)) is DataAccessResult.SUCCESS
    assert meter.meter_time() == later
    assert [e.code for e in meter.event_log(LogId.STANDARD)[-2:]] == [4, 5]  # beyond 60 s: events 4 and 5
    alarm = AttributeDescriptor(1, LN("0-0:97.98.0.255"), 2)
    assert session.run(session.client.set(alarm, DoubleLongUnsigned(0))) is DataAccessResult.SUCCESS
    assert meter.alarm_register == 0 and meter.event_log(LogId.STANDARD)[-1].code == 11
    assert session.run(session.client.set(AttributeDescriptor(1, LN("0-0:96.7.21.255"), 2), LongUnsigned(3))) \
        is DataAccessResult.READ_WRITE_DENIED
    assert session.run(session.client.set(alarm, OctetString(b"x"))) is DataAccessResult.TYPE_UNMATCHED
    assert any(isinstance(e, MeterEventsRaised) for e in session.link.events)


def test_set_with_datablocks_writes_the_consumer_message() -> None:
    meter = two_day_meter()
    session = management_session(make_server(meter))
    text = OctetString(b"Storing gepland, excuses voor het ongemak. " * 23)  # 1012 octets: more than a PDU
    sent: list[int] = []
    original = session.link.exchange

    def spy(apdu: bytes) -> bytes:
        sent.append(len(apdu))
        return original(apdu)

    session.link.exchange = spy  # type: ignore[method-assign]
    attribute = AttributeDescriptor(1, LN("0-0:96.13.0.255"), 2)
    assert session.run(session.client.set(attribute, text)) is DataAccessResult.SUCCESS
    assert len(sent) == 2 and max(sent) <= 1024  # "Block transfer with Set" (P3 §2.1.3)
    assert meter.text_message == text.value.decode()
    assert session.run(session.client.get(attribute)) == text


def test_valve_commands_are_refused_and_logged() -> None:
    meter = two_day_meter()
    session = management_session(make_server(meter))
    for method in (1, 2):  # remote_disconnect, remote_reconnect
        result, data = session.run(session.client.action(MethodDescriptor(70, LN("0-1:24.4.0.255"), method),
                                                         Integer(0)))
        assert (result, data) == (ActionResult.READ_WRITE_DENIED, None)  # P3 §2.2; SYSTEM G12
    assert [e.code for e in meter.event_log(LogId.MBUS)[-2:]] == [230, 230]  # visible refusal (SYSTEM E4)
    raised = [e for batch in session.link.events if isinstance(batch, MeterEventsRaised) for e in batch.events]
    assert [type(e) for e in raised] == [ValveCommandRefused, ValveCommandRefused]
    state = session.run(session.client.get(AttributeDescriptor(70, LN("0-1:24.4.0.255"), 3)))
    assert state.value == 1  # type: ignore[union-attr]  # still connected


def test_mbus_client_methods_go_to_the_shell() -> None:
    meter = two_day_meter()
    session = management_session(make_server(meter))
    setup = LN("0-1:24.1.0.255")
    wrapped = OctetString(bytes(range(24)))
    result, _ = session.run(session.client.action(MethodDescriptor(72, setup, 8), wrapped))
    assert result is ActionResult.SUCCESS  # "return success as soon as the command was received" (P3 §3.5)
    command = next(e for e in session.link.events if isinstance(e, MbusCommandReceived))
    assert command == MbusCommandReceived(1, "transfer_key", OctetString(bytes(range(24))[::-1]))  # LSB first
    assert session.run(session.client.action(MethodDescriptor(72, setup, 8), Integer(0)))[0] is \
        ActionResult.TYPE_UNMATCHED
    assert session.run(session.client.action(MethodDescriptor(72, setup, 2), Integer(0)))[0] is ActionResult.SUCCESS
    assert not meter.is_coupled(1)
    assert session.run(session.client.action(MethodDescriptor(72, setup, 3), Integer(0)))[0] is \
        ActionResult.OBJECT_UNAVAILABLE  # nothing left to capture on channel 1


def test_counters_move_by_one_per_frame_and_the_meter_counter_survives_associations(server) -> None:  # type: ignore[no-untyped-def]
    first = management_session(server, counter=500)
    first.run(first.client.get(CLOCK_TIME))
    assert first.client.counter.next_value == 504  # AARQ 500, f(StoC) 501, HLS action 502, GET 503
    first.run(first.client.release())
    after_first = server.counter.next_value
    second = management_session(server, counter=505)
    assert server.counter.next_value > after_first  # the meter never reuses a counter (P3 §3.2.3.1)
    second.run(second.client.get(CLOCK_TIME))


def test_the_model_advances_between_requests(server) -> None:  # type: ignore[no-untyped-def]
    session = public_session(server)
    assert session.run(read_clock(session.client)).astimezone(NOW.tzinfo) == NOW
    value = server.meter().registers.import_kwh()[1]
    assert value > Decimal(0)
