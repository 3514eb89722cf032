"""The whole installation under forged P2 replies: refusals reach the E-meter, the alarm rises, and the
genuine replies after them are filed again (issue 10, item 3)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from meterkast.emeter.amr import AmrStatus
from meterkast.emeter.channels import REJECTION_ALARM_RUN
from meterkast.emeter.events import FrameRejected, LogId, ReadFailed
from meterkast.sim.installation import DriftGasMeterClock, Installation, ShiftEMeterClock, SynchronizeGasMeterClock
from meterkast.sim.p2_link import P2GasLink
from tests.mbus.test_forged_frames import Mitm, set_counter

START = datetime(2025, 10, 20, 9, 40, tzinfo=UTC)
FRAUD_BIT_CHANNEL_1 = 1 << 20  # [P3-4.2.2 §4.2.4]


def test_forged_replies_are_refused_counted_alarmed_and_do_not_block_the_genuine_ones() -> None:
    link = P2GasLink(random.Random(3))
    installation = Installation.build(START, random.Random(3), link=link)
    installation.advance(START + timedelta(hours=2))
    slave = link.bus.slaves[0]
    mitm = Mitm(slave)  # type: ignore[arg-type]
    link.bus.slaves[0] = mitm
    mitm.forge = set_counter(0xFFFF_FFFF)
    events = installation.advance(START + timedelta(hours=5))
    rejected = [e for e in events if isinstance(e, FrameRejected)]
    assert len(rejected) >= REJECTION_ALARM_RUN and all(isinstance(e, FrameRejected) for e in rejected)
    assert all(any(isinstance(f, ReadFailed) and f.at == e.at for f in events) for e in rejected)
    assert installation.emeter.alarm_register & FRAUD_BIT_CHANNEL_1
    assert [e.code for e in installation.emeter.event_log(LogId.MBUS)].count(103) == 1
    assert installation.emeter.rejected_frames(1) == len(rejected)
    mitm.forge = None
    events = installation.advance(START + timedelta(hours=8))
    assert not [e for e in events if isinstance(e, FrameRejected | ReadFailed)]
    last = list(installation.emeter.hourly_profile(1))[-1]
    assert not last.status & AmrStatus.DNV  # genuine values are filed again
    assert not installation.emeter.error_register & FRAUD_BIT_CHANNEL_1


def test_the_time_window_follows_the_e_meter_clock_and_a_drifted_gas_clock_recovers_by_sync() -> None:
    link = P2GasLink(random.Random(4))
    installation = Installation.build(START, random.Random(4), link=link)
    # The E-meter's clock ends up 40 min ahead and the gas meter is synchronised to it: still accepted.
    installation.schedule(START + timedelta(hours=1, minutes=30), ShiftEMeterClock(2400))
    installation.schedule(START + timedelta(hours=1, minutes=31), SynchronizeGasMeterClock(1))
    events = installation.advance(START + timedelta(hours=5))
    assert not [e for e in events if isinstance(e, FrameRejected)]
    # A gas clock two hours behind is refused (rule "clock") until the E-meter synchronises it again.
    installation.schedule(START + timedelta(hours=5, minutes=30), DriftGasMeterClock(-7200, 1))
    events = installation.advance(START + timedelta(hours=7))
    refused = [e for e in events if isinstance(e, FrameRejected)]
    assert refused and all("time stamp" in e.reason for e in refused)
    installation.schedule(START + timedelta(hours=7, minutes=30), SynchronizeGasMeterClock(1))
    events = installation.advance(START + timedelta(hours=10))
    assert not [e for e in events if isinstance(e, FrameRejected)]
    assert not list(installation.emeter.hourly_profile(1))[-1].status & AmrStatus.DNV
