"""The central system's own P3 invocation counter in the store (DSMR P3 §3.2.3.1): reserved in blocks that
never overlap, also across store processes and restarts; on both backends (tests/pg.py)."""

from __future__ import annotations

import threading

import pytest

from meterkast.central.store_sql import COUNTER_SPACE, SqlStore
from meterkast.dlms import InvocationCounter
from meterkast.errors import InvalidInput
from tests.pg import Connect

EMETER = "E0031003239456716"
OTHER = "E0031003239456717"


def test_blocks_follow_each_other_and_a_floor_lifts_them(store: SqlStore) -> None:
    assert store.reserve_invocation_counters(EMETER, 1, 100) == (1, 101)
    assert store.reserve_invocation_counters(EMETER, 1, 100) == (101, 201)
    assert store.reserve_invocation_counters(EMETER, 5000, 10) == (5000, 5010)
    assert store.reserve_invocation_counters(EMETER, 0, 10) == (5010, 5020)
    assert store.reserve_invocation_counters(OTHER, 0, 10) == (0, 10)  # one counter per meter


def test_a_restarted_store_continues_above_its_last_block(connect: Connect) -> None:
    first = SqlStore(connect())
    counter = InvocationCounter(1, reserve=lambda at: first.reserve_invocation_counters(EMETER, at, 50))
    used = [counter.take() for _ in range(120)]
    first.close()
    again = SqlStore(connect())
    restarted = InvocationCounter(1, reserve=lambda at: again.reserve_invocation_counters(EMETER, at, 50))
    assert restarted.take() == 151 > max(used)  # three blocks of 50 were reserved: 1..150
    assert used == list(range(1, 121))


def test_the_counter_space_ends_at_two_to_the_32(store: SqlStore) -> None:
    assert store.reserve_invocation_counters(EMETER, COUNTER_SPACE - 3, 10) == (COUNTER_SPACE - 3, COUNTER_SPACE)
    with pytest.raises(InvalidInput, match="exhausted"):
        store.reserve_invocation_counters(EMETER, 0, 10)
    counter = InvocationCounter(COUNTER_SPACE - 2,
                                reserve=lambda at: store.reserve_invocation_counters(OTHER, at, 10))
    assert [counter.take(), counter.take()] == [COUNTER_SPACE - 2, COUNTER_SPACE - 1]
    with pytest.raises(InvalidInput, match="exhausted"):
        counter.take()  # never wraps to 0 under the same key


@pytest.mark.parametrize(("at_least", "count"), [(-1, 10), (0, 0), (0, -5), (True, 3), ("1", 3)])
def test_bad_reservations_are_refused(store: SqlStore, at_least: object, count: object) -> None:
    with pytest.raises(InvalidInput):
        store.reserve_invocation_counters(EMETER, at_least, count)  # type: ignore[arg-type]


def test_two_store_processes_never_get_the_same_values(connect: Connect) -> None:
    stores = [SqlStore(connect()), SqlStore(connect())]
    blocks: list[tuple[int, int]] = []
    errors: list[BaseException] = []

    def reserve(store: SqlStore) -> None:
        try:
            for _ in range(20):
                blocks.append(store.reserve_invocation_counters(EMETER, 0, 7))
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=reserve, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    values = [v for first, end in blocks for v in range(first, end)]
    assert len(values) == len(set(values)) == 40 * 7
