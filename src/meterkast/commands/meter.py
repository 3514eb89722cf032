"""``meterkast meter identify`` and ``meterkast meter simulate`` (SYSTEM G1–G13).

The gas meter model and the household are imported by ``simulate`` only: ``cli`` imports this module to
build the parser, and ``meter identify`` should start at once (issue 13 item 6).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from meterkast.errors import InvalidInput
from meterkast.gasmeter.identity import PARTS, parse_meter_number
from meterkast.jsonable import to_jsonable
from meterkast.units import to_decimal

if TYPE_CHECKING:
    from meterkast.gasmeter.meter import GasMeter
    from meterkast.sim.meter_run import FlowPlan, HourReport

DEFAULT_METER_NUMBER = "G0001123456789012"
DEFAULT_START = "2026-01-01T00:00:00+00:00"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    meter = sub.add_parser("meter", help="the Itron gas meter model")
    verbs = meter.add_subparsers(dest="verb", required=True, metavar="VERB")

    identify = verbs.add_parser("identify", help="split and check a 17-character meter number")
    identify.add_argument("meter_number", metavar="METER-NUMBER")
    identify.add_argument("--json", action="store_true", help="print one JSON object")
    identify.set_defaults(handler=identify_command)

    simulate = verbs.add_parser("simulate", help="run the meter on the simulated clock, hour by hour")
    simulate.add_argument("--type", default="G4", help="G4, G6, G10, G16 or G25 (default G4)")
    simulate.add_argument("--hours", type=int, required=True, help="how many hours to simulate")
    source = simulate.add_mutually_exclusive_group()
    source.add_argument("--flow", help="constant gas flow in m³/h (default: a typical household)")
    source.add_argument("--profile", type=Path, help="CSV of hourly 'flow_m3h[,gas_temp_c]' rows, repeated")
    simulate.add_argument("--gas-temp", help="gas temperature in °C (default 15, or the household's)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (same seed, same output)")
    simulate.add_argument("--start", default=DEFAULT_START, help=f"start instant, ISO 8601 (default {DEFAULT_START})")
    simulate.add_argument("--meter-number", default=DEFAULT_METER_NUMBER)
    simulate.add_argument("--json", action="store_true", help="one JSON object per hour")
    simulate.set_defaults(handler=simulate_command)


def identify_command(args: argparse.Namespace) -> int:
    """Each part of the meter number, where it sits and what it may hold (seed §10 item 1, SYSTEM G13)."""
    number = parse_meter_number(args.meter_number)
    if args.json:
        print(json.dumps(number.to_json()))
        return 0
    text = str(number)
    print(f"{'meter number':22} {text}")
    for part in PARTS:
        print(f"{part.name:22} {part.of(text)!r:14} characters {part.first:>2}–{part.last:<2}  {part.holds}")
    print(f"{'manufactured in':22} {number.year}")
    print(f"{'M-Bus identification':22} {number.mbus_identification:08d}  (the serial's last 8 digits, P2 §4.2.2)")
    return 0


def parse_start(text: str, option: str = "--start") -> datetime:
    """An ISO 8601 instant; one without an offset is read as UTC (the simulation's clocks run on UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{option} {text!r} is not an ISO 8601 instant such as {DEFAULT_START}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def read_profile(path: Path, default_temp: Decimal) -> list[tuple[Decimal, Decimal]]:
    """Rows 'flow_m3h[,gas_temp_c]'; '#' comments and a header row are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"profile {path}: {exc.strerror}") from exc
    rows: list[tuple[Decimal, Decimal]] = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text or (number == 1 and text[0].isalpha()):
            continue
        fields = [f.strip() for f in text.split(",")]
        if len(fields) > 2:
            raise InvalidInput(f"profile {path} line {number}: expected 'flow_m3h[,gas_temp_c]', got {line!r}")
        try:
            flow = to_decimal(fields[0], "flow")
            temp = to_decimal(fields[1], "gas temperature") if len(fields) == 2 else default_temp
        except InvalidInput as exc:
            raise InvalidInput(f"profile {path} line {number}: {exc}") from exc
        if flow < 0:
            raise InvalidInput(f"profile {path} line {number}: flow {flow} m³/h is negative")
        rows.append((flow, temp))
    if not rows:
        raise InvalidInput(f"profile {path} has no rows; give one 'flow_m3h[,gas_temp_c]' per hour")
    return rows


def build_plan(args: argparse.Namespace, rng: random.Random, meter: GasMeter) -> FlowPlan:
    from meterkast.sim.household import Household  # noqa: PLC0415 - simulate only (module docstring)
    from meterkast.sim.meter_run import constant_plan, cyclic_plan  # noqa: PLC0415

    temp = to_decimal(args.gas_temp, "--gas-temp") if args.gas_temp is not None else Decimal(15)
    if args.flow is not None:
        flow = to_decimal(args.flow, "--flow")
        if flow < 0:
            raise InvalidInput(f"--flow {flow} m³/h is negative; gas only flows forward through a meter")
        return constant_plan(flow, temp)
    if args.profile is not None:
        return cyclic_plan(read_profile(args.profile, temp))
    household = Household(rng, max_flow_m3h=float(meter.metrology.qmax_m3h))
    if args.gas_temp is None:
        return household.plan
    return lambda hour: [
        type(step)(step.offset_s, step.flow_m3h, temp) for step in household.plan(hour)
    ]


def simulate_command(args: argparse.Namespace) -> int:
    if args.hours < 0:
        raise InvalidInput(f"--hours {args.hours} is negative")
    from meterkast.gasmeter.meter import GasMeter  # noqa: PLC0415 - simulate only (module docstring)
    from meterkast.gasmeter.metrology import MeterType  # noqa: PLC0415
    from meterkast.sim.meter_run import run_hours  # noqa: PLC0415

    rng = random.Random(args.seed)
    meter = GasMeter.manufacture(MeterType.parse(args.type), args.meter_number, parse_start(args.start), rng)
    plan = build_plan(args, rng, meter)
    write = sys.stdout.write
    if not args.json:
        write(f"{'hour end (UTC)':25} {'index m³':>12} {'Vm m³':>14} {'Vb m³':>14} {'battery %':>9}  events\n")
    for report in run_hours(meter, plan, args.hours):
        write(format_report(report, as_json=args.json))
    return 0


# Every hour has these two; the table leaves them out to make the rare events stand out.
ROUTINE_EVENTS = frozenset({"ReadingChanged", "HourlyValueStored"})


def _event_names(report: HourReport) -> Sequence[str]:
    return [type(e).__name__ for e in report.events if type(e).__name__ not in ROUTINE_EVENTS]


def format_report(report: HourReport, *, as_json: bool) -> str:
    vm = report.measured_m3.quantize(Decimal("0.000001"))
    vb = report.converted_m3.quantize(Decimal("0.000001"))
    if as_json:
        return json.dumps(
            {
                "end": report.end.isoformat(),
                "index_m3": str(report.index_m3),
                "vm_m3": str(vm),
                "vb_m3": str(vb),
                "battery_percent": report.battery_percent,
                "events": [to_jsonable(e) for e in report.events if type(e).__name__ != "ReadingChanged"],
            },
            sort_keys=True,
        ) + "\n"
    events = ", ".join(_event_names(report))
    battery = f"{report.battery_percent:>9.3f}"
    return f"{report.end.isoformat():25} {report.index_m3:>12} {vm:>14} {vb:>14} {battery}  {events}\n"
