"""``meterkast p1 serve | read | parse``: both ends of the P1 port (SYSTEM P1, P2; docs/p1-ports.md).

- ``serve`` runs the installation (household → gas meter → E-meter) on the simulated clock and sends its
  telegrams to every TCP client (ser2net style) and, with ``--pty``, to a pseudo-terminal whose path it
  prints; ``--gas-variant smr5`` makes the gas meter an SMR 5 one, whose 5-minute values P1 shows
  [P1-5.0.2 §7.3] (default ``dsmr4``: hourly values, DSMR-M 4.5.5);
- ``read`` connects to ``tcp://host:port`` or opens a serial device and prints each telegram (one JSON
  object per line with ``--json``), reconnecting after drops;
- ``parse`` reads every telegram in a file (or stdin) and shows each one's values, even with a CRC
  mismatch (flagged: not verified) or some unreadable lines; problems go to stderr with their byte
  offset, file line and raw text (and into ``--json``). Exit 0: all clean; 1: some problem but at
  least one telegram read; 2: none could be read, or a usage error (docs/p1.md, "p1 parse").

This module is a composition root: it builds the clock, random source, installation and adapters. Each
verb imports its own adapters (the simulation and server for ``serve``, the reader for ``read``, the
scanner for ``parse``) when it runs, so that ``cli`` builds the parser quickly (issue 13 item 6).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meterkast.clock import SimClock, SystemClock
from meterkast.commands import p1_check
from meterkast.commands.meter import parse_start
from meterkast.commands.mqtt_args import add_mqtt_arguments, maybe_publishing, mqtt_publisher
from meterkast.commands.p1_export import add_format_arguments, table_sink, write_row
from meterkast.commands.run import parse_speed
from meterkast.errors import InvalidInput
from meterkast.gasmeter.metrology import MeterType
from meterkast.gasmeter.variant import GasMeterVariant
from meterkast.io.listen import DEFAULT_HOST, host_argument, shown_urls
from meterkast.jsonable import to_jsonable
from meterkast.p1.specs import SPECS, spec_for
from meterkast.p1.telegram import LineError, Telegram
from meterkast.p1.values import CapturedValue, GasProfile, Quantity

if TYPE_CHECKING:
    from meterkast.io.p1_server import Pacer
    from meterkast.p1.scan import Scanned
    from meterkast.sim.p1_source import P1Port


VERSIONS = sorted(SPECS)
REPLACEMENT_GAS_METER = "G0001123456789124"  # the new meter of --replace-gas-at


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p1 = sub.add_parser("p1", help="the P1 port: serve simulated telegrams, read a meter, parse a capture")
    verbs = p1.add_subparsers(dest="verb", required=True, metavar="VERB")

    serve = verbs.add_parser("serve", help="send the simulated installation's telegrams over TCP and a pty")
    serve.add_argument("--host", type=host_argument, default=DEFAULT_HOST,
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 or :: = every interface)")
    serve.add_argument("--port", type=int, default=2000, help="TCP port (default 2000, 0 = any free port)")
    serve.add_argument("--no-tcp", action="store_true", help="no TCP server (use with --pty)")
    serve.add_argument("--pty", action="store_true", help="also write to a pseudo-terminal and print its path")
    serve.add_argument("--version", default="4", choices=VERSIONS, help="DSMR version of the telegrams")
    serve.add_argument("--speed", default="1", help="simulated seconds per real second, or 'max' (default 1)")
    serve.add_argument("--seed", type=int, default=0, help="random seed (same seed and start, same bytes)")
    serve.add_argument("--start", help="simulated start instant, ISO 8601 (default: now)")
    serve.add_argument("--until", help="stop after this simulated instant (ISO 8601)")
    serve.add_argument("--type", default="G4", help="gas meter type (default G4)")
    serve.add_argument(
        "--gas-variant", default="dsmr4", choices=[v.value for v in GasMeterVariant],
        help="dsmr4: hourly gas values (default); smr5: an SMR 5 gas meter's 5-minute values [P1-5.0.2 §7.3]",
    )
    serve.add_argument("--replace-gas-at", help="replace the gas meter at this simulated instant (ISO 8601)")
    serve.add_argument("--key", help="encrypt telegrams with this AES-128 key (32 hex digits)")
    serve.add_argument("--backlog", type=int, default=256, help="telegrams queued per client before it is cut off")
    p1_check.add_serve_arguments(serve)
    serve.set_defaults(handler=serve_command)

    read = verbs.add_parser("read", help="read telegrams from tcp://host:port or a serial device")
    read.add_argument("url", metavar="URL", help="tcp://host:port or a serial device such as /dev/ttyUSB0")
    read.add_argument("--count", type=int, help="stop after this many telegrams")
    read.add_argument("--json", action="store_true", help="one JSON object per telegram")
    read.add_argument("--key", help="AES-128-GCM decryption key (32 hex digits)")
    read.add_argument("--auth-key", help="authentication key (default: the Luxembourg Smarty public key)")
    read.add_argument("--version", default="4", choices=VERSIONS, help="serial settings: 2.2 = 9600 7E1, else 8N1")
    read.add_argument("--baud", type=int, help="serial speed (default 115200, 9600 for 2.2)")
    read.add_argument("--retries", type=int, metavar="N",
                      help="give up after N failed reconnections in a row (default: retry for ever; "
                      "each retry and its reason is said on stderr)")
    add_mqtt_arguments(read)
    add_format_arguments(read)
    read.set_defaults(handler=read_command)

    parse = verbs.add_parser("parse", help="decode every telegram in a file ('-' = stdin)")
    parse.add_argument("file", metavar="FILE")
    parse.add_argument("--json", action="store_true", help="one JSON object per telegram, with its problems")
    add_format_arguments(parse)
    parse.set_defaults(handler=parse_command)
    p1_check.register_check(verbs)


# -- shared helpers ----------------------------------------------------------------------------------


def parse_key(text: str, what: str = "--key") -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not hexadecimal; give 32 hex digits (AES-128)") from None
    if len(key) != 16:
        raise InvalidInput(f"{what} has {len(key)} bytes; an AES-128 key has 16 (32 hex digits)")
    return key


def _value_json(value: Any) -> Any:
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return to_jsonable(value._asdict())
    if isinstance(value, tuple):
        return [_value_json(v) for v in value]
    return to_jsonable(value)


def telegram_json(telegram: Telegram) -> dict[str, Any]:
    """Every line by OBIS code, plus the M-Bus devices with their identifiers decoded."""
    mbus = {
        str(n): {
            "device_type": device.device_type,
            "equipment_id": device.equipment_text,
            "reading": None if device.reading is None else _value_json(device.reading),
        }
        for n, device in telegram.mbus.items()
    }
    return {
        "header": str(telegram.header),
        "crc_ok": telegram.crc_ok,
        "values": {code: _value_json(value) for code, value in telegram.values.items()},
        "mbus": mbus,
        "errors": [_problem_json(e) for e in telegram.errors],
        "notes": [_problem_json(n) for n in telegram.notes],
    }


def _register(telegram: Telegram, code: str) -> Quantity | None:
    """The register, or the same register on another channel (a Sagemcom XT211 sends 1-1:1.8.1)."""
    for candidate in (code, *(f"1-{n}:{code[4:]}" for n in range(1, 10))):
        value = telegram.values.get(candidate)
        if value is not None:
            return value if isinstance(value, Quantity) else None
    return None


def _shown(telegram: Telegram, label: str, codes: tuple[str, ...], unit: str) -> str:
    """``+A 1.2/3.4 kWh``; each value with its own unit when one is not ``unit`` (a T210 sends Wh)."""
    values = [_register(telegram, code) for code in codes]
    if all(v is None or (v.unit or "").lower() == unit.lower() for v in values):
        return f"{label} {'/'.join('-' if v is None else str(v.value) for v in values)} {unit}"
    return f"{label} " + "/".join("-" if v is None else f"{v.value} {v.unit or '(no unit)'}" for v in values)


def telegram_text(telegram: Telegram) -> str:
    """One line: time, +A T1/T2, −A T1/T2, power, each M-Bus reading with its capture time."""
    stamp = telegram.timestamp.isoformat() if telegram.timestamp else "(no time stamp)"
    parts = [
        stamp,
        _shown(telegram, "+A", ("1-0:1.8.1", "1-0:1.8.2"), "kWh"),
        _shown(telegram, "-A", ("1-0:2.8.1", "1-0:2.8.2"), "kWh"),
        _shown(telegram, "P", ("1-0:1.7.0",), "kW"),
    ]
    for n, device in telegram.mbus.items():
        reading = device.reading
        if isinstance(reading, CapturedValue | GasProfile):
            moment = "(no time)" if reading.time is None else reading.time.isoformat()
            unit = f" {reading.unit}" if reading.unit else ""
            parts.append(f"[{n}] {device.equipment_text or '-'} {reading.value}{unit} @ {moment}")
        else:
            parts.append(f"[{n}] {device.equipment_text or '-'} (no value)")
    if telegram.crc_ok is False:
        parts.append("CRC BAD: values not verified")
    if telegram.errors:
        parts.append(f"{len(telegram.errors)} unreadable line(s)")
    return "  ".join(parts)


def _write(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


# -- serve ---------------------------------------------------------------------------------------------


def _build_port(args: argparse.Namespace, start: datetime) -> P1Port:
    from meterkast.io.p1_reader import SMARTY_AUTHENTICATION_KEY  # noqa: PLC0415 - serve's own (module docstring)
    from meterkast.sim.installation import Installation, ReplaceGasMeter  # noqa: PLC0415
    from meterkast.sim.p1_source import P1Cipher, P1Port  # noqa: PLC0415

    rng = random.Random(args.seed)
    variant = GasMeterVariant(args.gas_variant)
    installation = Installation.build(start, rng, meter_type=MeterType.parse(args.type), gas_variant=variant)
    if args.replace_gas_at:
        replace_at = parse_start(args.replace_gas_at, "--replace-gas-at")
        installation.schedule(replace_at, ReplaceGasMeter(REPLACEMENT_GAS_METER))
    cipher = P1Cipher(parse_key(args.key), SMARTY_AUTHENTICATION_KEY) if args.key else None
    return P1Port(installation, args.version, cipher=cipher)


async def serve(args: argparse.Namespace, start: datetime, until: datetime | None) -> None:
    from meterkast.io.p1_server import ClockPacer, InstantPacer, P1Server  # noqa: PLC0415 - serve's own

    port = _build_port(args, start)
    speed = parse_speed(args.speed)
    clock = SimClock(start, speed=speed or 0.0)
    pacer: Pacer = InstantPacer(clock) if speed is None else ClockPacer(clock, speed)
    max_lag = None if speed is None else max(2 * port.interval, timedelta(seconds=speed))
    server = P1Server(port, pacer, backlog=args.backlog, max_lag=max_lag)
    spec = spec_for(args.version)
    every = port.interval.total_seconds()
    if args.no_tcp and not args.pty:
        raise InvalidInput("--no-tcp without --pty leaves nowhere to send telegrams")
    try:
        if not args.no_tcp:
            _, bound = await server.start_tcp(args.host, args.port)
            _write(f"P1 {spec.title}: a telegram every {every:g} s on {'  '.join(shown_urls('tcp', args.host, bound))}")
        if args.pty:
            _write(f"pty: {server.open_pty(115200 if spec.name != '2.2' else 9600)}")
        if args.key:
            _write(_key_hint(args.key))
        await server.run(until)
    finally:
        await server.close()
    print(f"meterkast: sent {server.stats.telegrams} telegrams, skipped {server.stats.skipped}", file=sys.stderr)


def _key_hint(key: str) -> str:
    """Which keys a reader needs for ``--key`` (docs/p1.md, "Encrypted P1")."""
    from meterkast.io.p1_reader import SMARTY_AUTHENTICATION_KEY  # noqa: PLC0415 - serve's own (module docstring)

    return (
        f"encrypted (AES-128-GCM, Smarty framing): encryption key {key.upper()}, authentication key "
        f"{SMARTY_AUTHENTICATION_KEY.hex().upper()}; dsmr_parser: version 'MSn' with encryption_key only"
    )


def _configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="meterkast: %(message)s")


def serve_command(args: argparse.Namespace) -> int:
    _configure_logging()
    start = parse_start(args.start) if args.start else SystemClock().now().replace(microsecond=0)
    until = parse_start(args.until, "--until") if args.until else None
    import asyncio  # noqa: PLC0415 - the verbs that run an event loop import it (module docstring)

    try:
        asyncio.run(p1_check.serve_situation_command(args) if args.situation else serve(args, start, until))
    except KeyboardInterrupt:
        print("meterkast: stopped", file=sys.stderr)
    return 0


# -- read ----------------------------------------------------------------------------------------------


async def read(args: argparse.Namespace) -> int:
    from meterkast.io.p1_reader import SMARTY_AUTHENTICATION_KEY, p1_reader  # noqa: PLC0415 - read's own

    key = parse_key(args.key) if args.key else None
    auth = parse_key(args.auth_key, "--auth-key") if args.auth_key else SMARTY_AUTHENTICATION_KEY
    if args.count is not None and args.count < 1:
        raise InvalidInput(f"--count {args.count} must be at least 1")
    if args.retries is not None and args.retries < 0:
        raise InvalidInput(f"--retries {args.retries} is negative (0 = give up at the first failure)")
    seen = 0
    publisher = mqtt_publisher(args)
    sink = table_sink(args)
    reader = p1_reader(
        args.url, key, authentication_key=auth, version=args.version, baud=args.baud, max_reconnects=args.retries
    )
    try:
        async with maybe_publishing(publisher):
            async for telegram in reader:
                if sink is not None:
                    write_row(sink, telegram)
                else:
                    _write(json.dumps(telegram_json(telegram)) if args.json else telegram_text(telegram))
                if publisher is not None:
                    publisher.submit(publisher.bridge.messages(telegram))
                seen += 1
                if args.count is not None and seen >= args.count:
                    break
    finally:
        await reader.aclose()
        if sink is not None:
            sink.close()
    return 0


def read_command(args: argparse.Namespace) -> int:
    _configure_logging()
    import asyncio  # noqa: PLC0415 - the verbs that run an event loop import it (module docstring)

    try:
        return asyncio.run(read(args))
    except KeyboardInterrupt:
        print("meterkast: stopped", file=sys.stderr)
        return 0
    except BrokenPipeError:  # the reader of our output (``| head``) has gone: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces stdout so the interpreter's flush at exit is silent
        return 0


# -- parse ---------------------------------------------------------------------------------------------


def scanned_json(item: Scanned) -> dict[str, Any]:
    """One telegram of ``p1 parse --json``: where it is, its values, CRC status and problems."""
    head: dict[str, Any] = {"offset": item.offset, "line": item.line}
    if item.telegram is None:
        return {**head, "error": item.error, "problems": [_problem_json(p) for p in item.problems]}
    telegram = item.telegram
    crc = {
        "sent": None if telegram.crc is None else f"{telegram.crc:04X}",
        "computed": None if item.computed_crc is None else f"{item.computed_crc:04X}",
    }
    lines = {"problems": [_problem_json(p) for p in item.problems], "notes": [_problem_json(n) for n in item.notes]}
    return {**head, **telegram_json(telegram), "crc": crc, **lines}


def _problem_json(problem: LineError) -> dict[str, Any]:
    return {"line": problem.line, "text": problem.text, "reason": problem.reason}


def parse_command(args: argparse.Namespace) -> int:
    """Exit 0: every telegram read clean; 1: some problem (CRC mismatch, unreadable line or telegram,
    cut-off telegram) but at least one telegram read; 2: no telegram could be read, or a usage error
    (docs/p1.md, "p1 parse")."""
    name = "stdin" if args.file == "-" else args.file
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {name}: {exc.strerror or exc}") from exc
    from meterkast.p1.scan import scan_telegrams  # noqa: PLC0415 - parse's own (module docstring)

    scanned = scan_telegrams(data)
    read = 0
    sink = table_sink(args)
    for item in scanned:
        where = f"{name}: telegram at byte {item.offset} (line {item.line})"
        if sink is not None:
            if item.telegram is not None:
                write_row(sink, item.telegram)
        elif args.json:
            _write(json.dumps(scanned_json(item)))
        elif item.telegram is not None:
            _write(telegram_text(item.telegram))
        if item.telegram is None:
            print(f"{where}: {item.error}", file=sys.stderr)
        else:
            read += 1
            if item.computed_crc is not None and item.telegram.crc is not None:
                print(
                    f"{where}: CRC mismatch: the telegram says {item.telegram.crc:04X}, its bytes give "
                    f"{item.computed_crc:04X}; values shown but not verified",
                    file=sys.stderr,
                )
        for problem in item.problems:
            print(f"{where}: line {problem.line} {problem.text!r}: {problem.reason}", file=sys.stderr)
    if sink is not None:
        sink.close()
    if not read:
        raise InvalidInput(f"no telegram in {name} could be read ({len(scanned)} bad)")
    return 0 if all(item.clean for item in scanned) else 1
