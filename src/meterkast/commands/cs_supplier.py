"""``meterkast cs supplier EAN``: what the supplier invoices from the readings in the CS store (SYSTEM G4).

    meterkast cs supplier EAN [--scope monthly|daily|hourly] [--from ISO] [--to ISO] [--by reading|day|month]
                              [--calorific-value MJ] [--json] [--store URL]

The grid operator passes the readings to the supplier (SYSTEM C3); the supplier applies the pressure
correction the meter does not (manual §9, Drukaanpassing) and turns m³(n) into energy. This prints that
view: one period per reading pair (or per local day or month), the total over --from … --to (a custom
period), and every parameter with its source. The store's consent rules apply (SYSTEM C2): a scope the
customer's consent did not allow is refused with the reason. Thin: the figures are ``meterkast.supplier``'s.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from meterkast.commands.meter import parse_start

# central.model.AuthScope's values, repeated so that building the parser does not import the central system
# (issue 13 item 6; tests/commands/test_cli_startup.py checks that they agree).
SCOPES = ["hourly", "daily", "monthly"]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser],
               with_store: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    parser = with_store(commands.add_parser(
        "supplier", help="the supplier's view: metered m³, pressure-corrected m³(n), MJ and kWh per period"))
    parser.add_argument("ean", help="the connection's 18-digit EAN code")
    parser.add_argument("--scope", choices=SCOPES, default="monthly",
                        help="which stored readings: monthly (default; standard consent), daily or hourly")
    parser.add_argument("--from", dest="start", help="first capture time, ISO 8601 (default: as far back as the "
                                                     "scope's history depth, 13 months / 40 days / 10 days)")
    parser.add_argument("--to", dest="end", help="last capture time, ISO 8601 (default: now)")
    parser.add_argument("--by", default="reading", help="periods: reading (default), day or month (local time)")
    parser.add_argument("--calorific-value", help="Hs in MJ/m³(n), e.g. the grid operator's monthly value "
                                                  "(default 35.17, Groningen-equivalent)")
    parser.add_argument("--json", action="store_true", help="print the view as one JSON object")
    parser.set_defaults(handler=supplier_command)


def supplier_command(args: argparse.Namespace) -> int:
    from meterkast.central import rules  # noqa: PLC0415 - the store and the model only when the command runs
    from meterkast.central.model import AuthScope, Connection  # noqa: PLC0415
    from meterkast.commands.cs_run import open_cs_store  # noqa: PLC0415
    from meterkast.supplier import IndexReading, InvoiceParameters, supplier_view  # noqa: PLC0415
    from meterkast.supplier.invoice import parse_granularity  # noqa: PLC0415
    from meterkast.supplier.parameters import parse_calorific_value  # noqa: PLC0415

    scope = AuthScope(args.scope)
    granularity = parse_granularity(args.by, "--by")
    params = parse_calorific_value(args.calorific_value, "--calorific-value") if args.calorific_value \
        else InvoiceParameters()
    now = datetime.now(UTC)
    end = parse_start(args.end, "--to") if args.end else now
    start = parse_start(args.start, "--from") if args.start else rules.history_start(scope, now)
    connection = Connection(args.ean)
    store = open_cs_store(args, keys=False)
    try:
        readings = store.readings(connection, scope.period_type, start, end, now=now)
    finally:
        store.close()
    view = supplier_view((IndexReading(r.capture_time, r.value_m3, r.gas_meter) for r in readings), granularity,
                         params)
    out = view.to_json()
    if args.json:
        sys.stdout.write(json.dumps({"connection": connection.ean, "scope": scope.value, "from": start.isoformat(),
                                     "to": end.isoformat(), **out}, ensure_ascii=False) + "\n")
        return 0
    sys.stdout.write(format_view(out, f"{connection.ean}: {len(readings)} {scope.value} readings "
                                      f"{start.isoformat()} … {end.isoformat()}, periods per {granularity.value}"))
    return 0


COLUMNS = ("metered_m3", "pressure_factor", "corrected_m3", "energy_mj", "energy_kwh")
HEADERS = ("metered m³", "factor", "m³(n)", "MJ", "kWh")


def format_view(view: dict[str, object], title: str) -> str:
    """The view as a text table: periods, the total, the skipped stretches, then the cited parameters."""
    lines = [title, f"{'start':25} {'end':25} {'gas meter':17} " + " ".join(f"{h:>13}" for h in HEADERS)]
    periods = view["periods"]
    assert isinstance(periods, list)
    for p in periods:
        lines.append(f"{p['start']:25} {p['end']:25} {p['gas_meter']:17} " + " ".join(f"{p[c]:>13}" for c in COLUMNS))
    total = view["total"]
    if isinstance(total, dict):
        lines.append(f"{'total':25} {total['end']:25} {str(total['periods']) + ' periods':17} "
                     + " ".join(f"{total.get(c, ''):>13}" for c in COLUMNS))
    else:
        lines.append("no period: fewer than two readings at the chosen boundaries")
    skipped = view["skipped"]
    assert isinstance(skipped, list)
    lines += [f"not invoiced {s['start']} … {s['end']} ({s['gas_meter']}): {s['reason']}" for s in skipped]
    lines.append("parameters:")
    parameters = view["parameters"]
    assert isinstance(parameters, list)
    for row in parameters:
        since = f" (from {row['valid_from']})" if row["valid_from"] else ""
        lines.append(f"  {row['name'] + since:54} {row['value']:>12} {row['unit']:9} {row['source']}")
    lines.append(f"rounding: {view['rounding']}")
    return "\n".join(lines) + "\n"

