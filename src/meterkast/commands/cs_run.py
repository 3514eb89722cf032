"""The ``meterkast cs`` commands themselves (issue 6; SYSTEM C1–C4; docs/cs.md).

``commands/cs.py`` parses the options; its handlers import this module when a ``cs`` command runs (issue
13 item 6). This is the composition root (STYLE 11): it builds the clock, random sources, the store (with
its master key: ``METERKAST_CS_MASTER_KEY`` or the key file), the links and the P4 app, and hands them
to ``cs.service``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import secrets
import signal
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from meterkast import environment
from meterkast.central import KeySealer, SqlStore, open_store
from meterkast.central.model import Connection, ConsentLevel
from meterkast.clock import SystemClock
from meterkast.commands.cs import ADMIN_TOKEN_ENV, CS_SYSTEM_TITLE, LEVELS
from meterkast.commands.meter import parse_start
from meterkast.cs.fleet import build_fleet
from meterkast.cs.fleet_serve import FleetServer
from meterkast.cs.inventory import format_meters, parse_meters
from meterkast.cs.keyfile import load_or_create_master_key
from meterkast.cs.schedule import ScheduleSettings
from meterkast.cs.service import CentralSystem, StepReport, tcp_opener
from meterkast.errors import InvalidInput
from meterkast.io.listen import bind_tcp, bound_port, connect_host, shown_urls
from meterkast.io.uvicorn_server import UvicornServer

log = logging.getLogger("meterkast.cs")


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def open_cs_store(args: argparse.Namespace, *, keys: bool = True) -> SqlStore:
    sealer = KeySealer(load_or_create_master_key(args.master_key_file), os.urandom) if keys else None
    return open_store(args.store, sealer=sealer)


def _levels(text: str) -> list[ConsentLevel]:
    try:
        return [ConsentLevel(part.strip()) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInput(f"consent levels {text!r} must be a comma-separated list of {', '.join(LEVELS)}") from None


# -- meterkast cs serve ------------------------------------------------------------------------------------




def _open_p4(store: SqlStore, host: str, port: int) -> tuple[UvicornServer, int]:
    from meterkast.p4 import create_p4_app  # noqa: PLC0415 - starlette only when P4 is served

    chosen = environment.get(ADMIN_TOKEN_ENV)
    token = chosen or secrets.token_urlsafe(32)
    if chosen is None:
        print(f"P4 admin token (shown once; set {ADMIN_TOKEN_ENV} to choose it): {token}", file=sys.stderr)
    app = create_p4_app(store, clock=SystemClock(), token_source=lambda: secrets.token_urlsafe(32), admin_token=token)
    sock = bind_tcp(host, port, what="the P4 API", hint="use --http-port, --host or --no-http")
    return UvicornServer(app, sock), bound_port(sock)


def _summary(report: StepReport, cs: CentralSystem) -> str:
    s = cs.stats
    return (f"cs: {report.at.isoformat()}: {report.contacts} contacts, {report.failures} failed, "
            f"{report.rows_stored} rows stored, {report.refusals} reads refused for consent; "
            f"total {s.rows_stored} rows, {len(cs.open_alarms())} open alarms")


async def _serve(args: argparse.Namespace, store: SqlStore) -> int:
    clock = SystemClock()
    settings = ScheduleSettings(max_concurrent=args.max_concurrent)
    cs = CentralSystem(store, clock=clock, system_title=CS_SYSTEM_TITLE, rng=random.SystemRandom(),
                       counter_start=int(time.time()), opener=tcp_opener(args.timeout), settings=settings)
    async with contextlib.AsyncExitStack() as stack:
        if args.fleet is not None:
            now = clock.now()
            start = (now - timedelta(days=args.fleet_days)).replace(minute=0, second=0, microsecond=0)
            fleet = build_fleet(args.fleet, start=start, now=now, rng=random.Random(args.seed),
                                consents=_levels(args.fleet_consent))
            server = await stack.enter_async_context(FleetServer(fleet, rng=random.Random(args.seed + 1),
                                                                 host=args.host))
            entries, enrolled_at = server.entries, start
            _say(f"fleet: {len(entries)} simulated E-meters on {args.host}, one P3 port each")
        else:
            text = _read(args.meters)
            entries, enrolled_at = parse_meters(text, str(args.meters)), clock.now()
        for entry in entries:
            cs.enrol(entry, at=min(enrolled_at, clock.now()))
        _say(f"cs: {len(entries)} E-meters enrolled; store {args.store}")
        if args.once:
            _say(_summary(await cs.step(), cs))
            return 0
        p4 = None if args.no_http else _open_p4(store, args.host, args.http_port)
        if p4 is not None:
            _say(f"P4: {'  '.join(shown_urls('http', args.host, p4[1], '/p4/openapi.json'))}")
        async with asyncio.TaskGroup() as group:
            if p4 is not None:
                group.create_task(p4[0].serve())
            try:
                await _loop(cs, args.poll)
            finally:
                if p4 is not None:
                    p4[0].stop()
    return 0


async def _loop(cs: CentralSystem, poll_s: float) -> None:
    main = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if main is not None:
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
    try:
        while True:
            report = await cs.step()
            if report.contacts:
                _say(_summary(report, cs))
            await asyncio.sleep(poll_s)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"cannot read the meters file {path}: {exc}") from exc


def serve_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="meterkast: %(message)s")
    store = open_cs_store(args)
    try:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM: a clean stop
            return asyncio.run(_serve(args, store))
    finally:
        store.close()
    return 0


# -- meterkast cs fleet --------------------------------------------------------------------------------------


async def _fleet(args: argparse.Namespace) -> int:
    now = parse_start(args.now, "--now") if args.now else datetime.now(UTC)
    start = parse_start(args.start) if args.start else \
        (now - timedelta(days=args.days)).replace(minute=0, second=0, microsecond=0)
    if start > now:
        raise InvalidInput(f"--start {start.isoformat()} lies after --now {now.isoformat()}")
    fleet = build_fleet(args.count, start=start, now=now, rng=random.Random(args.seed), consents=_levels(args.consent))
    async with FleetServer(fleet, rng=random.Random(args.seed + 1), host=args.host) as server:
        _write(args.meters_out, format_meters(server.entries))
        ports = [e.port for e in server.entries]
        _say(f"fleet: {len(ports)} E-meters on {args.host} ports {min(ports, default=0)}…{max(ports, default=0)} "
             f"(reached at {connect_host(args.host)} here); meters file {args.meters_out}")
        await asyncio.Event().wait()  # until Ctrl-C or SIGTERM
    return 0


def _write(path: Path, text: str) -> None:
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds keys
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise InvalidInput(f"cannot write the meters file {path}: {exc}") from exc


def fleet_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="meterkast: %(message)s")

    async def main() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await _fleet(args)

    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        return asyncio.run(main())
    return 0


# -- consent and alarms ---------------------------------------------------------------------------------------


def consent_command(args: argparse.Namespace) -> int:
    store = open_cs_store(args, keys=False)
    try:
        now = datetime.now(UTC)
        consent = store.set_consent(Connection(args.ean), ConsentLevel(args.level), now, now)
        _say(f"{consent.connection}: consent {consent.level.value} from {consent.valid_from.isoformat()}")
        for entry in store.consent_history(consent.connection):
            _say(f"  {entry.valid_from.isoformat()}  {entry.level.value}")
    finally:
        store.close()
    return 0


def alarms_command(args: argparse.Namespace) -> int:
    store = open_cs_store(args, keys=False)
    try:
        for alarm in store.open_alarms(args.emeter):
            seen = alarm.acknowledged_at
            acknowledged = "" if seen is None else f" (acknowledged {seen.isoformat()})"
            _say(f"{alarm.alarm_id}\t{alarm.emeter}\tchannel {alarm.channel}\t{alarm.kind.value}\t"
                 f"{alarm.raised_at.isoformat()}{acknowledged}")
    finally:
        store.close()
    return 0


def alarm_command(args: argparse.Namespace) -> int:
    store = open_cs_store(args, keys=False)
    try:
        now = datetime.now(UTC)
        act = store.acknowledge_alarm if args.verb == "acknowledge" else store.close_alarm
        alarm = act(args.alarm_id, now)
        _say(f"alarm {alarm.alarm_id} ({alarm.kind.value}, {alarm.emeter} channel {alarm.channel}) {args.verb}d")
    finally:
        store.close()
    return 0

