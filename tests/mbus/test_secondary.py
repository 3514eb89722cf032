"""Secondary addressing: the selection frame with wildcards and the wildcard-narrowing scan planner."""

from __future__ import annotations

import random

import pytest

from meterkast.errors import FrameError
from meterkast.mbus.secondary import (
    ProbeResult,
    ScanPlanner,
    SecondaryAddress,
    decode_select_frame,
    encode_select_frame,
)


def test_select_frame_with_wildcards() -> None:
    mask = SecondaryAddress("1234FFFF")
    raw = encode_select_frame(mask)
    assert raw == bytes.fromhex("68 0B 0B 68 53 FD 52 FF FF 34 12 FF FF FF FF") + bytes((sum(raw[4:-2]) & 0xFF, 0x16))
    assert decode_select_frame(raw) == mask


def test_select_frame_full_address_round_trips() -> None:
    address = SecondaryAddress("23456789", "NET", 0x40, 0x03)
    assert decode_select_frame(encode_select_frame(address)) == address
    with pytest.raises(FrameError):
        decode_select_frame(bytes.fromhex("10 5B 01 5C 16"))


def test_matching() -> None:
    slave = SecondaryAddress("23456789", "NET", 0x40, 0x03)
    assert SecondaryAddress().matches(slave)
    assert SecondaryAddress("2345FFFF", "NET").matches(slave)
    assert not SecondaryAddress("2346FFFF").matches(slave)
    assert not SecondaryAddress(medium=0x07).matches(slave)


def run_scan(population: list[SecondaryAddress]) -> ScanPlanner:
    planner = ScanPlanner()
    while (mask := planner.next_probe()) is not None:
        answering = [a for a in population if mask.matches(a)]
        if not answering:
            planner.record(ProbeResult.NONE)
        elif len(answering) == 1:
            planner.record(ProbeResult.ONE, answering[0])
        else:
            planner.record(ProbeResult.COLLISION)
    return planner


def test_scan_finds_every_slave_in_ascending_order() -> None:
    rng = random.Random(7)
    population = [SecondaryAddress(f"{rng.randrange(10**8):08d}", "NET", 0x40, 3) for _ in range(25)]
    population += [SecondaryAddress("12345678", "ITG", 0x42, 3), SecondaryAddress("12345679", "ITG", 0x42, 3)]
    planner = run_scan(population)
    assert sorted(planner.found, key=lambda a: a.ident) == sorted(population, key=lambda a: a.ident)
    assert [a.ident for a in planner.found] == sorted(a.ident for a in planner.found)
    assert planner.unresolved == []


def test_same_id_twice_is_reported_unresolved() -> None:
    twins = [SecondaryAddress("00000001", "NET", 0x40, 3), SecondaryAddress("00000001", "ITG", 0x42, 3)]
    planner = run_scan(twins)
    assert planner.found == []
    assert [a.ident for a in planner.unresolved] == ["00000001"]


def test_empty_bus_takes_ten_probes() -> None:
    assert run_scan([]).probes == 10
