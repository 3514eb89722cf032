"""Fuzz: random bytes and mutated golden frames never raise anything but a MeterkastError."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterkast.cli import main
from meterkast.errors import MeterkastError, RecordError
from meterkast.mbus.annotate import annotate
from meterkast.mbus.application import decode_payload, decode_telegram
from meterkast.mbus.framer import Framer
from meterkast.mbus.jsonio import from_json_dict, to_json_dict
from meterkast.mbus.link import LongFrame, encode_frame
from meterkast.mbus.records import DataRecord, decode_records
from tests.mbus.corpus import golden_frames, read_hex

GOLDEN = [read_hex(p) for p in golden_frames()]
DOCUMENTS = [to_json_dict(decode_telegram(raw)) for raw in GOLDEN[:40]]
# Issue 10: a negative LVAR BCD (D5) whose digits end in a sign nibble F escaped as decimal.InvalidOperation.
SIGNED_LVAR = bytes.fromhex("1d2bd547574482f1")
SIGNED_LVAR_FRAME = "6817176808017289674523b4384003f60000001d2bd547574482f16a16"


def reframe(raw: bytes) -> bytes:
    """Fix L and CS after a mutation, so the mutation reaches the application layer."""
    body = raw[4:-2]
    if len(body) < 4 or len(body) > 255:
        return raw
    return encode_frame(LongFrame(body[0], body[1], body[2], body[3:]))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(GOLDEN)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, len(raw) - 1))
        if action == "flip":
            raw[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del raw[at : at + draw(st.integers(1, 8))]
        else:
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        if len(raw) < 2:
            break
    out = bytes(raw)
    return reframe(out) if draw(st.booleans()) else out


def only_meterkast_errors(data: bytes) -> None:
    for decoder in (decode_telegram, annotate, decode_records, lambda d: decode_payload(0x72, d)):
        with contextlib.suppress(MeterkastError):
            decoder(data)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.binary(max_size=300), mutated()))
def test_decoders_raise_only_meterkast_errors(data: bytes) -> None:
    only_meterkast_errors(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.binary(max_size=40), mutated()), max_size=6), st.integers(1, 64))
def test_framer_never_raises(parts: list[bytes], chunk: int) -> None:
    data = b"".join(parts)
    framer = Framer()
    for i in range(0, len(data), chunk):
        for frame in framer.feed(data[i : i + chunk]):
            only_meterkast_errors(encode_frame(frame))
    framer.timeout()


def test_lvar_bcd_with_a_sign_nibble_is_a_record_error_naming_record_and_offset() -> None:
    with pytest.raises(RecordError, match=r"record at byte 0: variable-length negative BCD F182445747 .*"
                                          r"D0-D9 negative, EN 13757-3 Table 5") as caught:
        decode_records(SIGNED_LVAR)
    assert caught.value.offset == 3  # the first digit byte, after DIF, VIF and LVAR


@pytest.mark.parametrize(("lvar", "value"), [("d2", Decimal(-5747)), ("c2", Decimal(5747)), ("d0", Decimal(0))])
def test_lvar_bcd_takes_its_sign_from_the_lvar(lvar: str, value: Decimal) -> None:
    digits = "4757" if lvar != "d0" else ""
    (record,) = decode_records(bytes.fromhex(f"0d2b{lvar}{digits}"))
    assert isinstance(record, DataRecord) and record.value == value


def test_mbus_decode_of_a_bad_lvar_bcd_exits_2_with_a_message_not_a_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["mbus", "decode", SIGNED_LVAR_FRAME], ["mbus", "decode", "--json", SIGNED_LVAR_FRAME]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        assert "record at byte 19: variable-length negative BCD F182445747" in err
        assert "at byte 22" in err  # offsets in the whole input


def test_mbus_encode_of_json_nested_too_deeply_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The json module recurses per nesting level: 100,000 brackets were a RecursionError traceback."""
    source = tmp_path / "deep.json"
    source.write_text("[" * 100_000)
    assert main(["mbus", "encode", "--json", str(source)]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "nested too deeply" in err


def _bend(value: Any, replacement: Any, path: list[int]) -> Any:
    """``value`` with one node (chosen by ``path``, an index per level) replaced."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    keys = sorted(value) if isinstance(value, dict) else list(range(len(value)))
    key = keys[path[0] % len(keys)]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[key] = _bend(value[key], replacement, path[1:])  # type: ignore[index]
    return copy


ODD = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=12),
                st.sampled_from(["1e999999", "-0", "NaN", "2024-13-01", "0x", "zz", "2f2f"]),
                st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(DOCUMENTS), st.lists(st.tuples(ODD, st.lists(st.integers(0, 50), max_size=5)), max_size=3))
def test_json_to_frame_raises_only_meterkast_errors(document: dict[str, Any], bends: list[Any]) -> None:
    """``mbus encode``'s JSON → frame path (``jsonio.from_json_dict``) on JSON with values bent anywhere."""
    for replacement, path in bends:
        document = _bend(document, replacement, path)
    json.dumps(document)  # still a JSON document (floats included), as the command would read it
    with contextlib.suppress(MeterkastError):
        decode_telegram(from_json_dict(document))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([b"\x0d", b"\x8d\x01", b"\x4d"]), st.sampled_from([b"\x03", b"\x2b", b"\x13", b"\xfd\x17"]),
       st.integers(0xC0, 0xFF), st.binary(max_size=12))
def test_variable_length_records_raise_only_meterkast_errors(dib: bytes, vib: bytes, lvar: int, rest: bytes) -> None:
    """Every LVAR range (text, ±BCD, binary, reserved; EN 13757-3 Table 5) with any digits: the corpus holds
    few of them, so the mutation fuzz above seldom builds one."""
    with contextlib.suppress(MeterkastError):
        decode_records(dib + vib + bytes((lvar,)) + rest)
