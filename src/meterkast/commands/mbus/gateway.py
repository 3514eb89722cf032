"""``meterkast mbus gateway``: the simulated M-Bus devices on a TCP gateway and a pty, for any M-Bus master.

The bus is an installation's encrypted P2 M-Bus (``sim.gateway_devices``): gas meters installed by the
E-meter at primary addresses 1, 2, … ([P2-4.0.7 §8.3]), each replying to REQ_UD2 with a mode 15 RSP_UD
([P2-4.0.7 §6.2]). It is served raw (EN 13757-2 frames, no wrapping) on ``tcp://HOST:PORT`` like a
libmbus/ser2net gateway, and with ``--pty`` on a pseudo-terminal (2400 baud, raw) whose path it prints. The
meters' keys are printed, or written as JSON to ``--keys-file`` (mode 0600), so the user can give the
user key to a decoder (``meterkast mbus decode HEX --key USERKEY``).

Time is a ``SimClock`` at ``--speed``; before each exchange the installation is advanced to that clock
(``MbusGateway.before``), and once a (real) second otherwise, so hourly values appear as they fall due.
This module is a composition root: it builds the clock, random source, devices and adapters, importing
them when the gateway runs, not when the parser is built (issue 13 item 6).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from meterkast.clock import SimClock, SystemClock
from meterkast.commands.meter import parse_start
from meterkast.commands.run import parse_speed
from meterkast.errors import InvalidInput
from meterkast.gasmeter.metrology import MeterType
from meterkast.io.listen import DEFAULT_HOST, host_argument, shown_urls

if TYPE_CHECKING:
    from meterkast.sim.gateway_devices import DeviceKeys

# sim.gateway_devices's limit, repeated so that the parser does not import the simulation
# (tests/commands/test_cli_startup.py checks that they agree).
MAX_GAS_METERS = 4  # E-meter M-Bus channels 1..4 [P2-4.0.7 §3.1.3]
DEFAULT_PORT = 10001  # the port M-Bus TCP gateways commonly use (and ``mbus scan`` examples)


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("gateway", help="serve simulated M-Bus devices on a TCP gateway and a pty")
    parser.add_argument("--host", type=host_argument, default=DEFAULT_HOST,
                        help="address to listen on (127.0.0.1; 0.0.0.0 or :: = every interface)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port ({DEFAULT_PORT}, 0 = any free)")
    parser.add_argument("--no-tcp", action="store_true", help="no TCP gateway (use with --pty)")
    parser.add_argument("--pty", action="store_true", help="also serve the bus on a pseudo-terminal, path printed")
    parser.add_argument("--gas-meters", type=int, default=1, metavar="N",
                        help=f"gas meters on the bus, channels 1..N (1..{MAX_GAS_METERS}; default 1)")
    parser.add_argument("--type", default="G4", help="gas meter type (default G4)")
    parser.add_argument("--plain", action="store_true",
                        help="install no P2 user key: the meters answer unencrypted (for masters without mode 15)")
    parser.add_argument("--speed", default="1", help="simulated seconds per real second (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: same seed and start, same keys and bytes")
    parser.add_argument("--start", help="simulated start instant, ISO 8601 (default: now)")
    parser.add_argument("--until", help="stop after this simulated instant (ISO 8601)")
    parser.add_argument("--keys-file", metavar="FILE",
                        help="write the meters' keys there as JSON (0600) instead of printing them")
    parser.set_defaults(handler=gateway_command)


def device_line(device: DeviceKeys, *, with_keys: bool) -> str:
    """One line per device: how a master addresses it and, unless written to a file, its keys."""
    line = (
        f"channel {device.channel}: primary address {device.primary_address}, secondary address "
        f"{device.secondary_address} ({device.manufacturer} {device.ident}, version {device.version}, "
        f"medium {device.as_json()['medium']}), meter {device.meter_number}"
    )
    if device.user_key is None:
        line += "; no user key: replies in the clear"
    elif with_keys:
        line += f"; user key {device.user_key.hex().upper()}"
    if with_keys:
        line += f", default key {device.default_key.hex().upper()}"
    return line


def write_keys(path: str, devices: list[DeviceKeys]) -> None:
    """The keys as JSON, readable by the owner only (they open the meters' replies)."""
    text = json.dumps({"devices": [d.as_json() for d in devices]}, indent=2) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        Path(path).chmod(0o600)
    except OSError as exc:
        raise InvalidInput(f"cannot write --keys-file {path}: {exc.strerror or exc}") from exc


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def serve(args: argparse.Namespace, start: datetime, until: datetime | None) -> None:
    import asyncio  # noqa: PLC0415 - the gateway's own imports (module docstring)

    from meterkast.io.mbus_gateway import MbusGateway  # noqa: PLC0415
    from meterkast.sim.gateway_devices import GatewayDevices  # noqa: PLC0415

    speed = parse_speed(args.speed)
    if speed is None:
        raise InvalidInput("--speed max has no meaning for a gateway that answers in real time; give a number")
    if args.no_tcp and not args.pty:
        raise InvalidInput("--no-tcp without --pty leaves no way onto the bus")
    devices = GatewayDevices.build(start, random.Random(args.seed), meter_type=MeterType.parse(args.type),
                                   gas_meters=args.gas_meters, encrypted=not args.plain)
    clock = SimClock(start, speed=speed)
    gateway = MbusGateway(devices.bus, clock, before=devices.advance)
    try:
        if not args.no_tcp:
            port = await gateway.start(args.host, args.port)
            _write(f"M-Bus gateway (EN 13757-2 frames, DSMR P2): {'  '.join(shown_urls('tcp', args.host, port))}")
        if args.pty:
            _write(f"pty: {gateway.open_pty()} (2400 baud, raw; open it 8N1)")
        listed = devices.devices()
        for device in listed:
            _write(device_line(device, with_keys=not args.keys_file))
        if args.keys_file:
            write_keys(args.keys_file, listed)
            _write(f"keys: {args.keys_file}")
        if not args.plain:
            _write("decode a reply: meterkast mbus decode HEX --key USERKEY")
        while until is None or clock.now() < until:
            await asyncio.sleep(1)  # real time: the gateway serves people; the simulation runs on ``clock``
            devices.advance(clock.now() if until is None else min(clock.now(), until))
    finally:
        await gateway.stop()
    print(f"meterkast: {gateway.exchanges} exchanges on the bus", file=sys.stderr)


def gateway_command(args: argparse.Namespace) -> int:
    start = parse_start(args.start) if args.start else SystemClock().now().replace(microsecond=0)
    until = parse_start(args.until, "--until") if args.until else None
    import asyncio  # noqa: PLC0415 - the gateway's own imports (module docstring)

    try:
        asyncio.run(serve(args, start, until))
    except KeyboardInterrupt:
        print("meterkast: stopped", file=sys.stderr)
    return 0
