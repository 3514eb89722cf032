"""``meterkast run``: the whole installation, live, with its P1 port and the dashboard (issue 5; docs/run.md).

With no options it starts the embedded default installation (household, gas meter, P2 bus, E-meter),
the P1 TCP port on 127.0.0.1:2000 and the web app on http://127.0.0.1:8000/, and keeps its state in
``./meterkast-data``: stop it with Ctrl-C (exit 0) and the next run carries on where it stopped.
``--host`` opens every server to the network (issue 15): the web app then asks for the token kept in
the state directory (``commands/run_web.py``, ``web/auth.py``; docs/run.md "From another machine").

This module is the composition root (STYLE 11): it builds the random source, the installation (from a
scenario), the clock, the store and the adapters, and hands them to ``live.runner``. Argument parsing
is ``register``; nothing runs at import time. The run itself is ``commands/run_live.py``, imported only
when ``run`` runs: this module stays light, as ``cli`` imports it to build the parser for every command
(``meterkast --help`` included; issue 13 item 6, tests/commands/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from meterkast.commands import run_situation
from meterkast.commands.lazy import lazy_handler
from meterkast.commands.mqtt_args import add_mqtt_arguments
from meterkast.errors import InvalidInput
from meterkast.io.listen import DEFAULT_HOST, host_argument

HOST = DEFAULT_HOST
DEFAULT_P1_PORT = 2000
DEFAULT_HTTP_PORT = 8000
# The defaults of live.store, live.runner and io.p1_server, repeated here so that building the parser does not
# import them (sqlite3, asyncio); tests/commands/test_cli_startup.py checks that they agree.
DEFAULT_DATA_DIR = Path("meterkast-data")
SNAPSHOT_INTERVAL_S = 1.0
DEFAULT_BACKLOG = 256


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run the installation live: P1 port, web app, state kept across restarts")
    run.add_argument("--scenario", help="builtin scenario name or .toml file (default: 'default')")
    run.add_argument("--speed", help="simulated seconds per real second (1 = real time, 3600 = an hour a second) "
                     "or 'max' (default: the scenario's, else 1)")
    run.add_argument("--seed", type=int, help="random seed (default: the scenario's, else 0)")
    run.add_argument("--start", help="simulated start of a new run, ISO 8601 (default: the scenario's, else now)")
    run.add_argument("--until", help="catch up to this simulated instant (ISO 8601), then serve in real time")
    run.add_argument("--stop", action="store_true", help="with --until: exit once it is reached")
    run.add_argument("--host", type=host_argument, default=HOST,
                     help="address every server listens on: P1, the web app, P3 (default 127.0.0.1, this machine "
                     "only; 0.0.0.0 or :: = every interface; docs/run.md 'From another machine')")
    run.add_argument("--http-host", type=host_argument,
                     help="the web app's address, if not --host's; beyond 127.0.0.1/::1 it asks for a token")
    run.add_argument("--public-read", action="store_true",
                     help="beyond loopback: anyone may read the dashboard (state, charts, P1 stream); "
                     "control still needs the token")
    run.add_argument("--show-token", action="store_true",
                     help="print the web app's token (kept in DATA/web-token; made if missing) and exit")
    run.add_argument("--p1-port", type=int, default=DEFAULT_P1_PORT, help="P1 TCP port (default 2000, 0 = any)")
    run.add_argument("--no-p1", action="store_true", help="no P1 TCP port")
    run.add_argument("--pty", action="store_true", help="also send P1 telegrams to a pseudo-terminal")
    run.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT, help="web app port (default 8000, 0 = any)")
    run.add_argument("--no-http", action="store_true", help="no web app")
    run.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR, help="state directory (default ./meterkast-data)")
    run.add_argument("--fresh", action="store_true", help="forget the stored state and start a new run")
    run.add_argument("--json", action="store_true",
                     help="one JSON object per simulated hour on stdout (the other lines go to stderr)")
    run.add_argument("--snapshot-interval", type=float, default=SNAPSHOT_INTERVAL_S,
                     help=f"real seconds between full snapshots (default {SNAPSHOT_INTERVAL_S:g}; 0 = every hour)")
    run.add_argument("--backlog", type=int, default=DEFAULT_BACKLOG, help="telegrams queued per P1 client")
    run.add_argument("--cs", action="store_true",
                     help="also run a central system that reads the E-meter over P3 (docs/cs.md)")
    run.add_argument("--cs-store", help="with --cs: the CS store URL (default sqlite:///DATA/cs.sqlite)")
    run.add_argument("--p3-port", type=int, default=4059, help="with --cs: the E-meter's P3 port (default 4059)")
    run.add_argument("--cs-consent", choices=["none", "standard", "detailed"], default="standard",
                     help="with --cs: the customer's consent when the CS first enrols the meter (default standard)")
    add_mqtt_arguments(run)
    run_situation.add_arguments(run)
    run.set_defaults(handler=lazy_handler("meterkast.commands.run_live", "run_command"))


def parse_speed(text: str) -> float | None:
    """None means as fast as possible."""
    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise InvalidInput(f"--speed {text!r} is neither a number nor 'max'") from None
    if not speed > 0:
        raise InvalidInput(f"--speed {text} must be above 0 (1 = real time)")
    return speed



