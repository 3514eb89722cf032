"""``meterkast mbus decode``: M-Bus frames (EN 13757-2/-3) explained byte by byte, or as JSON.

Hex text (or raw bytes on stdin) → frames → one annotated line per byte range (``mbus.annotate``) or one
JSON object per frame (``mbus.jsonio``); ``--key`` decrypts DSMR P2 mode 15 blocks (``mbus.security``).

Rules this module keeps:
- bad input is a ``MeterkastError`` naming the byte offset in the whole input or the character of the
  hex text, never a traceback;
- the input must be frames back to back unless ``--resync`` lets the framer skip noise (and say how much);
- byte offsets printed and reported are offsets in the whole input, not in the frame;
- key bytes never appear in output or messages (DSMR P2 §6.5);
- the options and the input (hex text, raw bytes, the key) are read here; the frames are split, explained
  and decrypted in ``decode_frames``, imported when the command runs (and ``mbus.security``, cryptography,
  only to decrypt), so that the parser, which ``cli`` builds for every command, stays quick (issue 13).
"""

from __future__ import annotations

import argparse
import re
import string
import sys

from meterkast.commands.lazy import lazy_handler
from meterkast.errors import InvalidInput

HEX_ON_STDIN = re.compile(rb"[0-9A-Fa-fxX\s:,;]*")
HEX_TOKEN = re.compile(r"[^\s:,;]+")
BYTES_PER_ROW = 8
KEY_HINT = "--key takes the 16-byte AES-128 user key as 32 hex digits"


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = verbs.add_parser("decode", help="explain M-Bus frames byte by byte, or print them as JSON")
    parser.add_argument("frames", metavar="HEX", help="frame bytes as hex (spaces, colons, newlines allowed); "
                        "- reads stdin (hex text or raw bytes)")
    parser.add_argument("--key", metavar="HEX", help="AES-128 user key (32 hex digits): decrypt DSMR P2 mode 15")
    parser.add_argument("--json", action="store_true", help="one JSON object per frame")
    parser.add_argument("--resync", action="store_true",
                        help="skip bytes that form no valid frame (a captured stream with noise)")
    parser.set_defaults(handler=lazy_handler("meterkast.commands.mbus.decode_frames", "decode_command"))


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
