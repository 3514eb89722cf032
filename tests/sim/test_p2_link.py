"""The installation with the real P2 path: frames, keys and bus faults between gas meter and E-meter.

The same household and seed through ``DirectGasLink`` and through ``P2GasLink`` must give the E-meter the
same hourly profile: encryption, addressing and framing may not change a single value. Faults and a wrong
key must surface as failed reads, as on a real installation.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.events import ReadFailed
from meterkast.mbus.virtual import BusFaults
from meterkast.sim.installation import Installation, ReplaceGasMeter
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
