"""LiveSession: hours closed in order whatever the step, telegrams with faults, replay after a crash, Control."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from meterkast.errors import CommandRefused, InvalidInput
from meterkast.live.session import LiveSession
from meterkast.live.store import Store, dump_state, load_state
from meterkast.p1.decode import decode_telegram
from meterkast.sim.installation import DecoupleGasMeter
from tests.live.helpers import START, commit_all, make_session

HOUR = timedelta(hours=1)
TEN_S = timedelta(seconds=10)


def hours_of(session: LiveSession) -> list[tuple[Any, ...]]:
    return [(h.hour, h.consumed_m3, h.index_m3, h.p1_value_m3) for h in session.hour_records()]


def events_of(session: LiveSession, after: datetime = START - HOUR) -> list[tuple[Any, ...]]:
    """Every event handed over since the last call, after ``after``, as (instant, kind, detail).

    ReadingChanged is left out: the gas meter reports it once per advance in which its index moved, so
    how often depends on how time is sliced."""
    return [
        (e.at, e.kind, json.dumps(e.detail, sort_keys=True))
        for commit in session.take_commits()
        for e in commit.events
        if e.kind != "ReadingChanged" and e.at > after
    ]


def test_the_p1_gas_value_of_every_hour_is_the_truths_index() -> None:
    session = make_session()
    session.step(START + 30 * HOUR)
    records = session.hour_records()
    assert [r.hour for r in records] == [START + i * HOUR for i in range(29)], "one record per hour, in order"
    for record in records:
        assert record.index_m3 is not None and record.consumed_m3 is not None
        assert record.p1_value_m3 == record.index_m3, record
    assert sum(r.consumed_m3 or 0 for r in records) > 0


def test_telegram_steps_and_hour_steps_give_the_same_hours_and_events() -> None:
    by_hour, by_telegram = make_session(), make_session()
    end = START + 3 * HOUR
    by_hour.step(end)
    moment = START
    while moment < end:
        moment = by_telegram.next_telegram_at()
        by_telegram.step(moment, telegram=True)
    assert by_telegram.telegrams_made == 3 * 360
    assert hours_of(by_hour) == hours_of(by_telegram)
    assert events_of(by_hour) == events_of(by_telegram)


def test_every_telegram_decodes_and_shows_the_hour_before() -> None:
    session = make_session()
    session.step(START + 2 * HOUR + 5 * TEN_S, telegram=True)
    telegrams = session.telegrams()
    assert [t["seq"] for t in telegrams] == [1, 2, 3]  # two whole hours and the one asked for
    last = decode_telegram(telegrams[-1]["text"].encode())
    assert last.crc_ok is True
    reading = last.mbus[1].reading
    assert reading is not None and reading.time is not None
    assert reading.time.astimezone(START.tzinfo) == START + HOUR  # 02:00's value is read at 02:01


@pytest.mark.parametrize(("kind", "crc_ok"), [("p1_crc_error", False), ("p1_truncate", None)])
def test_p1_faults_spoil_telegrams_and_the_truth_view_shows_the_gap(kind: str, crc_ok: bool | None) -> None:
    session = make_session()
    session.step(START + 2 * HOUR)
    session.inject_fault(kind, 1.0)
    session.step(START + 5 * HOUR)
    spoiled = session.telegrams()[-3:]
    assert all(t["crc_ok"] is crc_ok for t in spoiled)
    if kind == "p1_crc_error":
        assert all(decode_telegram(t["text"].encode()).crc_ok is False for t in spoiled)
    records = {r.hour: r for r in session.hour_records()}
    # The record of [00:00, 01:00) holds the index at 01:00, shown until 02:00: before the fault.
    assert records[START].p1_value_m3 == records[START].index_m3
    assert records[START + HOUR].p1_value_m3 is None, "the P1 stream never showed the index at 02:00"
    session.inject_fault(kind, 0)
    session.step(START + 8 * HOUR)
    assert session.telegrams()[-1]["crc_ok"] is True


def test_a_restart_replays_to_the_committed_hour_and_goes_on_identically() -> None:
    """The in-process twin of the SIGKILL test: commits, a crash between snapshots, a restart."""
    store = Store.open(None)
    live = make_session()
    store.commit(live.take_all()[0], dump_state(live.world))
    live.step(START + 3 * HOUR + 17 * TEN_S)
    live.press_button(1.0)
    live.set_gas_temperature(25.0)
    live.inject_fault("p2_no_reply", 1.0)
    live.step(START + 6 * HOUR)
    commit_all(live, store)
    snapshot = dump_state(live.world)
    commits = live.take_commits()
    assert not commits
    store.commit(live.take_all()[0], snapshot)  # a snapshot at 06:00
    live.break_seal()
    live.inject_fault("p2_no_reply", 0)
    live.step(START + 9 * HOUR + 30 * TEN_S)  # commits for 07:00–09:00, then the crash mid-hour
    commit_all(live, store)

    saved = store.load()
    assert saved is not None and saved.through == START + 9 * HOUR
    restored = LiveSession(
        load_state(saved.state),
        live.clock, None, last_seq=saved.last_seq, last_command=saved.last_command,
        events=store.recent_events(1000), hours=store.hours(),
    )
    restored.replay(saved.commands, saved.through)
    assert restored.now == START + 9 * HOUR

    twin = make_session()  # never interrupted
    twin.step(START + 3 * HOUR + 17 * TEN_S)
    twin.press_button(1.0)
    twin.set_gas_temperature(25.0)
    twin.inject_fault("p2_no_reply", 1.0)
    twin.step(START + 6 * HOUR)
    twin.break_seal()
    twin.inject_fault("p2_no_reply", 0)
    for session in (restored, twin):
        session.step(START + 14 * HOUR)
    assert hours_of(restored) == hours_of(twin)
    stored_events = store.recent_events(100_000)
    commit_all(restored, store)
    assert events_of(twin, after=START + 9 * HOUR) == [
        (e.at, e.kind, json.dumps(e.detail, sort_keys=True))
        for e in store.recent_events(100_000)[len(stored_events):]
        if e.kind != "ReadingChanged"
    ]
    seqs = [e.seq for e in store.recent_events(100_000)]
    assert seqs == list(range(1, len(seqs) + 1)), "event numbers go on without a gap or a repeat"
    stored = store.hours()
    assert [h.hour for h in stored] == [START + i * HOUR for i in range(13)], "no hour lost, none twice"


def test_jumping_the_clock_closes_every_hour_on_the_way() -> None:
    session = make_session()
    session.jump_clock(6 * 3600 + 5)
    assert session.now == START + 6 * HOUR + timedelta(seconds=5)
    assert len(session.take_commits()) == 6
    assert session.clock.now() == session.now


def test_state_and_the_listings_have_the_documented_shape() -> None:
    api = pytest.importorskip("meterkast.web.api")
    schema = pytest.importorskip("meterkast.web.schema")
    session = make_session()
    session.step(START + 26 * HOUR, telegram=True)
    state = session.state()
    schema.check(state, api.STATE, "state")
    assert json.loads(json.dumps(state)) == state
    assert state["truth"]["last_hour"]["hour"] == (START + 25 * HOUR).isoformat()
    schema.check(session.truth(48), {"type": "array", "items": api.TRUTH_HOUR}, "truth")
    schema.check(session.telegrams(), {"type": "array", "items": api.TELEGRAM}, "telegrams")
    schema.check(session.events(), {"type": "array", "items": api.EVENT}, "events")
    for kind in ("hourly", "daily", "monthly"):
        schema.check(session.profile(kind), {"type": "array", "items": api.PROFILE_ENTRY}, kind)
    assert len(session.profile("hourly")) == 26


def test_control_actions_change_the_meter_and_are_refused_when_wrong() -> None:
    session = make_session()
    session.step(START + HOUR)
    assert session.break_seal()["gas_meter"]["alarm"] is True
    assert session.reseal("Stedin")["gas_meter"]["seal_broken"] is False
    lit = session.press_button(0.5)["gas_meter"]["lcd"]["segments"]["lit"]
    assert lit is True
    refusal = session.command_valve("close")
    assert refusal["refused"] is True and "valve" in refusal["reason"]
    assert session.drain_battery(0.5)["gas_meter"]["battery"]["fraction"] < 0.51
    assert session.set_gas_temperature(30)["gas_meter"]["gas_temp_c"] == "30"
    assert session.set_speed(None)["clock"]["speed"] is None
    for bad in (
        lambda: session.press_button(-1), lambda: session.reseal(" "), lambda: session.command_valve("open wide"),
        lambda: session.drain_battery(2), lambda: session.set_speed(0), lambda: session.jump_clock(-1),
        lambda: session.inject_fault("p3_gremlins"), lambda: session.inject_fault("p1_crc_error", 2),
        lambda: session.profile("weekly"), lambda: session.truth(0),
    ):
        with pytest.raises(InvalidInput):
            bad()
    session.inject_fault("p2_wrong_key", True)
    session.step(START + 3 * HOUR)
    failed = [e for e in session.events() if e["kind"] == "ReadFailed"]
    assert failed, "a wrong key makes the hourly read fail"


def test_without_a_gas_meter_meter_actions_are_refused() -> None:
    session = make_session()
    session.world.installation.handle(session.now, DecoupleGasMeter())
    with pytest.raises(CommandRefused):
        session.press_button(1)
    assert session.state()["gas_meter"] is None
