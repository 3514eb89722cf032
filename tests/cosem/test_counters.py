"""P3 invocation counters across associations and restarts (DSMR P3 §3.2.3.1; ``cosem.session_counters``):
a client counter is taken once per key, the meter's own counter starts at 1 and never goes back."""

from __future__ import annotations

import functools
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.cosem.access import Client, MeterInfo
from meterkast.cosem.events import AssociationAborted, AssociationRefused
from meterkast.cosem.loopback import Loopback
from meterkast.cosem.server import P3Server, ServerState
from meterkast.cosem.session_counters import P3Counters, key_identity
from meterkast.dlms import (
    AARE,
    AcseServiceUserDiagnostic,
    AssociationResult,
    AttributeDescriptor,
    InvocationCounter,
    ObisCode,
    SecurityKeys,
    decode_apdu,
)
from meterkast.emeter import EMeter
from meterkast.errors import AuthenticationError, InvalidInput, NoReply, ReplayError
from tests.cosem.conftest import (
    CS_TITLE,
    KEYS,
    METER_TITLE,
    Session,
    management_client,
    management_session,
    two_day_meter,
)

IMPORT_T1 = AttributeDescriptor(3, ObisCode.parse("1-0:1.8.1.255"), 2)
KEK = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
_model_meter = functools.cache(two_day_meter)  # read only: the association tests never advance it
NEW_KEYS = SecurityKeys(bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"),
                        bytes.fromhex("B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"))


def fresh_server(meter: EMeter, counters: P3Counters | None = None) -> P3Server:
    server = P3Server(lambda: meter, MeterInfo(METER_TITLE), KEYS, random.Random(7), counters or P3Counters())
    server.master_key = KEK
    return server


def refused_aarq(server: P3Server, counter: int) -> AssociationRefused:
    association = server.association()
    output = association.receive(Client.MANAGEMENT, next(management_client(counter=counter).associate()))
    assert output.reply is not None
    aare = decode_apdu(output.reply)
    assert isinstance(aare, AARE) and aare.result is AssociationResult.REJECTED_PERMANENT
    assert aare.result_source_diagnostic is AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    assert association.state is ServerState.IDLE
    (event,) = output.events
    assert isinstance(event, AssociationRefused) and isinstance(event.error, ReplayError)
    return event


def test_a_fresh_meter_starts_its_own_counter_at_1_and_takes_any_first_client_counter(meter) -> None:  # type: ignore[no-untyped-def]
    server = fresh_server(meter)
    assert server.counter.next_value == 1 and server.counters.client_last == {}
    session = management_session(server, counter=0)
    assert session.client.association is not None
    assert session.run(session.client.get(IMPORT_T1))
    assert server.counters.client_last == {key_identity(CS_TITLE, KEYS): session.client.counter.next_value - 1}


def test_reusing_a_client_counter_on_a_new_association_is_refused(meter) -> None:  # type: ignore[no-untyped-def]
    server = fresh_server(meter)
    first = management_session(server, counter=10)
    first.run(first.client.get(IMPORT_T1))
    first.run(first.client.release())
    last = first.client.counter.next_value - 1
    assert server.counters.client_last[key_identity(CS_TITLE, KEYS)] == last
    refusals = [refused_aarq(server, counter) for counter in (10, 11, last - 1, last, last)]  # 5 of 5 refused
    assert all(f"not above {last}" in str(r.error) for r in refusals)
    assert server.counters.client_last[key_identity(CS_TITLE, KEYS)] == last  # a refusal moves nothing
    with pytest.raises(AuthenticationError, match="authentication-failure"):
        Session(server, Loopback(server.association(), Client.MANAGEMENT), management_client(counter=10)).run(
            management_client(counter=10).associate())
    after = management_session(server, counter=last + 1)  # the next counter is served
    assert after.run(after.client.get(IMPORT_T1))


def test_a_counter_used_by_another_association_under_the_same_key_ends_this_one(meter) -> None:  # type: ignore[no-untyped-def]
    """Two connections with the same key: A associates at 1, B at 100; A's next frame (4) was never used by
    A, but B has taken counters above it, so the meter drops A (P3 §3.2.3.1 out of sequence)."""
    server = fresh_server(meter)
    a = management_session(server, counter=1)
    b = management_session(server, counter=100)
    assert b.run(b.client.get(IMPORT_T1))
    association = a.link.association
    with pytest.raises(NoReply):
        a.run(a.client.get(IMPORT_T1))
    assert association.state is ServerState.IDLE
    aborted = a.link.events[-1]
    assert isinstance(aborted, AssociationAborted) and "not above" in str(aborted.error)


def test_a_new_key_starts_a_new_counter_history(meter) -> None:  # type: ignore[no-untyped-def]
    """The counter is per key (global_key_transfer): what was remembered for the old key binds only it."""
    server = fresh_server(meter)
    first = management_session(server, counter=50)
    first.run(first.client.replace_keys(NEW_KEYS, KEK))
    first.run(first.client.get(IMPORT_T1))
    first.run(first.client.release())
    old_id, new_id = key_identity(CS_TITLE, KEYS), key_identity(CS_TITLE, NEW_KEYS)
    assert server.counters.client_last[old_id] < server.counters.client_last[new_id]
    second = management_session(server, keys=NEW_KEYS, counter=server.counters.client_last[new_id] + 1)
    assert second.run(second.client.get(IMPORT_T1))
    server.keys = KEYS  # back to the old key (a test shortcut): its history still holds
    refused_aarq(server, server.counters.client_last[old_id])


def test_the_key_identity_names_the_sender_and_a_fingerprint_never_the_key() -> None:
    identity = key_identity(CS_TITLE, KEYS)
    assert identity.startswith(CS_TITLE.hex().upper() + "/")
    assert KEYS.encryption_key.hex() not in identity.lower()
    assert KEYS.authentication_key.hex() not in identity.lower()
    assert identity != key_identity(CS_TITLE, NEW_KEYS)
    assert identity == key_identity(CS_TITLE, SecurityKeys(KEYS.encryption_key, NEW_KEYS.authentication_key))


def test_a_restarted_meter_goes_on_from_its_saved_counters(meter) -> None:  # type: ignore[no-untyped-def]
    """The state a shell persists (``to_json``) is all a restart needs: no IV of the meter again, no client
    counter it accepted again."""
    server = fresh_server(meter)
    session = management_session(server, counter=3)
    session.run(session.client.get(IMPORT_T1))
    saved = json.dumps(server.counters.to_json())
    used_by_meter = server.counter.next_value - 1
    restarted = fresh_server(meter, P3Counters.from_json(json.loads(saved)))
    assert restarted.counter.next_value == used_by_meter + 1
    refused_aarq(restarted, 3)
    again = management_session(restarted, counter=session.client.counter.next_value)
    again.run(again.client.get(IMPORT_T1))
    assert restarted.counter.next_value > used_by_meter + 1


def test_the_version_moves_with_every_change_to_persist() -> None:
    counters = P3Counters()
    before = counters.version
    counters.server.take()
    assert counters.version != before
    before = counters.version
    counters.accept_client(CS_TITLE, KEYS, 5)
    assert counters.version != before
    before = counters.version
    with pytest.raises(ReplayError):
        counters.accept_client(CS_TITLE, KEYS, 5)
    assert counters.version == before


@pytest.mark.parametrize("data", [None, [], {"server_next": -1}, {"server_next": 2**32}, {"server_next": "1"},
                                  {"client_last": []}, {"client_last": {"x": True}}, {"client_last": {"x": -2}}])
def test_a_damaged_saved_state_is_refused(data: object) -> None:
    with pytest.raises(InvalidInput):
        P3Counters.from_json(data)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=30))
def test_accepted_client_counters_only_rise_per_key(counters: list[int]) -> None:
    state = P3Counters()
    accepted: list[int] = []
    for counter in counters:
        try:
            state.accept_client(CS_TITLE, KEYS, counter)
        except ReplayError:
            assert accepted and counter <= accepted[-1]
            continue
        accepted.append(counter)
    assert accepted == sorted(set(accepted))
    assert P3Counters.from_json(json.loads(json.dumps(state.to_json()))).client_last == state.client_last


def test_the_server_counter_round_trips_and_never_starts_at_zero() -> None:
    assert P3Counters().server.next_value == 1
    assert P3Counters.from_json({}).server.next_value == 1
    assert P3Counters.from_json({"server_next": 77, "client_last": {}}).to_json() == {"server_next": 77,
                                                                                       "client_last": {}}
    assert P3Counters(InvocationCounter(9)).server.next_value == 9


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=6))
def test_every_served_association_starts_above_all_counters_used_before(starts: list[int]) -> None:
    """Clients with arbitrary first counters, one after another, same key: the meter serves one exactly when
    its AARQ counter is above every counter it accepted before, and its own counter only rises."""
    meter = _model_meter()
    server = fresh_server(meter)
    highest: int | None = None
    own = server.counter.next_value
    for start in starts:
        session = Session(server, Loopback(server.association(), Client.MANAGEMENT),
                          management_client(counter=start))
        try:
            session.run(session.client.associate())
            session.run(session.client.release())
        except AuthenticationError:
            assert highest is not None and start <= highest
        else:
            assert highest is None or start > highest
            highest = session.client.counter.next_value - 1
        assert server.counter.next_value >= own
        own = server.counter.next_value
    assert highest is not None and server.counters.client_last[key_identity(CS_TITLE, KEYS)] == highest
