"""The installation with the real P2 path: frames, keys and bus faults between gas meter and E-meter.

The same household and seed through ``DirectGasLink`` and through ``P2GasLink`` must give the E-meter the
same hourly profile: encryption, addressing and framing may not change a single value. Faults and a wrong
key must surface as failed reads, as on a real installation.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.events import ReadFailed
from meterkast.errors import CommandRefused
from meterkast.mbus.keys import wrap_user_key
from meterkast.mbus.virtual import BusFaults
from meterkast.sim.installation import Installation, ReplaceGasMeter, SetMbusUserKey, TransferMbusKey
from meterkast.sim.p2_link import P2GasLink

START = datetime(2025, 10, 24, 21, 40, tzinfo=UTC)  # the installation runs across the end of DST


def build(link: P2GasLink | None = None, seed: int = 5) -> Installation:
    return Installation.build(START, random.Random(seed), link=link)


def test_p2_path_files_the_same_values_as_the_direct_link_across_dst_and_a_replacement() -> None:
    direct, p2 = build(), build(P2GasLink(random.Random(99)))
    for installation in (direct, p2):
        installation.schedule(START + timedelta(days=2, hours=3, minutes=20),
                              ReplaceGasMeter("G0001987654321025", initial_index_m3=Decimal("500")))
        installation.advance(START + timedelta(days=4))
    expected = list(direct.emeter.hourly_profile(1))
    assert len(expected) >= 90
    assert list(p2.emeter.hourly_profile(1)) == expected


def test_every_p2_read_is_encrypted_with_a_rising_frame_counter() -> None:
    link = P2GasLink(random.Random(1))
    installation = build(link)
    counters = []
    for hour in range(1, 6):
        installation.advance(START + timedelta(hours=hour))
        device = link.device(1)
        assert device is not None and device.user_key != bytes(16)
        counters.append(device.guard.last_validated)
    assert all(c is not None for c in counters) and counters == sorted(set(counters))  # type: ignore[type-var]


def test_a_dead_bus_is_a_failed_read_and_a_not_valid_hour() -> None:
    link = P2GasLink(random.Random(1))
    installation = build(link)
    installation.advance(START + timedelta(hours=2))
    link.bus.faults = BusFaults(no_reply=1.0)
    events = installation.advance(START + timedelta(hours=4))
    failures = [e for e in events if isinstance(e, ReadFailed)]
    assert failures and all("no answer" in e.reason for e in failures)
    last = list(installation.emeter.hourly_profile(1))[-1]
    assert last.status & AmrStatus.DNV


def test_a_wrong_key_in_the_e_meter_is_a_failed_read_naming_the_meter() -> None:
    link = P2GasLink(random.Random(1))
    installation = build(link)
    installation.advance(START + timedelta(hours=2))
    device = link.device(1)
    assert device is not None
    device.user_key = bytes(range(16))
    events = installation.advance(START + timedelta(hours=3))
    reasons = [e.reason for e in events if isinstance(e, ReadFailed)]
    assert reasons and "channel 1" in reasons[0] and device.meter.label in reasons[0]


# -- a P2 key change from the central system (P3 class 72 transfer_key + set_encryption_key) --------------

NEW_KEY = bytes(range(16))


def _keyed(seed: int = 3) -> tuple[Installation, P2GasLink]:
    link = P2GasLink(random.Random(seed))
    installation = build(link)
    installation.advance(START + timedelta(hours=2))
    return installation, link


def _wrapped_lsb_first(installation: Installation, default_key: bytes | None = None) -> bytes:
    """What the E-meter hands its P2 side for ``transfer_key``: the wrapped key turned LSB first (P3 §3.2.3.1)."""
    meter = installation.gas_meters()[1]
    return wrap_user_key(default_key or meter.default_key, NEW_KEY)[::-1]


def test_transfer_then_set_key_moves_both_ends_to_the_new_key_without_a_gap() -> None:
    installation, link = _keyed()
    at = installation.now
    installation.handle(at, TransferMbusKey(1, _wrapped_lsb_first(installation)))
    installation.handle(at, SetMbusUserKey(1, NEW_KEY))
    events = installation.advance(START + timedelta(hours=8))
    device = link.device(1)
    assert device is not None and device.user_key == NEW_KEY and device.next_user_key is None
    assert not [e for e in events if isinstance(e, ReadFailed)]
    profile = list(installation.emeter.hourly_profile(1))
    assert all(not e.status & AmrStatus.DNV for e in profile[-5:])


def test_a_read_between_the_two_methods_still_succeeds_with_the_old_key() -> None:
    installation, link = _keyed()
    installation.handle(installation.now, SetMbusUserKey(1, NEW_KEY))  # the E-meter first: the meter keeps its key
    events = installation.advance(START + timedelta(hours=4))
    device = link.device(1)
    assert device is not None and device.next_user_key == NEW_KEY and device.user_key != NEW_KEY
    installation.handle(installation.now, TransferMbusKey(1, _wrapped_lsb_first(installation)))
    events += installation.advance(START + timedelta(hours=6))
    assert not [e for e in events if isinstance(e, ReadFailed)]
    assert device.user_key == NEW_KEY and device.next_user_key is None


def test_a_key_wrapped_with_the_wrong_default_key_is_taken_and_every_read_fails_until_sent_again() -> None:
    installation, _ = _keyed()
    wrong = _wrapped_lsb_first(installation, default_key=bytes(16))
    installation.handle(installation.now, TransferMbusKey(1, wrong))  # no check value: the meter takes it
    installation.handle(installation.now, SetMbusUserKey(1, NEW_KEY))
    events = installation.advance(START + timedelta(hours=5))
    failures = [e for e in events if isinstance(e, ReadFailed)]
    assert failures and all("2F 2F" in e.reason for e in failures)
    assert list(installation.emeter.hourly_profile(1))[-1].status & AmrStatus.DNV
    # Recovery: the set-key records are accepted unencrypted whatever key the meter holds (P2 §6.5).
    installation.handle(installation.now, TransferMbusKey(1, _wrapped_lsb_first(installation)))
    events = installation.advance(START + timedelta(hours=8))
    assert not [e for e in events if isinstance(e, ReadFailed)]


def test_a_key_change_without_a_device_or_with_a_short_key_is_refused() -> None:
    installation, _ = _keyed()
    with pytest.raises(CommandRefused, match="channel 2"):
        installation.handle(installation.now, SetMbusUserKey(2, NEW_KEY))
    with pytest.raises(CommandRefused, match="15 bytes"):
        installation.handle(installation.now, TransferMbusKey(1, NEW_KEY[:15]))
    direct = build()
    with pytest.raises(CommandRefused, match="not over P2"):
        direct.handle(START, SetMbusUserKey(1, NEW_KEY))
