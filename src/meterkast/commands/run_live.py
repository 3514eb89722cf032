"""``meterkast run`` itself: the composition root of a live run (issue 5; docs/run.md).

``commands/run.py`` parses the options and calls ``run_command`` here, so that building the parser does not
import the simulation, the store, the servers and the web app (issue 13 item 6). This module builds the
random source, the installation (from a scenario), the clock, the store and the adapters, and hands them to
``live.runner`` (STYLE 11). With ``--json`` stdout carries only the hourly JSON objects; every other line
(where the servers listen, the token's whereabouts) goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import random
import signal
import sys
from collections.abc import Callable
from typing import Any

from meterkast.central.model import ConsentLevel
from meterkast.clock import SimClock
from meterkast.commands import run_situation
from meterkast.commands.meter import parse_start
from meterkast.commands.mqtt_args import maybe_publishing, mqtt_publisher
from meterkast.commands.run import HOST, parse_speed
from meterkast.commands.run_web import WebServer, open_web, show_token
from meterkast.errors import InvalidInput
from meterkast.io.listen import shown_urls
from meterkast.io.mqtt_publisher import MqttPublisher
from meterkast.io.p1_server import InstantPacer, P1Server
from meterkast.live.cs_link import CsLink, CsOptions, start_cs_link
from meterkast.live.mqtt_output import MqttOutput
from meterkast.live.runner import Runner
from meterkast.live.session import EVENT_WINDOW, HOUR_WINDOW, LiveSession, P1Faults, World
from meterkast.live.store import Commit, HourRecord, Store, dump_state, load_state
from meterkast.scenario_files import DEFAULT_SCENARIO, load_scenario, load_weather
from meterkast.sim.p1_source import P1Cipher
from meterkast.sim.scenario import Scenario
from meterkast.timeutil import HOUR

FAULT_SEED_SALT = 0x50315F46  # the P1 output stage's own generator: seed ^ salt, never the installation's

log = logging.getLogger(__name__)


# -- what a new run is built from ------------------------------------------------------------------------


def plan_from(args: argparse.Namespace) -> Scenario:
    """The scenario (``default``: the embedded defaults) with the command line's overrides."""
    scenario = run_situation.base_scenario(args) or load_scenario(args.scenario)
    changes: dict[str, Any] = {}
    if args.seed is not None:
        changes["seed"] = args.seed
    if args.speed is not None:
        changes["speed"] = parse_speed(args.speed)
    if args.start is not None:
        if scenario.timeline:
            raise InvalidInput(
                f"--start: scenario {scenario.name!r} has a timeline fixed to its start "
                f"({scenario.start.isoformat()}); change the start in the scenario file instead"
            )
        changes["start"] = parse_start(args.start)
    return dataclasses.replace(scenario, **changes) if changes else scenario


def settings_of(args: argparse.Namespace, scenario: Scenario) -> dict[str, Any]:
    return {"scenario": run_situation.scenario_name(args) or DEFAULT_SCENARIO, "seed": scenario.seed,
            "start": scenario.start.isoformat(), "speed": scenario.speed, "p1_version": scenario.p1_version}


# -- opening the store: a new run or the stored one ------------------------------------------------------


def new_world(scenario: Scenario) -> World:
    """A new run's world: the scenario's installation and the P1 output stage, seeded from the scenario."""
    rng = random.Random(scenario.seed)
    installation = scenario.build(rng, load_weather())
    cipher = None if scenario.p1_keys is None else P1Cipher(*scenario.p1_keys)
    return World(
        installation, rng, scenario.p1_version, P1Faults(), random.Random(scenario.seed ^ FAULT_SEED_SALT),
        p1_windows=scenario.p1_faults, cipher=cipher,
        first_hour=installation.now.replace(minute=0, second=0, microsecond=0),
    )


def new_session(store: Store, scenario: Scenario, settings: dict[str, Any],
                prepare: Callable[[World], None] | None = None) -> LiveSession:
    world = new_world(scenario)
    if prepare is not None:
        prepare(world)  # ``run --situation``: the situation's options (commands/run_situation.py)
    start = world.installation.now
    session = LiveSession(world, SimClock(start), scenario.speed)
    store.begin(settings, start)
    store.commit(Commit(start), dump_state(world))  # so that a restart always finds a snapshot
    return session


def resume_session(store: Store, speed: float | None) -> tuple[LiveSession, str]:
    saved = store.load()
    if saved is None:
        raise InvalidInput(f"{store.path} holds a run but no snapshot of it; start over with --fresh")
    world = load_state(saved.state)
    if not isinstance(world, World):
        raise InvalidInput(f"{store.path} does not hold a meterkast run this version can read; use --fresh")
    session = LiveSession(
        world, SimClock(world.installation.now), speed,
        last_seq=saved.last_seq, last_command=saved.last_command,
        events=store.recent_events(EVENT_WINDOW), hours=store.hours(HOUR_WINDOW),
    )
    session.replay(saved.commands, saved.through)
    replayed = (saved.through - saved.snapshot_at) / HOUR
    note = f"resumed at {session.now.isoformat()}"
    if replayed > 0 or saved.commands:
        note += f" (replayed {replayed:.1f} h and {len(saved.commands)} command(s) after the last snapshot)"
    return session, note


def open_session(args: argparse.Namespace, store: Store) -> tuple[LiveSession, str]:
    stored = store.settings()
    if args.fresh and stored is not None:
        store.clear()
        stored = None
    if stored is None:
        scenario = plan_from(args)
        session = new_session(store, scenario, settings_of(args, scenario),
                              lambda world: run_situation.prepare(args, world))
        return session, f"new run: scenario {scenario.name}, seed {scenario.seed}, from {session.now.isoformat()}"
    _check_same_run(args, stored)
    speed = parse_speed(args.speed) if args.speed is not None else stored.get("speed")
    return resume_session(store, speed)


def _check_same_run(args: argparse.Namespace, stored: dict[str, Any]) -> None:
    given = {"scenario": run_situation.scenario_name(args), "seed": args.seed,
             "start": None if args.start is None else parse_start(args.start).isoformat()}
    differ = [f"--{k} {v} (stored: {stored.get(k)})" for k, v in given.items() if v is not None and v != stored.get(k)]
    if differ:
        raise InvalidInput(
            f"{args.data} holds a run with other settings: {', '.join(differ)}; "
            "leave the option out to carry on, or add --fresh to start over"
        )


# -- serving -------------------------------------------------------------------------------------------------


def _say(args: argparse.Namespace, line: str) -> None:
    """A line for the person at the terminal: stdout, or stderr under ``--json`` (stdout is then JSON only)."""
    stream = sys.stderr if args.json else sys.stdout
    stream.write(line + "\n")
    stream.flush()


def _hour_printer(enabled: bool) -> Callable[[list[HourRecord]], None] | None:
    if not enabled:
        return None

    def show(hours: list[HourRecord]) -> None:
        try:
            for record in hours:
                row = record.to_json() | {"end": (record.hour + HOUR).isoformat()}
                sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # the reader of our output (``| head``) has gone; the run goes on
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces stdout for the rest of the run

    return show


async def serve(args: argparse.Namespace, store: Store, session: LiveSession) -> Runner:
    until = run_situation.until(args, parse_start(args.until, "--until") if args.until else None)
    if args.stop and until is None:
        raise InvalidInput("--stop needs --until: it says when to stop")
    if until is not None and until < session.now:  # said, not silently done: the stored state is later
        sys.stderr.write(f"meterkast: the stored state is already at {session.now.isoformat()}, after --until "
                         f"{until.isoformat()}: nothing to catch up (use --fresh to start over)\n")
    server = None if args.no_p1 and not args.pty else P1Server(
        session.port, InstantPacer(session.clock), backlog=run_situation.backlog(args, session, until)
    )
    publisher, mqtt = _mqtt(args, session)
    runner = Runner(
        session, store, server, until=until, stop_at_until=args.stop, snapshot_interval_s=args.snapshot_interval,
        progress=sys.stderr, on_hours=_hour_printer(args.json), on_telegrams=mqtt,
        every_telegram=args.situation is not None,
    )
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    if main is not None:
        loop.add_signal_handler(signal.SIGTERM, main.cancel)
    web: WebServer | None = None
    cs_link: CsLink | None = None
    try:
        if server is not None and not args.no_p1:
            await _start_p1(args, session, server)
        if server is not None and args.pty:
            _say(args, f"P1 pty: {server.open_pty()}")
        cs_link = await _start_cs(args, session, store) if args.cs else None
        web = None if args.no_http else _start_web(args, session)
        background = [job for job in (web, cs_link) if job is not None]
        try:
            async with maybe_publishing(publisher), asyncio.TaskGroup() as group:
                for job in background:
                    group.create_task(job.serve())
                try:
                    await run_situation.begin(args, session, None if args.no_p1 else server,
                                              lambda line: _say(args, line))
                    with run_situation.truth_file(args, session):
                        await runner.run()
                finally:
                    for job in background:
                        job.stop()
        except ExceptionGroup as group:  # one failure (a store error, a bug): show it as itself
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        await _close(cs_link, server, run_situation.FLUSH_TIMEOUT_S if args.situation else 1.0)
    return runner


def _mqtt(args: argparse.Namespace, session: LiveSession) -> tuple[MqttPublisher | None, MqttOutput | None]:
    """``--mqtt``: the publisher and the runner's telegram output to it (live/mqtt_output.py, docs/mqtt.md)."""
    publisher = mqtt_publisher(args)
    if publisher is None:
        return None, None
    _say(args, f"MQTT: {publisher.url}, states under {publisher.bridge.prefix}/, Home Assistant discovery under "
         f"{publisher.bridge.discovery_prefix}/")
    return publisher, MqttOutput(session, publisher.submit, publisher.bridge)


def _start_web(args: argparse.Namespace, session: LiveSession) -> WebServer | None:
    opened = open_web(session, args.http_host or args.host, args.http_port, args.data, public_read=args.public_read)
    if opened is None:
        return None
    for line in opened.lines:
        _say(args, line)
    return opened.server


async def _start_p1(args: argparse.Namespace, session: LiveSession, server: P1Server) -> None:
    _, port = await server.start_tcp(args.host, args.p1_port)
    session.p1_port = port
    every = session.port.interval.total_seconds()
    urls = "  ".join(shown_urls("tcp", args.host, port))
    _say(args, f"P1: {urls} ({session.port.spec.title}, a telegram every {every:g} simulated s)")


async def _close(cs_link: CsLink | None, server: P1Server | None, flush_timeout_s: float = 1.0) -> None:
    if cs_link is not None:
        await cs_link.close()
    if server is not None:
        await server.close(flush_timeout_s=flush_timeout_s)


async def _start_cs(args: argparse.Namespace, session: LiveSession, store: Store) -> CsLink:
    """The central system next to the installation (``--cs``; live/cs_link.py, docs/cs.md)."""
    options = CsOptions.in_data_dir(args.data, store_url=args.cs_store, p3_port=args.p3_port,
                                    consent=ConsentLevel(args.cs_consent), host=args.host)
    link = await start_cs_link(session, options, meter_state=store)  # the E-meter's P3 counters
    _say(args, f"CS: reads the E-meter over P3 at {link.p3_address} (consent {args.cs_consent} at enrolment); "
         f"store {link.store_display}")
    if args.host != HOST:
        _say(args, f"P3: {'  '.join(shown_urls('tcp', args.host, link.entry.port))} (HLS5: the E-meter's keys)")
    return link


def run_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="meterkast: %(message)s")
    if args.show_token:
        sys.stdout.write(show_token(args.data))
        return 0
    store = Store.open(args.data)
    try:
        session, note = open_session(args, store)
        print(f"meterkast run: {note}; state in {args.data}", file=sys.stderr)
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):  # Ctrl-C, SIGTERM: a clean stop
            asyncio.run(serve(args, store, session))
        print(f"meterkast: stopped at {session.now.isoformat()}; state kept in {args.data}", file=sys.stderr)
    finally:
        store.close()
    return 0
