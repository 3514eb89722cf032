"""``meterkast mbus encode``: the JSON that ``decode --json`` prints → M-Bus frame bytes (EN 13757-2/-3).

The JSON is one object, a list, or several objects in a row; the frames come out as hex lines or, with
``--raw``, as bytes. ``mbus.jsonio`` builds the frames; this module checks the shapes first, so that every
error names the JSON path of the bad part (``$[1].records[3].vib``) and ``cli.main`` exits 2 with it.
``mbus.jsonio`` (the whole codec) is imported when a frame is built, not when the parser is (issue 13).
"""

from __future__ import annotations

import argparse
import json
import string
import sys
from pathlib import Path
from typing import Any

from meterkast.errors import CodecError, InvalidInput, RecordError
from meterkast.mbus.link import E5, ShortFrame, encode_frame

RECORD_TYPES = ("record", "idle_filler", "global_readout", "manufacturer")
HEADER_FIELDS: tuple[tuple[str, type], ...] = (
    ("ident", str), ("manufacturer", str), ("version", int), ("medium", int),
    ("access", int), ("status", int), ("configuration", int),
)
_TYPE_WORDS: dict[type, str] = {str: "text", int: "a number"}


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("encode", help="build frames from the JSON that decode --json prints")
    parser.add_argument("--json", required=True, metavar="FILE", help="JSON file (one object, several, or a list); "
                        "- reads stdin")
    parser.add_argument("--raw", action="store_true", help="write the frame bytes instead of hex")
    parser.set_defaults(handler=encode_command)


def read_json_documents(source: str) -> list[tuple[str, Any]]:
    """(JSON path, document): one object ``$``, a list or several objects in a row ``$[0]``, ``$[1]``…"""
    if source == "-":
        text, name = sys.stdin.read(), "stdin"
    else:
        try:
            text, name = Path(source).read_text(encoding="utf-8"), source
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"--json {source}: {getattr(exc, 'strerror', None) or exc}") from exc
    return parse_json_documents(text, name)


def parse_json_documents(text: str, name: str) -> list[tuple[str, Any]]:
    """The documents in ``text`` (read from ``name``), each with its JSON path."""
    decoder = json.JSONDecoder()
    documents: list[Any] = []
    pos = 0
    while (pos := _skip_space(text, pos)) < len(text):
        try:
            document, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{name} line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
        except RecursionError as exc:  # the json module recurses per nesting level; a frame needs four
            raise InvalidInput(f"{name}: JSON nested too deeply to be a frame description") from exc
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
    from meterkast.mbus.jsonio import from_json_dict  # noqa: PLC0415 - the codec only to build (docstring)

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
    from meterkast.mbus.jsonio import from_json_dict  # noqa: PLC0415 - the codec only to build (docstring)

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
