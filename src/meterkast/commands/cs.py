"""``meterkast cs``: the central system (issue 6; SYSTEM C1–C4; docs/cs.md).

    meterkast cs serve (--meters FILE | --fleet N) [--store URL] [--http-port N | --no-http] [--once] …
    meterkast cs fleet N --meters-out FILE [--days D]      simulated E-meters on TCP, for a CS elsewhere
    meterkast cs consent EAN none|standard|detailed        the customer's choice, from now on
    meterkast cs alarms [--emeter ID]                      open alarms
    meterkast cs ack ID / meterkast cs close ID            acknowledge or close an alarm
    meterkast cs export --format csv|parquet [--out FILE]  stored readings as a table (``cs_export``)
    meterkast cs supplier EAN [--scope S] [--by B]         the supplier's m³(n), MJ, kWh (commands/cs_supplier.py)

This module is a composition root (STYLE 11): it builds the clock, random sources, the store (with its
master key: ``METERKAST_CS_MASTER_KEY`` or the key file), the links and the P4 app, and hands them to
``cs.service``. Argument parsing is ``register`` here; the handlers are ``commands/cs_run.py``, imported
when a ``cs`` command runs, so that building the parser imports no store, server or cryptography (issue 13
item 6). Nothing runs at import time.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from meterkast.commands import cs_export, cs_supplier
from meterkast.commands.lazy import lazy_handler
from meterkast.io.listen import DEFAULT_HOST, host_argument

RUN = "meterkast.commands.cs_run"
DEFAULT_STORE = "sqlite:///./meterkast-cs.db"
DEFAULT_KEY_FILE = Path("meterkast-cs.key")
DEFAULT_HTTP_PORT = 8400
HOST = DEFAULT_HOST
CS_SYSTEM_TITLE = b"MKS" + (1).to_bytes(5, "big")
ADMIN_TOKEN_ENV = "METERKAST_P4_ADMIN_TOKEN"  # or the old spelling MEETERKAST_… (meterkast.environment)
# central.model.ConsentLevel's values, repeated so that the parser does not import the central system
# (tests/commands/test_cli_startup.py checks that they agree).
LEVELS = ["none", "standard", "detailed"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cs = sub.add_parser("cs", help="the central system: read E-meters over P3, consent, alarms, P4")
    commands = cs.add_subparsers(dest="cs_command", required=True, metavar="CS_COMMAND")

    def with_store(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
        parser.add_argument("--store", default=DEFAULT_STORE, help=f"store URL (default {DEFAULT_STORE})")
        parser.add_argument("--master-key-file", type=Path, default=DEFAULT_KEY_FILE,
                            help="the store master key, 64 hex digits; made if missing (default ./meterkast-cs.key)")
        return parser

    serve = with_store(commands.add_parser("serve", help="read E-meters on a schedule; serve P4"))
    source = serve.add_mutually_exclusive_group(required=True)
    source.add_argument("--meters", type=Path, help="TOML file of E-meters to read (docs/cs.md)")
    source.add_argument("--fleet", type=int, metavar="N", help="simulate N E-meters on TCP in this process")
    serve.add_argument("--fleet-days", type=float, default=2.0, help="days of history a simulated meter holds")
    serve.add_argument("--fleet-consent", default="detailed,standard,none",
                       help="consent levels given to the simulated meters in turn (default detailed,standard,none)")
    serve.add_argument("--seed", type=int, default=0, help="seed of the simulated fleet")
    serve.add_argument("--max-concurrent", type=int, default=32, help="reads in flight at once (default 32)")
    serve.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for a meter's answer")
    serve.add_argument("--host", type=host_argument, default=HOST,
                       help="address the P4 API and the simulated fleet's P3 ports listen on (default 127.0.0.1; "
                       "0.0.0.0 or :: = every interface; P4 asks every caller for a bearer token)")
    serve.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT,
                       help=f"P4 API port (default {DEFAULT_HTTP_PORT}, 0 = any)")
    serve.add_argument("--no-http", action="store_true", help="no P4 API")
    serve.add_argument("--once", action="store_true", help="read what is due once, print a summary, exit")
    serve.add_argument("--poll", type=float, default=1.0, help="real seconds between looks at the schedule")
    serve.set_defaults(handler=lazy_handler(RUN, "serve_command"))

    fleet = commands.add_parser("fleet", help="serve N simulated E-meters over P3 TCP and write their meters file")
    fleet.add_argument("count", type=int)
    fleet.add_argument("--meters-out", type=Path, required=True, help="where to write the meters file (with keys)")
    fleet.add_argument("--days", type=float, default=2.0, help="days of history each meter holds (default 2)")
    fleet.add_argument("--consent", default="detailed", help="consent levels in turn (default detailed)")
    fleet.add_argument("--seed", type=int, default=0)
    fleet.add_argument("--host", type=host_argument, default=HOST,
                       help="address the meters' P3 ports listen on (default 127.0.0.1; 0.0.0.0 or :: = every "
                       "interface; the meters file then names this machine's loopback: edit it for a CS elsewhere)")
    fleet.add_argument("--now", help="the instant the meters are run to, ISO 8601 (default: now)")
    fleet.add_argument("--start", help="when the meters were installed, ISO 8601 (default: --days before --now)")
    fleet.set_defaults(handler=lazy_handler(RUN, "fleet_command"))

    consent = with_store(commands.add_parser("consent", help="record a connection's consent from now on"))
    consent.add_argument("ean", help="the connection's 18-digit EAN code")
    consent.add_argument("level", choices=LEVELS)
    consent.set_defaults(handler=lazy_handler(RUN, "consent_command"))

    alarms = with_store(commands.add_parser("alarms", help="list open alarms"))
    alarms.add_argument("--emeter", help="only this E-meter's")
    alarms.set_defaults(handler=lazy_handler(RUN, "alarms_command"))

    for name, verb in (("ack", "acknowledge"), ("close", "close")):
        command = with_store(commands.add_parser(name, help=f"{verb} an alarm"))
        command.add_argument("alarm_id", type=int)
        command.set_defaults(handler=lazy_handler(RUN, "alarm_command"), verb=verb)

    cs_export.register(commands, with_store)  # meterkast cs export (issue 13)
    cs_supplier.add_parser(commands, with_store)  # the supplier's view (SYSTEM G4): commands/cs_supplier.py
