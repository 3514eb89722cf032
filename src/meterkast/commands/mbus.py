"""``meterkast mbus decode|encode|scan``: wired M-Bus (EN 13757-2/-3, DSMR P2) at the command line.

- ``decode``: hex text (or raw bytes on stdin) → frames → one annotated line per byte range
  (``mbus.annotate``, in the spirit of wmbusmeters' ``analyze``) or one JSON object per frame
  (``mbus.jsonio``). ``--key`` decrypts DSMR P2 mode 15 blocks (``mbus.security``).
- ``encode``: the JSON ``decode --json`` prints → frame bytes, as hex or ``--raw``.
- ``scan``: SND_NKE + REQ_UD2 per primary address through ``mbus.master.BusMaster``, or the wildcard
  search of ``mbus.secondary`` with ``--secondary``.

Rules this module keeps:
- bad input is a ``MeterkastError`` naming where it is (byte offset in the input, character of the hex
  text, JSON path), so ``cli.main`` exits 2 with a message and never a traceback;
- the input must be frames back to back unless ``--resync`` lets the framer skip noise (and say how much);
- byte offsets printed and reported are offsets in the whole input, not in the frame;
- key bytes never appear in output or messages (DSMR P2 §6.5).

The three verbs share one module because ``cli.COMMAND_MODULES`` maps one module per command; it is
longer than STYLE 13's 400 lines, and the natural split is one module per verb (decode, encode, scan).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import string
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meterkast.errors import BusCollision, CodecError, FrameError, InvalidInput, NoReply, RecordError
from meterkast.io.mbus_open import open_transport
from meterkast.io.mbus_transport import DEFAULT_REPLY_WAIT_S
from meterkast.mbus.annotate import Annotation, annotate
from meterkast.mbus.application import PAYLOAD_OFFSET, Telegram, VariableData, decode_payload, decode_telegram
from meterkast.mbus.fixed import decode_fixed
from meterkast.mbus.framer import Framer
from meterkast.mbus.header import HeaderKind, LongHeader, ci_info, decode_long_header, medium_name
from meterkast.mbus.jsonio import from_json_dict, to_json_dict
from meterkast.mbus.link import (
    ADDRESS_SECONDARY,
    E5,
    ControlFrame,
    Frame,
    LongFrame,
    ShortFrame,
    SingleChar,
    decode_frame,
    describe_control,
    encode_frame,
    frame_length,
)
from meterkast.mbus.master import C_REQ_UD2, C_SND_UD, MAX_PRIMARY, BusMaster, RetryPolicy
from meterkast.mbus.records import decode_records
from meterkast.mbus.secondary import CI_SELECT, ProbeResult, ScanPlanner, SecondaryAddress, encode_selection
from meterkast.mbus.security import ConfigurationWord, MeterIdentity, decrypt_payload

HEX_ON_STDIN = re.compile(rb"[0-9A-Fa-fxX\s:,;]*")
HEX_TOKEN = re.compile(r"[^\s:,;]+")
BYTES_PER_ROW = 8
RECORD_TYPES = ("record", "idle_filler", "global_readout", "manufacturer")
HEADER_FIELDS: tuple[tuple[str, type], ...] = (
    ("ident", str), ("manufacturer", str), ("version", int), ("medium", int),
    ("access", int), ("status", int), ("configuration", int),
)
_TYPE_WORDS: dict[type, str] = {str: "text", int: "a number"}
KEY_HINT = "--key takes the 16-byte AES-128 user key as 32 hex digits"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mbus = sub.add_parser("mbus", help="wired M-Bus frames (EN 13757-2/-3, DSMR P2): decode, encode, scan")
    verbs = mbus.add_subparsers(dest="verb", required=True, metavar="VERB")

    decode = verbs.add_parser("decode", help="explain M-Bus frames byte by byte, or print them as JSON")
    decode.add_argument("frames", metavar="HEX", help="frame bytes as hex (spaces, colons, newlines allowed); "
                        "- reads stdin (hex text or raw bytes)")
    decode.add_argument("--key", metavar="HEX", help="AES-128 user key (32 hex digits): decrypt DSMR P2 mode 15")
    decode.add_argument("--json", action="store_true", help="one JSON object per frame")
    decode.add_argument("--resync", action="store_true",
                        help="skip bytes that form no valid frame (a captured stream with noise)")
    decode.set_defaults(handler=decode_command)

    encode = verbs.add_parser("encode", help="build frames from the JSON that decode --json prints")
    encode.add_argument("--json", required=True, metavar="FILE", help="JSON file (one object, several, or a list); "
                        "- reads stdin")
    encode.add_argument("--raw", action="store_true", help="write the frame bytes instead of hex")
    encode.set_defaults(handler=encode_command)

    scan = verbs.add_parser("scan", help="find the slaves on a real bus")
    scan.add_argument("--port", required=True, metavar="URL",
                      help="serial device (/dev/ttyUSB0, 2400 8E1) or tcp://host:port")
    scan.add_argument("--from", dest="first", type=int, default=0, metavar="N", help="first primary address (0)")
    scan.add_argument("--to", dest="last", type=int, default=MAX_PRIMARY, metavar="N",
                      help=f"last primary address ({MAX_PRIMARY})")
    scan.add_argument("--secondary", action="store_true",
                      help="wildcard search by secondary address instead (not DSMR P2, which forbids A=253)")
    scan.add_argument("--retries", type=int, default=2, metavar="N", help="repeats after a failed attempt (2)")
    scan.add_argument("--timeout", type=float, default=DEFAULT_REPLY_WAIT_S, metavar="S",
                      help=f"seconds to wait for a reply ({DEFAULT_REPLY_WAIT_S})")
    scan.set_defaults(handler=scan_command)


# --- decode -------------------------------------------------------------------------------------


def parse_hex(text: str, what: str = "hex input") -> bytes:
    """Hex with any of whitespace , : ; between bytes, and optional 0x prefixes; one-digit tokens are bytes."""
    tokens: list[str] = []
    for match in HEX_TOKEN.finditer(text):
        token, start = match.group(), match.start()
        if token[:2].lower() == "0x":
            token, start = token[2:], start + 2
        for i, char in enumerate(token):
            if char not in string.hexdigits:
                raise InvalidInput(f"{what}: {char!r} at character {start + i} is not a hex digit")
        if token:
            tokens.append(token)
    if not tokens:
        raise InvalidInput(f"{what} is empty: give the frame bytes as hex, e.g. '10 5B 01 5C 16'")
    if all(len(t) <= 2 for t in tokens):
        return bytes(int(t, 16) for t in tokens)
    digits = "".join(tokens)
    if len(digits) % 2:
        raise InvalidInput(f"{what} has {len(digits)} hex digits, an odd number: every byte needs two")
    return bytes.fromhex(digits)


def parse_key(text: str) -> bytes:
    try:
        key = parse_hex(text, "--key")
    except InvalidInput:
        raise InvalidInput(f"{KEY_HINT}; it holds something else") from None  # never echo key material
    if len(key) != 16:
        raise InvalidInput(f"{KEY_HINT}, got {len(key)} bytes")
    return key


def read_frame_input(source: str) -> bytes:
    if source != "-":
        return parse_hex(source)
    data = sys.stdin.buffer.read()
    if HEX_ON_STDIN.fullmatch(data):
        return parse_hex(data.decode("ascii"), "hex on stdin")
    return data  # not hex text: raw frame bytes, e.g. a capture piped in


@dataclass(frozen=True, slots=True)
class Located:
    """One frame and where it starts in the input."""

    offset: int
    raw: bytes
    frame: Frame


def shifted(exc: CodecError, offset: int) -> CodecError:
    """The same error with its offset counted from the start of the input instead of the frame."""
    if offset == 0:
        return exc
    if exc.offset == 0:  # the frame's first byte is the culprit: its input offset says it all
        return type(exc)(exc.reason, offset=offset)
    at = None if exc.offset is None else offset + exc.offset
    return type(exc)(f"frame starting at byte {offset}: {exc.reason}", offset=at)


def split_strict(data: bytes) -> list[Located]:
    """Frames back to back; the first byte that breaks that is an error with its input offset."""
    out: list[Located] = []
    pos = 0
    while pos < len(data):
        size = frame_length(data[pos : pos + 4]) or len(data) - pos
        chunk = data[pos : pos + size]
        try:
            frame = decode_frame(chunk)
        except CodecError as exc:
            raise shifted(exc, pos) from exc
        out.append(Located(pos, chunk, frame))
        pos += len(chunk)
    return out


def split_resync(data: bytes) -> tuple[list[Located], int]:
    """Frames the framer finds, skipping noise; also how many bytes it skipped."""
    framer = Framer()
    out: list[Located] = []
    cursor = 0
    for frame in framer.feed(data) + framer.timeout():
        raw = encode_frame(frame)  # a valid frame has exactly one encoding, so it is found again below
        at = data.index(raw, cursor)
        out.append(Located(at, raw, frame))
        cursor = at + len(raw)
    return out, framer.stats.skipped_bytes


@dataclass(frozen=True, slots=True)
class Decrypted:
    """A mode 15 frame opened: its plaintext in place of the ciphertext, the encrypted byte range."""

    meter: str
    frame_counter: int
    clear_frame: bytes  # same length and offsets as the original; configuration word set to mode 0
    start: int
    end: int
    telegram: Telegram  # the plaintext records under the original header


def decrypt_frame(frame: Frame, key: bytes) -> Decrypted | None:
    """None if ``frame`` carries no encrypted blocks; AuthenticationError (naming the meter) on a wrong key."""
    if not isinstance(frame, LongFrame):
        return None
    payload = decode_payload(frame.ci, frame.data)
    if not isinstance(payload, VariableData) or not payload.encrypted:
        return None
    header = payload.header
    if not isinstance(header, LongHeader):
        raise CodecError(f"CI {frame.ci:02X}h: encrypted blocks under a short header; the mode 15 IV needs the "
                         "long header's MAN, ID, VER and medium (DSMR P2 §5.2)", offset=PAYLOAD_OFFSET)
    meter = MeterIdentity.from_short_id(header.short_id)
    size = HeaderKind.LONG.value
    result = decrypt_payload(frame.data[size:], ConfigurationWord.from_value(header.configuration),
                             user_key=key, meter=meter)
    start = PAYLOAD_OFFSET + size
    end = start + len(payload.encrypted)
    clear_data = frame.data[: size - 2] + b"\x00\x00" + result.records + frame.data[size + len(payload.encrypted) :]
    records = decode_records(result.records, start)
    return Decrypted(meter.label, result.frame_counter or 0,
                     encode_frame(LongFrame(frame.control, frame.address, frame.ci, clear_data)), start, end,
                     Telegram(frame.control, frame.address, VariableData(frame.ci, header, records)))


def frame_json(item: Located, key: bytes | None) -> dict[str, Any]:
    frame = item.frame
    if isinstance(frame, SingleChar):
        return {"frame": "ack"}
    link = {"frame": _kind(frame), "function": describe_control(frame.control)}
    if isinstance(frame, ShortFrame):
        return {**link, "control": frame.control, "address": frame.address}
    document = {**link, **to_json_dict(decode_telegram(item.raw))}
    opened = decrypt_frame(frame, key) if key is not None else None
    if opened is not None:
        document["decrypted"] = {"meter": opened.meter, "frame_counter": opened.frame_counter,
                                 "records": to_json_dict(opened.telegram)["records"]}
    return document


def _kind(frame: ShortFrame | ControlFrame | LongFrame) -> str:
    return {ShortFrame: "short", ControlFrame: "control", LongFrame: "long"}[type(frame)]


def annotated_lines(item: Located, key: bytes | None) -> list[str]:
    opened = decrypt_frame(item.frame, key) if key is not None else None
    lines: list[str] = []
    for note in merge_repeats(annotate(item.raw)):
        if opened is not None and note.start == opened.start:
            text = f"{note.text}, decrypted (frame counter {opened.frame_counter}):"
            lines += _rows(Annotation(note.start, note.end, text), item.raw, item.offset)
            for inner in merge_repeats(annotate(opened.clear_frame)):
                if opened.start <= inner.start < opened.end:
                    lines += _rows(inner, opened.clear_frame, item.offset, indent="  ")
            continue
        lines += _rows(note, item.raw, item.offset)
    return lines


def merge_repeats(notes: list[Annotation]) -> list[Annotation]:
    """Adjacent ranges with the same meaning (runs of 2Fh fillers) as one line."""
    out: list[tuple[Annotation, int]] = []
    for note in notes:
        if out and out[-1][0].text == note.text and out[-1][0].end == note.start:
            first, count = out[-1]
            out[-1] = (Annotation(first.start, note.end, note.text), count + 1)
        else:
            out.append((note, 1))
    return [note if n == 1 else Annotation(note.start, note.end, f"{note.text} ×{n}") for note, n in out]


def _rows(note: Annotation, frame: bytes, base: int, indent: str = "") -> list[str]:
    """Offset, up to eight bytes and the meaning; longer ranges continue on the next rows."""
    chunk = frame[note.start : note.end]
    rows = []
    for k in range(0, max(len(chunk), 1), BYTES_PER_ROW):
        part = chunk[k : k + BYTES_PER_ROW].hex(" ").upper()
        text = f"{indent}{note.text}" if k == 0 else ""
        rows.append(f"{base + note.start + k:04}  {part:<23}  {text}".rstrip())
    return rows


def frame_title(index: int, item: Located) -> str:
    frame = item.frame
    what = "E5 acknowledgement" if isinstance(frame, SingleChar) else (
        f"{describe_control(frame.control)}, address {frame.address}")
    return f"frame {index}, bytes {item.offset}..{item.offset + len(item.raw) - 1}: {what}"


def decode_command(args: argparse.Namespace) -> int:
    key = parse_key(args.key) if args.key is not None else None
    data = read_frame_input(args.frames)
    if args.resync:
        located, skipped = split_resync(data)
        if skipped:
            print(f"meterkast: skipped {skipped} of {len(data)} bytes that form no valid frame", file=sys.stderr)
        if not located:
            raise FrameError(f"no valid frame in {len(data)} bytes of input")
    else:
        located = split_strict(data)
    for index, item in enumerate(located, start=1):
        try:
            if args.json:
                print(json.dumps(frame_json(item, key), ensure_ascii=False))
                continue
            lines = annotated_lines(item, key)
        except CodecError as exc:
            raise shifted(exc, item.offset) from exc
        if len(located) > 1:
            print(("\n" if index > 1 else "") + frame_title(index, item))
        print("\n".join(lines))
        if key is None and isinstance(item.frame, LongFrame):
            _hint_encrypted(item)
    return 0


def _hint_encrypted(item: Located) -> None:
    payload = decode_payload(item.frame.ci, item.frame.data) if isinstance(item.frame, LongFrame) else None
    if isinstance(payload, VariableData) and payload.encrypted:
        print(f"meterkast: frame at byte {item.offset} has {len(payload.encrypted)} encrypted bytes; "
              "give --key to decrypt them", file=sys.stderr)


# --- encode -------------------------------------------------------------------------------------


def read_json_documents(source: str) -> list[tuple[str, Any]]:
    """(JSON path, document): one object ``$``, a list or several objects in a row ``$[0]``, ``$[1]``…"""
    if source == "-":
        text, name = sys.stdin.read(), "stdin"
    else:
        try:
            text, name = Path(source).read_text(encoding="utf-8"), source
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"--json {source}: {getattr(exc, 'strerror', None) or exc}") from exc
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    pos = 0
    while (pos := _skip_space(text, pos)) < len(text):
        try:
            document, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{name} line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        documents.append(document)
    if not documents:
        raise InvalidInput(f"{name} holds no JSON; give what 'meterkast mbus decode --json' prints")
    if len(documents) == 1 and isinstance(documents[0], list):
        documents = documents[0]
    elif len(documents) == 1:
        return [("$", documents[0])]
    return [(f"$[{i}]", d) for i, d in enumerate(documents)]


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def encode_document(document: Any, path: str) -> bytes:
    """Frame bytes for one JSON object; every error names the JSON path of the bad part."""
    if not isinstance(document, dict):
        raise InvalidInput(f"{path}: expected an object describing one frame, got {type(document).__name__}")
    kind = document.get("frame")
    if kind == "ack":
        return encode_frame(E5)
    if kind not in (None, "short", "control", "long"):
        raise InvalidInput(f"{path}.frame: {kind!r} is not one of 'ack', 'short', 'control', 'long'")
    control, address = (_byte_field(document, name, path) for name in ("control", "address"))
    if kind == "short":
        return encode_frame(ShortFrame(control, address))
    _byte_field(document, "ci", path)
    _check_shape(document, path)
    try:
        return from_json_dict(document)
    except CodecError as exc:
        raise RecordError(f"{path}{_locate(document)}: {exc.reason}") from exc


def _byte_field(document: dict[str, Any], name: str, path: str) -> int:
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise InvalidInput(f"{path}.{name}: expected a number 0..255, got {json.dumps(value)}")
    return value


def _check_shape(document: dict[str, Any], path: str) -> None:
    """Types jsonio expects, checked here so that a wrong one is named by its path."""
    for name in ("header", "fixed", "error"):
        if document.get(name) is not None and not isinstance(document[name], dict):
            raise InvalidInput(f"{path}.{name}: expected an object or null")
    for name in ("encrypted", "data"):
        if not _is_hex(document.get(name, "")):
            raise InvalidInput(f"{path}.{name}: expected bytes as an even number of hex digits")
    if document.get("header") is not None:
        _check_header(document["header"], f"{path}.header")
    if document.get("fixed") is not None:
        _check_fixed(document["fixed"], f"{path}.fixed")
    _check_records(document.get("records", []), f"{path}.records")


def _check_header(header: dict[str, Any], path: str) -> None:
    fields = HEADER_FIELDS if "ident" in header else HEADER_FIELDS[-3:]  # long, or short (access, status, cw)
    for name, kind in fields:
        value = header.get(name)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise InvalidInput(f"{path}.{name}: expected {_TYPE_WORDS[kind]}, got {json.dumps(value)}")


def _check_fixed(fixed: dict[str, Any], path: str) -> None:
    for name in ("units", "counters"):
        pair = fixed.get(name)
        if not isinstance(pair, list) or len(pair) != 2 or not all(type(n) is int for n in pair):
            raise InvalidInput(f"{path}.{name}: expected a list of two numbers, got {json.dumps(pair)}")


def _check_records(records: Any, path: str) -> None:
    if not isinstance(records, list):
        raise InvalidInput(f"{path}: expected a list")
    for i, record in enumerate(records):
        where = f"{path}[{i}]"
        if not isinstance(record, dict):
            raise InvalidInput(f"{where}: expected an object")
        kind = record.get("type", "record")
        if kind not in RECORD_TYPES:
            raise InvalidInput(f"{where}.type: {json.dumps(kind)} is not one of {', '.join(RECORD_TYPES)}")
        for name in ("dib", "vib") if kind == "record" else ("data",) if kind == "manufacturer" else ():
            if not _is_hex(record.get(name), empty=name == "data"):
                raise InvalidInput(f"{where}.{name}: expected bytes as an even number of hex digits")


def _is_hex(value: Any, *, empty: bool = True) -> bool:
    return isinstance(value, str) and len(value) % 2 == 0 and all(c in string.hexdigits for c in value) and (
        empty or bool(value))


def _fails(document: dict[str, Any]) -> bool:
    try:
        from_json_dict(document)
    except CodecError:
        return True
    return False


def _locate(document: dict[str, Any]) -> str:
    """Which part made ``from_json_dict`` fail: a record (tried alone), the header, or the frame itself."""
    for i, record in enumerate(document.get("records", [])):
        if _fails({"control": 0x08, "address": 0, "ci": 0x78, "records": [record]}):
            return f".records[{i}]"
    for name in ("fixed", "error"):
        if name in document:
            return f".{name}"
    if document.get("header") is not None and _fails({**document, "records": [], "encrypted": "", "data": ""}):
        return ".header"
    return ""


def encode_command(args: argparse.Namespace) -> int:
    frames = [encode_document(document, path) for path, document in read_json_documents(args.json)]
    if args.raw:
        sys.stdout.buffer.write(b"".join(frames))
        sys.stdout.buffer.flush()
    else:
        for frame in frames:
            print(frame.hex(" ").upper())
    return 0


# --- scan ---------------------------------------------------------------------------------------


def scan_command(args: argparse.Namespace) -> int:
    if not 0 <= args.first <= args.last <= MAX_PRIMARY:
        raise InvalidInput(f"--from {args.first} --to {args.last}: primary addresses run 0..{MAX_PRIMARY}, "
                           "--from not above --to")
    if args.retries < 0:
        raise InvalidInput(f"--retries {args.retries} is negative")
    if not args.timeout > 0:
        raise InvalidInput(f"--timeout {args.timeout} must be above 0 seconds")
    policy = RetryPolicy(attempts=args.retries + 1, reply_wait_s=args.timeout)
    return asyncio.run(_scan(args, policy))


async def _scan(args: argparse.Namespace, policy: RetryPolicy) -> int:
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


IDENTITY_HEADINGS = f"{'manufacturer':<12}  {'id':<8}  {'version':<7}  medium"


def identity(reply: LongFrame) -> str:
    """Manufacturer, ID, version and medium from an RSP_UD's long header (or fixed structure)."""
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
    h = decode_long_header(reply.data, PAYLOAD_OFFSET)
    return SecondaryAddress(h.ident, h.manufacturer, h.version, h.medium)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
