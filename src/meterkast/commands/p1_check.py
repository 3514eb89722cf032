"""``meterkast p1 serve --situation`` and ``meterkast p1 check``: the P1 conformance kit's CLI
(issue 13 item 2; docs/conformance.md).

- ``p1 serve --situation NAME [--truth FILE] [--crc-rate R] [--cut-rate R]`` plays a named situation's
  telegrams on the P1 TCP server on the simulated clock (``--speed``), writes each instant's ground
  truth as a JSON line, and stops after the last telegram;
- ``p1 check --situation NAME --consumer jsonl|mqtt|ha SOURCE`` compares what a consumer reported with
  the ground truth (the situation replayed with the same rates, or ``--truth FILE``) and prints
  ``PASS``/``FAIL`` per situation with the first difference. Exit 0: all pass; 1: a failure.
  ``--consumer mqtt mqtt://HOST:PORT`` subscribes to the consumer's state topics live
  (``io.mqtt_collect``) until ``--count`` telegrams' states came or ``--timeout`` (default: the
  situation's span in real time, plus a minute) is up, then compares.

Heavy imports stay inside the handlers (the CLI imports command modules lazily).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from meterkast.errors import InvalidInput


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--situation", help="play a named conformance situation (docs/conformance.md) and stop")
    serve.add_argument("--truth", help="with --situation: write the ground truth here, one JSON line per telegram")
    serve.add_argument("--crc-rate", type=float, help="with --situation: share of telegrams sent with a bad CRC")
    serve.add_argument("--cut-rate", type=float, help="with --situation: share of telegrams cut off")


def register_check(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = verbs.add_parser("check", help="compare a P1 consumer's report with a situation's ground truth")
    check.add_argument("--situation", action="append", required=True,
                       help="situation name (repeat for several; 'all' = every one)")
    check.add_argument("--consumer", choices=("jsonl", "mqtt", "ha"), required=True,
                       help="jsonl: JSON lines file; mqtt: 'mosquitto_sub -v' capture, or mqtt://HOST:PORT to "
                       "subscribe live; ha: Home Assistant URL")
    check.add_argument("source", metavar="SOURCE",
                       help="the report file ('-' = stdin), the MQTT broker URL, or the HA base URL")
    check.add_argument("--token", help="ha: long-lived access token (or the environment's HA_TOKEN)")
    check.add_argument("--entity", action="append", default=[], help="ha: FIELD=ENTITY_ID (repeat)")
    check.add_argument("--truth", help="the truth file 'p1 serve --truth' wrote (default: replay the situation)")
    check.add_argument("--crc-rate", type=float, help="as given to p1 serve")
    check.add_argument("--cut-rate", type=float, help="as given to p1 serve")
    check.add_argument("--count", type=int,
                       help="mqtt://: stop after this many telegrams' E-meter states (and their device states)")
    check.add_argument("--timeout", type=float,
                       help="mqtt://: give up waiting after this many seconds (default: the situation's span + 60)")
    check.add_argument("--prefix", default="meterkast", help="mqtt://: the consumer's state topic prefix")
    check.set_defaults(handler=check_command)


# -- serve ------------------------------------------------------------------------------------------------


async def serve_situation_command(args: argparse.Namespace) -> None:
    from meterkast.clock import SimClock  # noqa: PLC0415 - lazy: the CLI imports command modules cheaply
    from meterkast.commands.run import parse_speed  # noqa: PLC0415
    from meterkast.conformance.play import play  # noqa: PLC0415
    from meterkast.conformance.serve import serve_situation  # noqa: PLC0415
    from meterkast.conformance.situations import situation  # noqa: PLC0415
    from meterkast.io.listen import shown_urls  # noqa: PLC0415
    from meterkast.io.p1_server import ClockPacer, InstantPacer, P1Server, Pacer  # noqa: PLC0415

    chosen = situation(args.situation)
    played = list(play(chosen, crc_error_rate=args.crc_rate, cut_off_rate=args.cut_rate))
    speed = parse_speed(args.speed)
    clock = SimClock(played[0].at, speed=speed or 0.0)
    pacer: Pacer = InstantPacer(clock) if speed is None else ClockPacer(clock, speed)
    server = P1Server(None, pacer, backlog=max(args.backlog, len(played)))
    truth = open(args.truth, "w", encoding="utf-8") if args.truth else None  # noqa: SIM115 - closed below
    try:
        _, bound = await server.start_tcp(args.host, args.port)
        urls = "  ".join(shown_urls("tcp", args.host, bound))
        print(f"situation {chosen.name} (DSMR {chosen.version}, {len(played)} telegram instants) on {urls}",
              flush=True)
        await server.wait_for_clients(1)  # a situation is played to a consumer, not into the void
        await serve_situation(server, played, pacer, None if truth is None else lambda line: print(line, file=truth))
    finally:
        await server.close()
        if truth is not None:
            truth.close()
    print(f"meterkast: played {chosen.name}: sent {server.stats.telegrams} telegrams", file=sys.stderr)


# -- check ------------------------------------------------------------------------------------------------


def _lines(source: str) -> list[str]:
    if source == "-":
        return sys.stdin.read().splitlines()
    try:
        return Path(source).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {source}: {exc}") from exc


def _jsonl(lines: list[str], source: str) -> list[dict[str, str]]:
    import json  # noqa: PLC0415

    from meterkast.conformance.records import from_json  # noqa: PLC0415

    out = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                obj: Any = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{source} line {number}: not JSON: {exc.msg}") from None
            out.append(from_json(obj, f"{source} line {number}"))
    return out


def fetch_ha_states(base_url: str, token: str) -> Any:
    """``GET <base>/api/states`` with the bearer token (Home Assistant REST API)."""
    import json  # noqa: PLC0415
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    from meterkast.errors import LinkError  # noqa: PLC0415

    url = base_url.rstrip("/") + "/api/states"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        hint = " (check --token)" if exc.code == 401 else ""
        raise LinkError(f"{url}: HTTP {exc.code} {exc.reason}{hint}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise LinkError(f"{url}: {exc}") from exc


LIVE_MARGIN_S = 60.0


def _mqtt_live(args: argparse.Namespace, chosen: list[Any]) -> list[str]:
    """Subscribe to ``<prefix>/+/state`` on the broker and collect what the consumer publishes."""
    import asyncio  # noqa: PLC0415

    from meterkast.io.mqtt_collect import collect_states  # noqa: PLC0415
    from meterkast.io.mqtt_publisher import parse_mqtt_url  # noqa: PLC0415

    if len(chosen) != 1:
        raise InvalidInput("a live MQTT check follows one situation's run: give exactly one --situation")
    if args.count is not None and args.count < 1:
        raise InvalidInput(f"--count {args.count} must be at least 1")
    if args.timeout is not None and not args.timeout > 0:
        raise InvalidInput(f"--timeout {args.timeout} must be above 0 seconds")
    url = parse_mqtt_url(args.source)
    if args.timeout is not None:
        timeout = args.timeout
    else:
        segments = chosen[0].segments
        span = sum(((s.count - 1) * s.every).total_seconds() for s in segments)
        timeout = span + LIVE_MARGIN_S
    topic = f"{args.prefix.rstrip('/')}/+/state"

    def subscribed() -> None:
        limit = f"{args.count} telegrams or " if args.count else ""
        print(f"meterkast: subscribed to {topic} on {url}; collecting for {limit}{timeout:g} s", file=sys.stderr,
              flush=True)

    return asyncio.run(collect_states(url, [topic], count=args.count, timeout_s=timeout, on_subscribed=subscribed))


def check_command(args: argparse.Namespace) -> int:
    import os  # noqa: PLC0415

    from meterkast.conformance.check import check  # noqa: PLC0415
    from meterkast.conformance.consumers import (  # noqa: PLC0415
        MQTT_UNCARRIED,
        entity_map,
        from_ha_states,
        from_mqtt_lines,
    )
    from meterkast.conformance.play import play  # noqa: PLC0415
    from meterkast.conformance.records import FIELDS  # noqa: PLC0415
    from meterkast.conformance.serve import read_truth  # noqa: PLC0415
    from meterkast.conformance.situations import SITUATIONS, situation  # noqa: PLC0415

    chosen = list(SITUATIONS) if "all" in args.situation else [situation(n) for n in args.situation]
    if args.truth and len(chosen) != 1:
        raise InvalidInput("--truth holds one situation's truth: give exactly one --situation")
    latest, uncarried = False, frozenset[str]()
    if args.consumer == "jsonl":
        report = _jsonl(_lines(args.source), args.source)
    elif args.consumer == "mqtt":
        source = _mqtt_live(args, chosen) if args.source.startswith("mqtt://") else _lines(args.source)
        report, uncarried = from_mqtt_lines(source, args.source), MQTT_UNCARRIED
    else:
        mapping = entity_map(args.entity)
        token = args.token or os.environ.get("HA_TOKEN")
        if not token:
            raise InvalidInput("a Home Assistant check needs --token (or HA_TOKEN): a long-lived access token")
        report = [from_ha_states(fetch_ha_states(args.source, token), mapping, args.source)]
        latest, uncarried = True, frozenset(FIELDS) - set(mapping)
    failed = 0
    for item in chosen:
        if args.truth:
            truths = read_truth(_lines(args.truth), args.truth)
        else:
            played = play(item, crc_error_rate=args.crc_rate, cut_off_rate=args.cut_rate)
            truths = [p.truth for p in played if p.truth is not None]
        result = check(item, truths, report, latest=latest, uncarried=uncarried)
        print(result.line())
        failed += not result.passed
    return 1 if failed else 0
