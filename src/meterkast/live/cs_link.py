"""``meterkast run --cs``: a central system next to the live installation (issue 6 "Done when"; SYSTEM C1–C4, E3).

``start_cs_link(session, ...)`` opens the E-meter's P3 port (``io.p3_server`` serving the session's live
E-meter, port 4059 by default, DSMR-FACTS §3.5) and a ``cs.service.CentralSystem`` that reads it there, over
TCP, as it would read a meter in the field: management client, HLS5, the meter's own keys. ``serve()``
runs the CS on the session's simulated clock; ``status()`` is the JSON the dashboard shows
(``LiveSession.cs_status``): the consent in force, the CS's last reads, rows stored, what it refused to
read because of consent, and open alarms.

What the link adds for the live case:
- the E-meter's P3 keys are made once (``secrets``) and kept sealed in the CS store, so a restarted run
  answers with the same keys;
- the CS's clock is the session's: rounds follow simulated hours, and at ``--speed max`` missed rounds
  collapse into one whose gaps catch up (``cs.schedule``);
- the CS leaves the E-meter's alarm register alone (``clear_alarm_register=False``): a restarted run
  replays the world from its commands, and a SET from outside them would make the replay differ;
- gas meter couplings reach the CS inventory from the installation's events (DeviceCoupled/Replaced/
  Decoupled, at their instants), standing in for the work orders a fitter files (SYSTEM M3); a water or
  heat meter on a channel (device type not 03h) is no gas meter and stays out of it; each coupled
  gas meter's default key is sealed in the CS store with it, standing in for the manufacturer's key
  delivery, so ``rotate_gas_meter_key`` can wrap new P2 user keys;
- the P3 server's events go to ``LiveSession.p3_event``: a gas meter key change over P3 (class 72
  ``transfer_key`` + ``set_encryption_key``) reaches the gas meter over P2;
- ``set_consent(level)`` records the customer's new choice from the session's now on (never backdated).
P1 does not depend on any of this: the E-meter sends its telegrams whatever the consent (SYSTEM E3).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from meterkast.central import KeySealer, open_store
from meterkast.central.model import Connection, ConsentLevel, KeyKind
from meterkast.central.store import Store
from meterkast.cosem.access import MeterInfo
from meterkast.cosem.session_counters import P3Counters
from meterkast.cs.inventory import GasCoupling, MeterEntry, system_title_for
from meterkast.cs.keyfile import load_or_create_master_key
from meterkast.cs.schedule import ScheduleSettings
from meterkast.cs.service import CentralSystem
from meterkast.dlms import SecurityKeys
from meterkast.dlms.wrapper import DLMS_TCP_PORT
from meterkast.emeter.readings import GAS
from meterkast.errors import InvalidInput, LinkError, MeterkastError
from meterkast.io.listen import DEFAULT_HOST, connect_host
from meterkast.io.p3_server import P3TcpServer
from meterkast.live.session import LiveSession
from meterkast.live.store import Store as RunStore

log = logging.getLogger("meterkast.cs")
HOST = DEFAULT_HOST
CS_SYSTEM_TITLE = b"MKS" + (1).to_bytes(5, "big")
STORE_FILE = "cs.sqlite"
MASTER_KEY_FILE = "cs-master.key"
POLL_S = 0.2
JSON = dict[str, Any]
COUPLING_EVENTS = ("DeviceCoupled", "DeviceReplaced", "DeviceDecoupled")


def connection_of(emeter: str) -> Connection:
    """The connection (EAN) of the live installation, made from its E-meter's serial number."""
    return Connection.from_body("8716871400" + emeter[8:15])


class SessionClock:
    """The CS's clock in a live run: the installation's simulated now."""

    def __init__(self, session: LiveSession) -> None:
        self._session = session

    def now(self) -> datetime:
        return self._session.now


@dataclass(frozen=True, slots=True)
class CsOptions:
    store_url: str
    master_key_file: Path
    p3_port: int = DLMS_TCP_PORT
    consent: ConsentLevel = ConsentLevel.STANDARD
    host: str = HOST  # where the P3 port listens (``meterkast run --host``, issue 15); the CS reads it locally

    @classmethod
    def in_data_dir(cls, data: Path, *, store_url: str | None = None, p3_port: int = DLMS_TCP_PORT,
                    consent: ConsentLevel = ConsentLevel.STANDARD, host: str = HOST) -> CsOptions:
        return cls(store_url or f"sqlite:///{data / STORE_FILE}", data / MASTER_KEY_FILE, p3_port, consent, host)


class CsLink:
    def __init__(self, session: LiveSession, *, store: Store, server: P3TcpServer, cs: CentralSystem,
                 entry: MeterEntry, store_url: str) -> None:
        self.session = session
        self.store = store
        self.server = server
        self.cs = cs
        self.entry = entry
        self.store_url = store_url
        self._events_seen = max((int(e["seq"]) for e in session.events()), default=0)
        self._stopped = asyncio.Event()

    @property
    def p3_address(self) -> str:
        return f"tcp://{self.entry.host}:{self.entry.port}"

    @property
    def store_display(self) -> str:
        return _redact(self.store_url)

    async def serve(self, poll_s: float = POLL_S) -> None:
        """Keep the inventory in step with the installation and let the CS do what is due, until ``stop``."""
        while not self._stopped.is_set():
            self.sync_couplings()
            await self.cs.step(self.session.now)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), poll_s)
        # One step more once the run stopped (``--until … --stop``): what the E-meter holds is read to the end.
        self.sync_couplings()
        await self.cs.step(self.session.now)

    def stop(self) -> None:
        self._stopped.set()

    def sync_couplings(self) -> None:
        """File couplings, replacements and decouplings of gas meters that happened since the last look."""
        emeter = self.entry.emeter
        for event in self.session.events(self._events_seen):
            self._events_seen = max(self._events_seen, int(event["seq"]))
            if event["kind"] not in COUPLING_EVENTS:
                continue
            at, detail = datetime.fromisoformat(event["at"]), event["detail"]
            channel = int(detail["channel"])
            current = self.store.gas_meter_at(emeter, channel, at)
            identity = detail.get("new" if event["kind"] == "DeviceReplaced" else "identity") or {}
            try:
                # A water or heat meter is not a gas meter (its register is m³ water or GJ): the inventory
                # leaves it out, and a gas meter it replaces on the channel is decoupled there.
                if event["kind"] == "DeviceDecoupled" or identity.get("device_type", GAS) != GAS:
                    if current is not None and current.coupled_at < at:
                        self.store.decouple_gas_meter(emeter, channel, at)
                    continue
                gas = str(identity["equipment_identifier"])
                self._keep_default_key(channel, gas, at)
                if current is None:
                    self.store.couple_gas_meter(emeter, channel, gas, at)
                elif current.gas_meter != gas and current.coupled_at < at:
                    self.store.replace_gas_meter(emeter, channel, gas, at)
            except MeterkastError as exc:  # an inventory that disagrees: say so, keep reading the rest
                log.error("CS inventory: %s on channel %d of %s at %s not filed: %s", event["kind"], channel,
                          emeter, at.isoformat(), exc)

    def _keep_default_key(self, channel: int, gas: str, at: datetime) -> None:
        meter = self.session.installation.gas_meters().get(channel)
        if meter is not None and str(meter.meter_number) == gas:
            self.cs.store_gas_meter_default_key(gas, meter.default_key, at)

    async def rotate_gas_meter_key(self, channel: int) -> bytes:
        """A new P2 user key for the gas meter on ``channel``, through the live E-meter's P3 port."""
        return await self.cs.rotate_gas_meter_key(self.entry.emeter, channel, self.session.now)

    def set_consent(self, level: ConsentLevel) -> JSON:
        consent = self.cs.set_consent(self.entry.connection.ean, level, self.session.now)
        return {"connection": consent.connection.ean, "level": consent.level.value,
                "valid_from": consent.valid_from.isoformat()}

    def status(self) -> JSON:
        connection = self.entry.connection
        history = self.store.consent_history(connection)
        level = self.store.consent_at(connection, self.session.now)
        stats = self.server.stats
        return {
            "enabled": True,
            "p3": self.p3_address,
            "store": self.store_display,
            "emeter": self.entry.emeter,
            "connection": connection.ean,
            "consent": level.value,
            "consent_history": [{"level": c.level.value, "valid_from": c.valid_from.isoformat()} for c in history],
            "p3_server": {"connections": stats.connections, "apdus": stats.apdus, "replies": stats.replies},
            **self.cs.status(),
        }

    async def close(self) -> None:
        if self.session.cs is self:  # the dashboard no longer asks a closed store
            self.session.cs = None
        await self.server.stop()
        self.store.close()


def _redact(url: str) -> str:
    head, at, tail = url.rpartition("@")
    return url if not at else head.split("://")[0] + "://…@" + tail


def _live_keys(store: Store, emeter: str) -> SecurityKeys | None:
    try:
        return SecurityKeys(store.get_key(emeter, KeyKind.P3_ENCRYPTION),
                            store.get_key(emeter, KeyKind.P3_AUTHENTICATION))
    except InvalidInput:  # not made yet
        return None


async def start_cs_link(session: LiveSession, options: CsOptions, *, meter_state: RunStore | None = None) -> CsLink:
    """Open the CS store, the E-meter's P3 port and the CS; enrol the E-meter (a no-op after a restart).
    ``meter_state`` (the run's store) keeps the E-meter's P3 counters across restarts (live.store)."""
    master = load_or_create_master_key(options.master_key_file)
    store = open_store(options.store_url, sealer=KeySealer(master, secrets.token_bytes))
    try:
        emeter = session.installation.emeter.equipment_id
        keys = _live_keys(store, emeter) or SecurityKeys(secrets.token_bytes(16), secrets.token_bytes(16))
        start = session.world.first_hour
        known = store.gas_meter_history(emeter) if _emeter_known(store, emeter) else []
        gas = () if known else tuple(
            GasCoupling(channel, str(meter.meter_number), start)
            for channel, meter in sorted(session.installation.gas_meters().items())
        )
        title = system_title_for(emeter)
        saved = None if meter_state is None else meter_state.p3_counters()
        server = P3TcpServer(lambda: session.installation.emeter, MeterInfo(title), keys,
                             counters=None if saved is None else P3Counters.from_json(saved),
                             on_event=session.p3_event,
                             on_counters=None if meter_state is None
                             else lambda counters: meter_state.save_p3_counters(counters.to_json()))
        try:
            port = await server.start(options.host, options.p3_port)
        except OSError as exc:
            raise LinkError(f"cannot open the E-meter's P3 port on {options.host}:{options.p3_port}: "
                            f"{exc.strerror or exc}; use --p3-port") from exc
        entry = MeterEntry(emeter, connection_of(emeter), connect_host(options.host), port, start, gas, title,
                           options.consent, keys)
        settings = ScheduleSettings(max_concurrent=1)
        cs = CentralSystem(store, clock=SessionClock(session), system_title=CS_SYSTEM_TITLE,
                           rng=random.SystemRandom(), counter_start=int(time.time()), settings=settings,
                           clear_alarm_register=False)
        try:
            cs.enrol(entry, at=session.now)
            for meter in session.installation.gas_meters().values():
                cs.store_gas_meter_default_key(str(meter.meter_number), meter.default_key, session.now)
        except BaseException:
            await server.stop()
            raise
    except BaseException:
        store.close()
        raise
    link = CsLink(session, store=store, server=server, cs=cs, entry=entry, store_url=options.store_url)
    session.cs = link
    return link


def _emeter_known(store: Store, emeter: str) -> bool:
    try:
        store.get_emeter(emeter)
    except InvalidInput:
        return False
    return True
