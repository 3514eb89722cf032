"""``meterkast run --situation NAME [--truth FILE]``: a named conformance situation, played live
(issue 13 item 2; docs/run.md "Playing a conformance situation", docs/conformance.md).

Part of ``run``'s composition root (``commands/run_live.py``; the options in ``commands/run.py``): the
situation's scenario becomes the run's (``conformance.live.live_plan``), its options are applied to the new
world (``prepare``), ``--stop`` without ``--until`` stops at the situation's last telegram instant, the P1
port waits for its first client (a situation is played to a consumer, as ``p1 serve --situation`` does),
the scenario's lead-in before the situation's first telegram is stepped through unsent, every telegram
instant is stepped even at ``--speed max``, and ``--truth`` gets one ground-truth line per telegram instant
from the first on.

The conformance modules are imported inside the functions: the CLI imports command modules cheaply.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from meterkast.errors import InvalidInput

if TYPE_CHECKING:
    from meterkast.conformance.live import LivePlan
    from meterkast.io.p1_server import P1Server
    from meterkast.live.session import LiveSession, World
    from meterkast.sim.scenario import Scenario

SITUATION_PREFIX = "situation:"  # how the stored run's settings name a situation's scenario
FLUSH_TIMEOUT_S = 30.0  # a consumer gets this long to read what is queued once the situation is over


def add_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--situation", metavar="NAME",
                     help="play a named conformance situation (docs/conformance.md): its scenario, timeline and "
                     "P1 faults; P1 waits for a client; --stop alone stops at its last telegram")
    run.add_argument("--truth", metavar="FILE",
                     help="with --situation: write the ground truth, one JSON line per telegram instant")


def plan(args: argparse.Namespace) -> LivePlan | None:
    """The situation's live plan (None without ``--situation``); refuses options that contradict it."""
    if args.situation is None:
        if args.truth is not None:
            raise InvalidInput("--truth needs --situation: the ground truth is a situation's")
        return None
    from meterkast.conformance.live import live_plan  # noqa: PLC0415 - lazy: keep the CLI's start fast

    if args.scenario is not None:
        raise InvalidInput(f"--situation {args.situation} brings its own scenario: leave out --scenario")
    if args.start is not None:
        raise InvalidInput(f"--situation {args.situation} starts at its scenario's start: leave out --start")
    return live_plan(args.situation)


def scenario_name(args: argparse.Namespace) -> str | None:
    """The name a run's settings keep for its scenario (``situation:NAME`` for a situation)."""
    return f"{SITUATION_PREFIX}{args.situation}" if args.situation else args.scenario


def base_scenario(args: argparse.Namespace) -> Scenario | None:
    chosen = plan(args)
    return None if chosen is None else chosen.scenario


def prepare(args: argparse.Namespace, world: World) -> None:
    """A new run's world with the situation's options: the stale style of a decoupled device, the CRC-error
    and cut-off rates as the P1 output stage's standing faults [P1-4.2.2 §5.1]."""
    chosen = plan(args)
    if chosen is None:
        return
    from meterkast.emeter.p1view import DecoupledStyle  # noqa: PLC0415
    from meterkast.live.session import P1Faults  # noqa: PLC0415

    if chosen.segment.stale_decoupled:
        world.installation.emeter.decoupled_style = DecoupledStyle.STALE
    world.p1_faults = P1Faults(crc_error=chosen.situation.crc_error_rate, truncate=chosen.situation.cut_off_rate)


def until(args: argparse.Namespace, given: datetime | None) -> datetime | None:
    """``--until``, or with ``--situation --stop`` alone the situation's last telegram instant."""
    chosen = plan(args)
    if given is not None or chosen is None or not args.stop:
        return given
    return chosen.last


def backlog(args: argparse.Namespace, session: LiveSession, end: datetime | None) -> int:
    """Room for every telegram up to ``end`` at speed max: a conformance consumer must not be cut off as too
    slow for a burst the run made in a second."""
    if args.situation is None or end is None or end <= session.now:
        return int(args.backlog)
    span = end - session.now
    interval: timedelta = session.port.interval
    return max(int(args.backlog), int(span / interval) + int(span / timedelta(hours=1)) + 2)


async def begin(args: argparse.Namespace, session: LiveSession, server: P1Server | None,
                say: Callable[[str], None]) -> None:
    """Wait for the first P1 client (the clock stands still meanwhile), then step through the scenario's
    lead-in without sending: the situation's telegrams start at its first instant, the consumer's too.

    The lead-in (the meter's first hours, a stale device's last reading) makes the state the situation
    samples; its telegrams are not part of the situation (``Segment.first``).
    """
    chosen = plan(args)
    if chosen is None:
        return
    clock = session.clock
    clock.speed = 0.0
    if server is not None:
        say(f"situation {chosen.situation.name}: waiting for a P1 client")
        await server.wait_for_clients(1)
    start = chosen.segment.first - timedelta(microseconds=1)
    if session.now < start:
        session.step(start)  # the hours' telegrams on the way are not sent: nobody is meant to see them
        if (ahead := start - clock.now()) > timedelta(0):
            clock.jump(ahead)
    clock.speed = session.speed or 0.0


@contextlib.contextmanager
def truth_file(args: argparse.Namespace, session: LiveSession) -> Iterator[Any]:
    """Write the ground truth of every telegram instant to ``--truth`` while the run lasts."""
    chosen = plan(args)
    if chosen is None or args.truth is None:
        yield None
        return
    from meterkast.conformance.live import TruthWriter  # noqa: PLC0415

    try:
        out = open(args.truth, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InvalidInput(f"--truth {args.truth}: cannot write it: {exc}") from exc
    writer = TruthWriter(chosen, lambda: session.installation.gas_channel, lambda line: print(line, file=out))
    session.p1.watch = writer
    try:
        yield writer
    finally:
        session.p1.watch = None
        out.close()
