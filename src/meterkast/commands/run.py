"""``meterkast run``: the installation, live on the simulated clock.

Today it runs the gas meter with a typical household and prints each simulated hour; the E-meter, P1
port and web panel join it as their issues land. ``--speed`` is simulated seconds per real second
(1 = real time, ``max`` = as fast as possible); Ctrl-C stops cleanly with exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from datetime import datetime, timedelta

from meterkast.clock import SimClock
from meterkast.commands.meter import DEFAULT_METER_NUMBER, DEFAULT_START, format_report, parse_start
from meterkast.errors import InvalidInput
from meterkast.gasmeter.meter import GasMeter
from meterkast.gasmeter.metrology import MeterType
from meterkast.sim.household import Household
from meterkast.sim.meter_run import run_hours

DEFAULT_SPEED = "3600"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the installation live on the simulated clock")
    run.add_argument("--speed", default=DEFAULT_SPEED, help="simulated seconds per real second, or 'max'")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--type", default="G4")
    run.add_argument("--start", default=DEFAULT_START)
    run.add_argument("--until", help="stop at this simulated instant (ISO 8601)")
    run.add_argument("--json", action="store_true", help="one JSON object per simulated hour")
    run.set_defaults(handler=run_command)


def parse_speed(text: str) -> float | None:
    """None means as fast as possible."""
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise InvalidInput(f"--speed {text!r} is neither a number nor 'max'") from None
    if speed <= 0:
        raise InvalidInput(f"--speed {text} must be above 0 (1 = real time)")
    return speed


async def run_live(
    meter: GasMeter, household: Household, speed: float | None, until: datetime | None, as_json: bool
) -> None:
    """Run whole simulated hours, pacing them against the real clock unless ``speed`` is None."""
    clock = SimClock(meter.now, speed=speed or 0.0)
    while until is None or meter.now < until:
        hour_end = meter.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        if speed is None:
            clock.advance_to(max(hour_end, clock.now()))
        else:
            wait_s = (hour_end - clock.now()).total_seconds() / speed
            if wait_s > 0:
                await asyncio.sleep(wait_s)
        for report in run_hours(meter, household.plan, 1):
            sys.stdout.write(format_report(report, as_json=as_json))
        sys.stdout.flush()
        await asyncio.sleep(0)


def run_command(args: argparse.Namespace) -> int:
    speed = parse_speed(args.speed)
    rng = random.Random(args.seed)
    meter = GasMeter.manufacture(MeterType.parse(args.type), DEFAULT_METER_NUMBER, parse_start(args.start), rng)
    household = Household(rng, max_flow_m3h=float(meter.metrology.qmax_m3h))
    until = parse_start(args.until) if args.until else None
    try:
        asyncio.run(run_live(meter, household, speed, until, args.json))
    except KeyboardInterrupt:
        print("meterkast: stopped", file=sys.stderr)
    return 0
