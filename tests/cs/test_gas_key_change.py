"""A gas meter's P2 user key changed by the central system through the E-meter (issue 6, DSMR-FACTS §2.5).

End to end in one process: the CS (``rotate_gas_meter_key``) talks P3 over TCP to the live E-meter's port,
whose class 72 ``transfer_key`` / ``set_encryption_key`` reach the installation (``LiveSession.p3_event``),
which relays the wrapped key over the P2 bus to the gas meter (``P2GasLink``). After the change the gas
meter's replies are encrypted with the new key and the hourly reads go on without a gap; a key wrapped with
a wrong default key is taken by the gas meter all the same (P2 has no check value), the reads fail, and the
CS sees it as an M-Bus communication error alarm. Sending the key again with the right default key recovers.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from meterkast.central.model import AlarmKind, ConsentLevel, KeyKind
from meterkast.emeter.amr import AmrStatus
from meterkast.live.cs_link import CsLink, CsOptions, start_cs_link
from meterkast.live.session import LiveSession
from meterkast.sim.p2_link import P2GasLink
from tests.live.helpers import make_session

HOUR = timedelta(hours=1)


async def _run(session: LiveSession, link: CsLink, hours: int) -> None:
    for _ in range(hours):
        session.step(session.now + HOUR)
        link.sync_couplings()
        await link.cs.step(session.now)


def _p2(session: LiveSession) -> P2GasLink:
    link = session.installation.link
    assert isinstance(link, P2GasLink)
    return link


def _read_failures(session: LiveSession, after: int) -> list[dict[str, object]]:
    return [e for e in session.events(after) if e["kind"] == "ReadFailed"]


def _last_seq(session: LiveSession) -> int:
    return max((int(e["seq"]) for e in session.events()), default=0)


def test_the_cs_gives_the_gas_meter_a_new_key_and_the_hourly_reads_go_on(tmp_path: Path) -> None:
    session = make_session()
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.DETAILED)

    async def main() -> tuple[bytes, bytes, int]:
        link = await start_cs_link(session, options)
        try:
            await _run(session, link, 3)
            old = _p2(session).device(1)
            assert old is not None
            old_key = old.user_key
            seen = _last_seq(session)
            new = await link.rotate_gas_meter_key(1)
            await _run(session, link, 6)
            assert not _read_failures(session, seen)
            gas = str(session.installation.gas_meters()[1].meter_number)
            assert link.store.get_key(gas, KeyKind.P2_USER) == new == link.store.get_key(gas, KeyKind.P2_USER_PENDING)
            assert not [a for a in link.cs.open_alarms() if a.kind is AlarmKind.MBUS_COMMUNICATION_ERROR]
            return old_key, new, link.cs.stats.failures
        finally:
            await link.close()

    old_key, new, failures = asyncio.run(main())
    device = _p2(session).device(1)
    assert device is not None and device.user_key == new != old_key and device.next_user_key is None
    assert failures == 0
    profile = list(session.installation.emeter.hourly_profile(1))
    assert len(profile) >= 8 and not any(e.status & AmrStatus.DNV for e in profile[1:])  # no gap
    assert [e["kind"] for e in session.events() if e["kind"] == "CommandFailed"] == []


def test_a_wrong_default_key_breaks_the_reads_the_cs_sees_it_and_a_new_rotation_recovers(tmp_path: Path) -> None:
    session = make_session()
    options = CsOptions.in_data_dir(tmp_path, p3_port=0, consent=ConsentLevel.DETAILED)

    async def main() -> tuple[list[dict[str, object]], list[AlarmKind], list[dict[str, object]]]:
        link = await start_cs_link(session, options)
        try:
            await _run(session, link, 3)
            gas = str(session.installation.gas_meters()[1].meter_number)
            right = link.store.get_key(gas, KeyKind.P2_DEFAULT)
            link.store.put_key(gas, KeyKind.P2_DEFAULT, bytes(16), session.now)  # a wrong key in the inventory
            seen = _last_seq(session)
            await link.rotate_gas_meter_key(1)  # the E-meter acknowledges: it cannot tell (P3 §3.5)
            await _run(session, link, 4)
            failed = _read_failures(session, seen)
            alarms = [a.kind for a in link.cs.open_alarms()]
            link.store.put_key(gas, KeyKind.P2_DEFAULT, right, session.now)
            await link.rotate_gas_meter_key(1)  # Set new key is accepted unencrypted whatever key it holds
            seen = _last_seq(session)
            await _run(session, link, 3)
            return failed, alarms, _read_failures(session, seen)
        finally:
            await link.close()

    failed, alarms, after = asyncio.run(main())
    assert failed and all("2F 2F" in str(e["detail"]["reason"]) for e in failed)  # type: ignore[index]
    assert AlarmKind.MBUS_COMMUNICATION_ERROR in alarms
    assert after == []
