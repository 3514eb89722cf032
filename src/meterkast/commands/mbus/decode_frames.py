"""``meterkast mbus decode`` at work: frames split, explained byte by byte or as JSON, decrypted (EN 13757-2/-3).

``commands/mbus/decode.py`` reads the options and the input; this module, imported when the command runs,
splits the bytes into frames (back to back, or with ``--resync`` by the framer), annotates each
(``mbus.annotate``) or prints it as JSON (``mbus.jsonio``), and opens DSMR P2 mode 15 blocks with ``--key``
(``mbus.security``). Byte offsets in output and errors count from the start of the whole input; key bytes
never appear in output or messages (DSMR P2 §6.5).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from meterkast.commands.mbus.decode import BYTES_PER_ROW, parse_key, read_frame_input
from meterkast.errors import CodecError, FrameError
from meterkast.mbus.annotate import Annotation, annotate
from meterkast.mbus.application import PAYLOAD_OFFSET, Telegram, VariableData, decode_payload, decode_telegram
from meterkast.mbus.framer import Framer
from meterkast.mbus.header import HeaderKind, LongHeader
from meterkast.mbus.jsonio import to_json_dict
from meterkast.mbus.link import (
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
from meterkast.mbus.records import decode_records


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
    from meterkast.mbus.security import ConfigurationWord, MeterIdentity, decrypt_payload  # noqa: PLC0415

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
