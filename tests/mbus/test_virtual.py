"""The in-memory bus: wired-AND collisions, fault validation, late replies."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterkast.errors import InvalidInput
from meterkast.mbus.virtual import BusFaults, VirtualBus, collide

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Echo:
    def __init__(self, reply: bytes) -> None:
        self.reply = reply

    def on_request(self, now: datetime, request: bytes) -> bytes | None:
        return self.reply


@given(st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=4))
def test_collision_is_the_bitwise_and_padded_with_idle_mark(replies: list[bytes]) -> None:
    combined = collide(replies)
    assert len(combined) == max(len(r) for r in replies)
    for i, byte in enumerate(combined):
        expected = 0xFF
        for reply in replies:
            expected &= reply[i] if i < len(reply) else 0xFF
        assert byte == expected


def test_one_reply_passes_unchanged_and_two_are_counted_as_a_collision() -> None:
    bus = VirtualBus(random.Random(0))
    bus.attach(Echo(b"\xe5"))
    assert bus.transact(NOW, b"\x10\x40\x01\x41\x16").now == b"\xe5"
    bus.attach(Echo(b"\x68\x03"))
    assert bus.transact(NOW, b"\x10\x40\x01\x41\x16").now == bytes((0xE5 & 0x68, 0x03))
    assert (bus.exchanges, bus.collisions) == (2, 1)


def test_late_reply_is_held_back() -> None:
    bus = VirtualBus(random.Random(0), BusFaults(late_reply=1.0, echo=True))
    bus.attach(Echo(b"\xe5"))
    heard = bus.transact(NOW, b"\x10\x40\x01\x41\x16")
    assert (heard.now, heard.late) == (b"\x10\x40\x01\x41\x16", b"\xe5")


@pytest.mark.parametrize("name", ["no_reply", "late_reply", "drop_byte", "flip_bit"])
def test_fault_probability_outside_0_1_is_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match=f"{name}=1.5 must lie between 0 and 1"):
        BusFaults(**{name: 1.5})
