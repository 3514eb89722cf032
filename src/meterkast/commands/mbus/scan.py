"""``meterkast mbus scan``: find the slaves on a real bus (EN 13757-2 primary, EN 13757-3 secondary).

SND_NKE + REQ_UD2 per primary address through ``mbus.master.BusMaster``, or with ``--secondary`` the
wildcard search that ``mbus.secondary.ScanPlanner`` plans; one line per slave found, naming it by the
manufacturer, ID, version and medium of its long header (or its fixed data structure). The transports
(asyncio, pyserial) and the application layer are imported by the scan itself, not when ``cli`` builds the
parser (issue 13 item 6).
"""

from __future__ import annotations

import argparse
import contextlib

from meterkast.errors import BusCollision, FrameError, InvalidInput, NoReply
from meterkast.mbus.header import HeaderKind, ci_info, decode_long_header, medium_name
from meterkast.mbus.link import ADDRESS_SECONDARY, C_REQ_UD2, C_SND_UD, MAX_PRIMARY, LongFrame, ShortFrame, SingleChar
from meterkast.mbus.master import BusMaster, RetryPolicy
from meterkast.mbus.secondary import CI_SELECT, ProbeResult, ScanPlanner, SecondaryAddress, encode_selection

# io.mbus_transport's default, repeated so that the parser does not import the transports (checked by
# tests/commands/test_cli_startup.py).
DEFAULT_REPLY_WAIT_S = 0.5
IDENTITY_HEADINGS = f"{'manufacturer':<12}  {'id':<8}  {'version':<7}  medium"


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("scan", help="find the slaves on a real bus")
    parser.add_argument("--port", required=True, metavar="URL",
                        help="serial device (/dev/ttyUSB0, 2400 8E1) or tcp://host:port")
    parser.add_argument("--from", dest="first", type=int, default=0, metavar="N", help="first primary address (0)")
    parser.add_argument("--to", dest="last", type=int, default=MAX_PRIMARY, metavar="N",
                        help=f"last primary address ({MAX_PRIMARY})")
    parser.add_argument("--secondary", action="store_true",
                        help="wildcard search by secondary address instead (not DSMR P2, which forbids A=253)")
    parser.add_argument("--retries", type=int, default=2, metavar="N", help="repeats after a failed attempt (2)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_REPLY_WAIT_S, metavar="S",
                        help=f"seconds to wait for a reply ({DEFAULT_REPLY_WAIT_S})")
    parser.set_defaults(handler=scan_command)


def scan_command(args: argparse.Namespace) -> int:
    if not 0 <= args.first <= args.last <= MAX_PRIMARY:
        raise InvalidInput(f"--from {args.first} --to {args.last}: primary addresses run 0..{MAX_PRIMARY}, "
                           "--from not above --to")
    if args.retries < 0:
        raise InvalidInput(f"--retries {args.retries} is negative")
    if not args.timeout > 0:
        raise InvalidInput(f"--timeout {args.timeout} must be above 0 seconds")
    policy = RetryPolicy(attempts=args.retries + 1, reply_wait_s=args.timeout)
    import asyncio  # noqa: PLC0415 - the scan's own imports (module docstring)

    return asyncio.run(_scan(args, policy))


async def _scan(args: argparse.Namespace, policy: RetryPolicy) -> int:
    from meterkast.io.mbus_open import open_transport  # noqa: PLC0415 - the scan's own imports (module docstring)

    transport = await open_transport(args.port)
    try:
        master = BusMaster(transport, policy)
        tries = f"{policy.attempts} attempt{'s' if policy.attempts > 1 else ''} of {policy.reply_wait_s} s each"
        if args.secondary:
            print(f"scanning {args.port} by secondary address (wildcard search), {tries}")
            await _scan_secondary(master)
        else:
            print(f"scanning {args.port}, primary addresses {args.first}..{args.last}, {tries}")
            await _scan_primary(master, range(args.first, args.last + 1))
    finally:
        await transport.close()
    return 0


def identity(reply: LongFrame) -> str:
    """Manufacturer, ID, version and medium from an RSP_UD's long header (or fixed structure)."""
    from meterkast.mbus.application import PAYLOAD_OFFSET  # noqa: PLC0415 - the codec once a slave answers
    from meterkast.mbus.fixed import decode_fixed  # noqa: PLC0415

    if ci_info(reply.ci).header is HeaderKind.LONG and len(reply.data) >= HeaderKind.LONG.value:
        h = decode_long_header(reply.data, PAYLOAD_OFFSET)
        return f"{h.manufacturer:<12}  {h.ident:<8}  0x{h.version:02X}     {medium_name(h.medium)} (0x{h.medium:02X})"
    if ci_info(reply.ci).header is HeaderKind.NONE and reply.ci == 0x73:
        fixed = decode_fixed(reply.data, PAYLOAD_OFFSET)
        return f"{'-':<12}  {fixed.ident:<8}  {'-':<7}  medium code {fixed.medium} (fixed data structure)"
    return f"answered with CI {reply.ci:02X}h ({ci_info(reply.ci).name}): no long header to identify it"


async def _scan_primary(master: BusMaster, addresses: range) -> None:
    hits, collisions = await master.scan_primary(addresses)
    rows: list[tuple[int, str]] = []
    for hit in hits:
        rows.append((hit.address, "answers SND_NKE but not REQ_UD2" if hit.reply is None else identity(hit.reply)))
    rows += [(a, "collision: garbled replies (several slaves on this address, or a noisy line)") for a in collisions]
    print(f"{'address':>7}  {IDENTITY_HEADINGS}")
    for address, text in sorted(rows):
        print(f"{address:>7}  {text}")
    print(f"found {_count(len(hits), 'device')}, {_count(len(collisions), 'collision')}")


async def _scan_secondary(master: BusMaster) -> None:
    # Deselect any slave a previous master left selected; nobody need answer.
    with contextlib.suppress(NoReply, BusCollision, FrameError):
        await master.reset(ADDRESS_SECONDARY)
    planner = ScanPlanner()
    replies: dict[SecondaryAddress, LongFrame] = {}
    while (probe := planner.next_probe()) is not None:
        result, reply = await _probe(master, probe)
        found = None if reply is None else _secondary_address(reply)
        if result is ProbeResult.ONE and found is None:
            result = ProbeResult.COLLISION  # an answer we cannot read: narrow the mask like a collision
        planner.record(result, found)
        if found is not None and reply is not None:
            replies[found] = reply
    print(f"{'address':>7}  {IDENTITY_HEADINGS}")
    for address in planner.found:
        print(f"{replies[address].address:>7}  {identity(replies[address])}")
    for address in planner.unresolved:
        print(f"{'?':>7}  {'?':<12}  {address.ident:<8}  collision: several slaves share this ID; select them by "
              "manufacturer, version and medium")
    print(f"found {_count(len(planner.found), 'device')} in {_count(planner.probes, 'selection')}, "
          f"{len(planner.unresolved)} unresolved")


async def _probe(master: BusMaster, probe: SecondaryAddress) -> tuple[ProbeResult, LongFrame | None]:
    """Select by mask (E5 from every match), then REQ_UD2 to A=253: one clean RSP_UD means one slave."""
    what = f"selection {probe.ident}"
    try:
        ack = await master.exchange(LongFrame(C_SND_UD, ADDRESS_SECONDARY, CI_SELECT, encode_selection(probe)), what)
        if not isinstance(ack, SingleChar):
            return ProbeResult.COLLISION, None
        # BusMaster.request_data would insist the reply comes from A=253; a selected slave answers with
        # its primary address, so the exchange is done here.
        reply = await master.exchange(ShortFrame(C_REQ_UD2, ADDRESS_SECONDARY), f"REQ_UD2 after {what}")
    except NoReply:
        return ProbeResult.NONE, None
    except BusCollision:
        return ProbeResult.COLLISION, None
    if not isinstance(reply, LongFrame):
        return ProbeResult.COLLISION, None
    return ProbeResult.ONE, reply


def _secondary_address(reply: LongFrame) -> SecondaryAddress | None:
    if ci_info(reply.ci).header is not HeaderKind.LONG or len(reply.data) < HeaderKind.LONG.value:
        return None
    from meterkast.mbus.application import PAYLOAD_OFFSET  # noqa: PLC0415 - the codec once a slave answers

    h = decode_long_header(reply.data, PAYLOAD_OFFSET)
    return SecondaryAddress(h.ident, h.manufacturer, h.version, h.medium)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
