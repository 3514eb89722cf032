"""M-Bus decoders for ``bench_fuzz``: link, framer, application, records, annotate, JSON, secondary, the
``mbus decode`` command's path, and the DSMR P2 mode 15 decrypt path (owned by the P2 part)."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from benchmarks.fuzz_targets import SHARED, Target, bytes_maker, chunked, json_maker, read_hex
from meterkast.commands.mbus.decode import parse_hex
from meterkast.commands.mbus.decode_frames import annotated_lines, frame_json, split_resync, split_strict
from meterkast.commands.mbus.encode import encode_document, parse_json_documents
from meterkast.errors import MeterkastError
from meterkast.mbus.annotate import annotate
from meterkast.mbus.application import Telegram, decode_payload, decode_telegram
from meterkast.mbus.framer import Framer
from meterkast.mbus.gas_reply import read_gas_reply
from meterkast.mbus.header import LongHeader, encode_long_header
from meterkast.mbus.jsonio import from_json_dict, to_json_dict
from meterkast.mbus.link import LongFrame, decode_frame, encode_frame
from meterkast.mbus.records import decode_records
from meterkast.mbus.secondary import SecondaryAddress, decode_select_frame, encode_select_frame
from meterkast.mbus.security import (
    ConfigurationWord,
    FrameCounterGuard,
    MeterIdentity,
    decrypt_payload,
    encrypt_payload,
)

# DSMR P2 Appendix B: the RSP_UD of gas meter NET 23456789, mode 15, user key 00 01 .. 0F, frame counter 1.
APP_B_RSP_UD = bytes.fromhex(
    "6856566808017289674523B4384003F600400F"
    "F180C53E0768C76AE6E24A98BDD5947F622732BF6372AA2AA9AF6D0F0C71"
    "FB595DFECC672FD351CC00A0498DA5FC51155842C776F59B319B60086218"
    "3F691A6804FD0801000000E516"
)
APP_B_KEY = bytes(range(16))
APP_B_HEADER = LongHeader("23456789", "NET", 0x40, 0x03, 0xF6, 0x00, 0)
APP_B_METER = MeterIdentity("NET", "23456789", 0x40, 0x03)
HEADER_END = 7 + 12  # 68 L L 68 C A CI, then the 12-byte long header


def reframe(raw: bytes) -> bytes:
    """Fix L and CS after a mutation, so the mutation reaches the application layer."""
    body = raw[4:-2]
    if not 4 <= len(body) <= 255:
        return raw
    return encode_frame(LongFrame(body[0], body[1], body[2], body[3:]))


def plain_frame(records: bytes) -> bytes:
    """A mode 0 RSP_UD of the App. B meter around ``records`` (no key: DSMR P2 §5.1)."""
    data = encode_long_header(APP_B_HEADER) + records
    return encode_frame(LongFrame(0x08, 0x01, 0x72, data[:252]))


def mode15_frame(records: bytes) -> bytes:
    """A mode 15 RSP_UD of the App. B meter: ``records`` encrypted with the App. B key, counter 1."""
    try:
        secured = encrypt_payload(records[:200], user_key=APP_B_KEY, meter=APP_B_METER, frame_counter=1)
    except MeterkastError:
        return plain_frame(records)
    header = encode_long_header(LongHeader("23456789", "NET", 0x40, 0x03, 0xF6, 0, secured.configuration.value))
    return encode_frame(LongFrame(0x08, 0x01, 0x72, (header + secured.payload)[:252]))


def app_b_plaintext() -> bytes:
    frame = decode_frame(APP_B_RSP_UD)
    assert isinstance(frame, LongFrame)
    configuration = ConfigurationWord.from_value(int.from_bytes(frame.data[10:12], "little"))
    return decrypt_payload(frame.data[12:], configuration, user_key=APP_B_KEY, meter=APP_B_METER).records


FIELD_LENGTHS = {0x0: 0, 0x1: 1, 0x2: 2, 0x3: 3, 0x4: 4, 0x5: 4, 0x6: 6, 0x7: 8, 0x8: 0,
                 0x9: 1, 0xA: 2, 0xB: 3, 0xC: 4, 0xE: 6}  # EN 13757-3 Table 4 (0D is LVAR)
VIFS = (b"\x03", b"\x06", b"\x13", b"\x2b", b"\x5b", b"\x6d", b"\x6c", b"\x78", b"\xfd\x17", b"\xfd\x08",
        b"\x93\x3c", b"\xfb\x01", b"\x7f", b"\x03\x74\x65\x73", b"\x7c\x02\x41\x42")
LVARS = (0x00, 0x03, 0xBF, 0xC0, 0xC1, 0xC4, 0xC9, 0xCA, 0xD0, 0xD1, 0xD5, 0xD9, 0xDA, 0xE0, 0xE5, 0xF0, 0xF8, 0xFF)


def record_seeds(rng: random.Random) -> list[bytes]:
    """One record per data field and VIF (EN 13757-3 Tables 4, 5), with DIFEs sometimes and BCD sign nibbles:
    the corpus holds few LVAR or negative BCD records, and mutation alone rarely builds one."""
    out = []
    for vif in VIFS:
        for field, length in FIELD_LENGTHS.items():
            dif = field | rng.choice((0x00, 0x10, 0x20, 0x40, 0x80))
            head = bytes((dif,)) + (bytes((rng.choice((0x01, 0x10, 0x40)),)) if dif & 0x80 else b"") + vif
            data = bytearray(rng.randbytes(length))
            if data and rng.random() < 0.5:
                data[-1] |= 0xF0  # a BCD sign nibble (EN 13757-3 Annex A type A)
            out.append(head + bytes(data))
        for lvar in LVARS:
            digits = bytes(rng.choice(b"\x00\x01\x12\x45\x99\xf1\x9f") for _ in range(lvar & 0x0F))
            out.append(bytes((0x0D,)) + vif + bytes((lvar,)) + digits)
    return out


def seeds() -> tuple[list[bytes], list[bytes]]:
    """Whole frames, and the record parts (after a long header) of the variable-data frames."""
    folder = SHARED / "testdata" / "mbus-libmbus"
    frames = [read_hex(p) for p in sorted((folder / "test-frames").glob("*.hex"))]
    frames += [read_hex(p) for p in sorted((folder / "error-frames").glob("*.hex"))]
    plaintext = app_b_plaintext()
    frames += [APP_B_RSP_UD, plain_frame(plaintext), mode15_frame(plaintext)]
    records = [f[HEADER_END:-2] for f in frames if len(f) > HEADER_END + 2 and f[0] == 0x68 and f[6] == 0x72]
    synthetic = record_seeds(random.Random(13757))
    frames += [plain_frame(b"".join(synthetic[i : i + 6])) for i in range(0, len(synthetic), 6)]
    return frames, [*records, plaintext, *synthetic]


def select_frames(frames: list[bytes]) -> list[bytes]:
    """Selection frames (CI 52) for the meters of the corpus, wildcards included (EN 13757-3 §11)."""
    found = []
    for raw in frames:
        try:
            header = decode_telegram(raw).payload.header  # type: ignore[union-attr]
        except Exception:
            continue
        if isinstance(header, LongHeader):
            address = SecondaryAddress(header.ident, header.manufacturer, header.version, header.medium)
            found += [encode_select_frame(address), encode_select_frame(SecondaryAddress())]
    return found or [APP_B_RSP_UD]


def json_documents(frames: list[bytes]) -> list[dict[str, Any]]:
    documents = []
    for raw in frames:
        try:
            documents.append(to_json_dict(decode_telegram(raw)))
        except Exception:
            continue
    return documents


def run_framer(data: bytes) -> None:
    framer = Framer()
    for part in chunked(random.Random(len(data)), data):
        framer.feed(part)
    framer.timeout()


def payloads(frames: list[bytes]) -> list[bytes]:
    """CI and data of each long frame, and the same data under every CI of EN 13757-3 Table 2 that reads
    records, header or fixed data."""
    found = [f[6:-2] for f in frames if len(f) > 9 and f[0] == 0x68]
    return found + [bytes((ci,)) + p[1:] for p in found[::7] for ci in (0x70, 0x71, 0x73, 0x74, 0x75, 0x78, 0x7A)]


def run_payload(data: bytes) -> None:
    if data:
        json.dumps(to_json_dict(Telegram(0x08, 0x01, decode_payload(data[0], data[1:]))))


def run_telegram(data: bytes) -> None:
    json.dumps(to_json_dict(decode_telegram(data)))


def run_command(data: bytes) -> None:
    """What ``meterkast mbus decode HEX [--json] [--resync] --key K`` does with the bytes, minus printing."""
    located, _skipped = split_resync(data)
    for item in located:
        frame_json(item, APP_B_KEY)
    for item in split_strict(data):
        frame_json(item, APP_B_KEY)
        annotated_lines(item, APP_B_KEY)
        annotated_lines(item, None)


def hex_texts(frames: list[bytes]) -> list[bytes]:
    """Frames as people paste them: spaced, run together, with colons, 0x prefixes, across lines."""
    out = []
    for i, raw in enumerate(frames[:60]):
        spelling = i % 4
        if spelling == 0:
            text = raw.hex(" ").upper()
        elif spelling == 1:
            text = raw.hex()
        elif spelling == 2:
            text = raw.hex(":")
        else:
            text = "\n".join(f"0x{b:02X}," for b in raw)
        out.append(text.encode("ascii"))
    return out


def run_hex_text(data: bytes) -> None:
    run_command(parse_hex(data.decode("latin-1")))


def run_json(document: Any) -> None:
    """``jsonio.from_json_dict`` and the encode command's own shape checks, on one bent document."""
    with contextlib.suppress(MeterkastError):
        decode_telegram(from_json_dict(document))
    decode_telegram(encode_document(document, "$"))


def json_texts(documents: list[dict[str, Any]]) -> list[bytes]:
    """``decode --json`` output as ``mbus encode --json`` reads it: one object, a list, several in a row."""
    lines = [json.dumps(d).encode() for d in documents]
    return lines + [b"[" + b",".join(lines[i : i + 3]) + b"]" for i in range(0, len(lines), 3)] + [
        b"\n".join(lines[i : i + 2]) for i in range(0, len(lines), 2)] + [b"[" * 5000]


def run_encode_command(data: bytes) -> None:
    """What ``meterkast mbus encode --json FILE`` does with the text of the file, minus the writing."""
    for path, document in parse_json_documents(data.decode("utf-8", "replace"), "fuzz"):
        decode_telegram(encode_document(document, path))


def run_gas_reply(data: bytes) -> None:
    frame = decode_frame(data)
    if isinstance(frame, LongFrame):
        read_gas_reply(frame, user_key=APP_B_KEY, guard=FrameCounterGuard(channel=1))


def mbus_targets() -> list[Target]:
    frames, records = seeds()
    with_fixes = bytes_maker(frames, reframe)
    documents = json_documents(frames)
    return [
        Target("mbus link decode_frame", with_fixes, decode_frame),
        Target("mbus Framer", bytes_maker(frames), run_framer),
        Target("mbus decode_telegram+json", with_fixes, run_telegram),
        Target("mbus decode_records", bytes_maker(records), decode_records),
        Target("mbus decode_payload any CI", bytes_maker(payloads(frames)), run_payload),
        Target("mbus annotate", with_fixes, annotate),
        Target("mbus JSON to frame (jsonio+encode)", json_maker(documents), run_json,
               lambda document: json.dumps(document)[:300]),
        Target("mbus secondary select", bytes_maker(select_frames(frames)), decode_select_frame),
        Target("mbus decode command --key", bytes_maker(frames, mode15_frame, records), run_command),
        Target("mbus decode command hex text", bytes_maker(hex_texts(frames)), run_hex_text,
               lambda data: repr(data)[:300]),
        Target("mbus encode command JSON text", bytes_maker(json_texts(documents)), run_encode_command,
               lambda data: repr(data)[:300]),
        Target("mbus P2 mode 15 gas reply", bytes_maker(frames, mode15_frame, records), run_gas_reply),
    ]

