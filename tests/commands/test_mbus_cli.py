"""`meterkast mbus decode|encode|scan` through the console entry point (issue 3).

Real frames come from the libmbus corpus (``shared/testdata/mbus-libmbus``) and DSMR P2 App. B1.5; the
scan runs against a fake bus served on 127.0.0.1 whose slaves answer like the real ones, collisions
included (the wire ANDs simultaneous replies).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from meterkast.cli import main
from meterkast.mbus.application import Telegram, VariableData, decode_telegram, encode_telegram
from meterkast.mbus.dif import BCD8, Dib
from meterkast.mbus.framer import Direction, Framer
from meterkast.mbus.header import LongHeader, encode_long_header
from meterkast.mbus.link import Frame, LongFrame, ShortFrame, encode_frame
from meterkast.mbus.records import DataRecord, encode_records
from meterkast.mbus.secondary import SecondaryAddress, decode_selection
from meterkast.mbus.security import MeterIdentity, encrypt_payload
from meterkast.mbus.vif import Vib
from meterkast.mbus.virtual import collide
from tests.mbus.corpus import golden_frames, read_hex
from tests.mbus.test_libmbus_conformance import ROUND_TRIP_EXCLUSIONS

FRAMES = Path("testdata/mbus-libmbus/test-frames")
CYBLE = "itron_cyble_m-bus_v1.4_gas.hex"  # ACW 10020387, version 14h, gas, address 4
USER_KEY = "000102030405060708090A0B0C0D0E0F"  # DSMR P2 App. B
APP_B_RSP_UD = (  # DSMR P2 App. B1.5 with L = 56h (docs/p2-security.md, erratum 2)
    "68 56 56 68 08 01 72 89 67 45 23 B4 38 40 03 F6 00 40 0F"
    " F1 80 C5 3E 07 68 C7 6A E6 E2 4A 98 BD D5 94 7F 62 27 32 BF 63 72 AA 2A A9 AF 6D 0F 0C 71"
    " FB 59 5D FE CC 67 2F D3 51 CC 00 A0 49 8D A5 FC 51 15 58 42 C7 76 F5 9B 31 9B 60 08 62 18"
    " 3F 69 1A 68 04 FD 08 01 00 00 00 E5 16"
)
REQ_UD2 = "10 5B 01 5C 16"
ROW = re.compile(r"^(\d{4})  ((?:[0-9A-F]{2} ?)*)")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def corpus_hex(shared: Path, name: str) -> str:
    return (shared / FRAMES / name).read_text()


def row_bytes(lines: list[str]) -> tuple[list[int], bytes]:
    """Offsets and bytes of annotated rows, in order."""
    offsets, data = [], bytearray()
    for line in lines:
        match = ROW.match(line)
        assert match, line
        offsets.append(int(match.group(1)))
        data += bytes.fromhex(match.group(2))
    return offsets, bytes(data)


def use_stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


# --- decode ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [CYBLE, "ACW_Itron-BM-plus-m.hex", "EDC.hex", "kamstrup_382_005.hex",
                                  "sen_pollusonic_2.hex", "itron_cf_51.hex"])
def test_decode_annotates_every_byte_once_in_order(
    capsys: pytest.CaptureFixture[str], shared: Path, name: str
) -> None:
    text = corpus_hex(shared, name)
    code, out, err = run(capsys, "mbus", "decode", text)
    assert code == 0 and err == ""
    lines = out.splitlines()
    offsets, data = row_bytes(lines)
    assert data == read_hex(shared / FRAMES / name)
    assert offsets == sorted(offsets) and offsets[0] == 0
    assert lines[0].endswith("68 start") and lines[-1].endswith("16 stop")


def test_decode_names_each_field_with_value_and_unit(capsys: pytest.CaptureFixture[str], shared: Path) -> None:
    _, out, _ = run(capsys, "mbus", "decode", corpus_hex(shared, CYBLE))
    lines = out.splitlines()
    assert "0004  08" in lines[4] and lines[4].endswith("C=08 RSP_UD")
    expected = ["ID 10020387 (BCD, LSB first)", "manufacturer 0x0477 ACW", "medium 0x03 gas",
                "DIF 04: 32-bit integer, instantaneous, storage 0", "VIF 14: volume, 10^-2 m³", "value 0.26 m³",
                "value 2011-10-25 15:43:00", "CS=9F checksum"]
    for text in expected:
        assert any(line.endswith(text) for line in lines), text
    assert any(line.startswith("0069  1A 00 00 00") for line in lines)  # the volume's data bytes


def test_decode_json_has_link_header_and_records(capsys: pytest.CaptureFixture[str], shared: Path) -> None:
    code, out, _ = run(capsys, "mbus", "decode", corpus_hex(shared, CYBLE), "--json")
    assert code == 0
    document = json.loads(out)
    assert document | {"frame": "long", "function": "RSP_UD", "control": 8, "address": 4, "ci": 0x72} == document
    assert document["header"] | {"ident": "10020387", "manufacturer": "ACW", "version": 0x14, "medium": 3,
                                 "medium_name": "gas"} == document["header"]
    volume = document["records"][4]
    assert {k: volume[k] for k in ("value", "unit", "quantity", "function", "storage", "tariff", "subunit")} == {
        "value": "0.26", "unit": "m³", "quantity": "volume", "function": "instantaneous", "storage": 0,
        "tariff": 0, "subunit": 0,
    }
    assert document["records"][6]["storage"] == 1


@pytest.mark.parametrize("spelling", [
    "10 5B 01 5C 16", "10:5b:01:5c:16", "105B015C16", "10 5B\n01 5C\n16\n", "0x10, 0x5B, 0x01, 0x5C, 0x16",
])
def test_decode_accepts_hex_spellings(capsys: pytest.CaptureFixture[str], spelling: str) -> None:
    code, out, _ = run(capsys, "mbus", "decode", spelling, "--json")
    assert code == 0
    assert json.loads(out) == {"frame": "short", "function": "REQ_UD2 FCV", "control": 0x5B, "address": 1}


@pytest.mark.parametrize("as_text", [True, False], ids=["hex", "binary"])
def test_decode_reads_stdin_as_hex_or_raw_bytes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shared: Path, as_text: bool
) -> None:
    text = corpus_hex(shared, CYBLE)
    use_stdin(monkeypatch, text.encode() if as_text else read_hex(shared / FRAMES / CYBLE))
    code, out, _ = run(capsys, "mbus", "decode", "-", "--json")
    assert code == 0
    assert json.loads(out)["header"]["ident"] == "10020387"


def test_decode_several_frames_each_with_input_offsets(capsys: pytest.CaptureFixture[str], shared: Path) -> None:
    stream = f"{REQ_UD2} {corpus_hex(shared, CYBLE)} E5"
    code, out, _ = run(capsys, "mbus", "decode", stream, "--json")
    assert code == 0
    kinds = [json.loads(line)["frame"] for line in out.splitlines()]
    assert kinds == ["short", "long", "ack"]

    _, out, _ = run(capsys, "mbus", "decode", stream)
    assert "frame 1, bytes 0..4: REQ_UD2 FCV, address 1" in out
    assert "frame 2, bytes 5..96: RSP_UD, address 4" in out
    assert "frame 3, bytes 97..97: E5 acknowledgement" in out
    offsets, data = row_bytes([line for line in out.splitlines() if ROW.match(line)])
    assert data == bytes.fromhex(REQ_UD2) + read_hex(shared / FRAMES / CYBLE) + b"\xe5"
    assert offsets == sorted(offsets)


def test_decode_resync_skips_noise_and_says_how_much(capsys: pytest.CaptureFixture[str], shared: Path) -> None:
    stream = f"FF 00 {corpus_hex(shared, CYBLE)} 68 AA {REQ_UD2}"
    code, _, err = run(capsys, "mbus", "decode", stream)
    assert code == 2 and "start byte 0xFF is not E5, 10 or 68 at byte 0" in err
    code, out, err = run(capsys, "mbus", "decode", stream, "--json", "--resync")
    assert code == 0
    assert [json.loads(line)["frame"] for line in out.splitlines()] == ["long", "short"]
    assert "skipped 4 of" in err


# --- decode: DSMR P2 mode 15 --------------------------------------------------------------------


def test_decode_with_key_decrypts_the_app_b_frame(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "mbus", "decode", APP_B_RSP_UD, "--key", USER_KEY)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert any("64 encrypted bytes, decrypted (frame counter 1):" in line for line in lines)
    for text in ("value 'XXXXX110123456789'", "value 2009-06-18 11:00:00", "value 0.391 m³",
                 "DIF 2F: idle filler ×15"):
        assert any(line.endswith(text) for line in lines), text
    assert any(line.startswith("0055  91 03 00 00") for line in lines)  # plaintext bytes at their frame offset

    code, out, _ = run(capsys, "mbus", "decode", APP_B_RSP_UD, "--key", USER_KEY, "--json")
    decrypted = json.loads(out)["decrypted"]
    assert (decrypted["meter"], decrypted["frame_counter"]) == ("NET 23456789", 1)
    values = [(r["quantity"], r["value"], r["unit"]) for r in decrypted["records"] if r["type"] == "record"]
    assert ("volume", "0.391", "m³") in values
    assert ("fabrication number", "XXXXX110123456789", "") in values


def test_decode_with_key_uses_the_header_identity_and_frame_counter(capsys: pytest.CaptureFixture[str]) -> None:
    meter = MeterIdentity("ITG", "12345678", 0x42, 0x03)
    records = encode_records([DataRecord(Dib.minimal(BCD8, storage=1), Vib(0x13), Decimal("1234.567"))])
    key = bytes(range(0x10, 0x20))
    secured = encrypt_payload(records, user_key=key, meter=meter, frame_counter=4242)
    header = LongHeader("12345678", "ITG", 0x42, 0x03, 0x17, 0x00, secured.configuration.value)
    frame = encode_frame(LongFrame(0x08, 5, 0x72, encode_long_header(header) + secured.payload))
    code, out, _ = run(capsys, "mbus", "decode", frame.hex(), "--key", key.hex(), "--json")
    assert code == 0
    decrypted = json.loads(out)["decrypted"]
    assert (decrypted["meter"], decrypted["frame_counter"]) == ("ITG 12345678", 4242)
    assert [r["value"] for r in decrypted["records"] if r["type"] == "record"] == ["1234.567"]


def test_decode_with_wrong_key_names_the_meter_and_hides_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    wrong = "0F0E0D0C0B0A09080706050403020100"
    code, out, err = run(capsys, "mbus", "decode", APP_B_RSP_UD, "--key", wrong)
    assert code == 2 and out == ""
    assert "meter NET 23456789" in err and "user key" in err
    assert wrong.lower() not in err.lower() and "0f 0e" not in err.lower()


@pytest.mark.parametrize("key", ["0011", "XYZ" + "0" * 29, USER_KEY + "00"])
def test_decode_rejects_a_malformed_key_without_echoing_it(capsys: pytest.CaptureFixture[str], key: str) -> None:
    code, _, err = run(capsys, "mbus", "decode", APP_B_RSP_UD, "--key", key)
    assert code == 2 and "32 hex digits" in err and key not in err


def test_decode_without_key_shows_ciphertext_and_a_hint(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "mbus", "decode", APP_B_RSP_UD)
    assert code == 0
    assert any(line.endswith("64 encrypted bytes") for line in out.splitlines())
    assert "give --key" in err


# --- decode: bad input ----------------------------------------------------------------------------

BAD_PAYLOAD = ("68 1B 1B 68 08 02 72 78 56 34 12 24 40 01 07 55 00 00 00 03 13 15 31 00 DA 02 3B 13 01 8B 60"
               " C3 16")  # the record at byte 29 loses its VIF


@pytest.mark.parametrize(("text", "message"), [
    ("10 5G 01", "'G' at character 4 is not a hex digit"),
    ("105B015C1", "odd number"),
    ("  ", "empty"),
    ("10 5B 01 5D 16", "checksum is 0x5D, computed 0x5C at byte 3"),
    ("68 56 56 68 08 01", "frame truncated: 92 bytes expected, got 6 at byte 6"),
    ("68 56 57 68 08", "the two length bytes differ (0x56, 0x57) at byte 2"),
    ("10 5B 01 5C 17", "stop byte is 0x17, expected 16 at byte 4"),
    (REQ_UD2 + " 00", "start byte 0x00 is not E5, 10 or 68 at byte 5"),
    (REQ_UD2 + " 10 5B 01 5D 16", "frame starting at byte 5: checksum is 0x5D, computed 0x5C at byte 8"),
    (BAD_PAYLOAD, "VIF expected at byte 31"),
    ("E5 " + BAD_PAYLOAD, "frame starting at byte 1: premature end of data: VIF expected at byte 32"),
    ("10 5B 01 5C", "frame truncated: 5 bytes expected, got 4 at byte 4"),
])
def test_decode_bad_input_exits_2_with_offset_and_reason(
    capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    code, _, err = run(capsys, "mbus", "decode", text)
    assert code == 2
    assert err.startswith("meterkast: error: ") and message in err and "Traceback" not in err


def test_decode_bad_checksum_of_a_real_frame(capsys: pytest.CaptureFixture[str], shared: Path) -> None:
    raw = bytearray(read_hex(shared / FRAMES / CYBLE))
    raw[-2] ^= 0x01
    code, out, err = run(capsys, "mbus", "decode", raw.hex())
    assert code == 2 and out == ""
    assert f"at byte {len(raw) - 2}" in err and "checksum" in err


# --- encode -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", golden_frames(), ids=lambda p: p.name)
def test_encode_round_trips_decode_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, path: Path) -> None:
    raw = read_hex(path)
    code, out, _ = run(capsys, "mbus", "decode", path.read_text(), "--json")
    assert code == 0
    document = tmp_path / "frame.json"
    document.write_text(out)
    code, out, _ = run(capsys, "mbus", "encode", "--json", str(document))
    assert code == 0
    rebuilt = bytes.fromhex(out)
    if path.name in ROUND_TRIP_EXCLUSIONS:  # type F dates with hundred-year bits: same telegram, canonical bytes
        assert decode_telegram(rebuilt) == decode_telegram(raw)
    else:
        assert rebuilt == raw


def test_encode_several_frames_raw_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shared: Path
) -> None:
    stream = bytes.fromhex(REQ_UD2) + read_hex(shared / FRAMES / CYBLE) + b"\xe5" + bytes.fromhex(APP_B_RSP_UD)
    _, out, _ = run(capsys, "mbus", "decode", stream.hex(), "--json")
    assert len(out.splitlines()) == 4

    use_stdin(monkeypatch, out.encode())
    code, hex_out, _ = run(capsys, "mbus", "encode", "--json", "-")
    assert code == 0
    assert [bytes.fromhex(line) for line in hex_out.splitlines()] == [
        bytes.fromhex(REQ_UD2), read_hex(shared / FRAMES / CYBLE), b"\xe5", bytes.fromhex(APP_B_RSP_UD)]

    as_list = json.dumps([json.loads(line) for line in out.splitlines()], indent=2)
    use_stdin(monkeypatch, as_list.encode())
    binary = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(binary, encoding="utf-8"))
    assert main(["mbus", "encode", "--json", "-", "--raw"]) == 0
    assert binary.getvalue() == stream


def _cyble_document(capsys: pytest.CaptureFixture[str], shared: Path) -> dict[str, Any]:
    _, out, _ = run(capsys, "mbus", "decode", corpus_hex(shared, CYBLE), "--json")
    document: dict[str, Any] = json.loads(out)
    return document


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["records"][4].update(value="abc"), "$.records[4]: value 'abc' is not a valid decimal"),
    (lambda d: d["records"][4].update(value="9" * 12), "$.records[4]: integer"),
    (lambda d: d["records"][2].update(dib="zz"), "$.records[2].dib: expected bytes"),
    (lambda d: d["records"][2].update(dib=""), "$.records[2].dib: expected bytes"),
    (lambda d: d["records"][1].update(type="reading"), "$.records[1].type"),
    (lambda d: d["records"][3].update(value_type="float"), "$.records[3]: value_type 'float'"),
    (lambda d: d["records"].__setitem__(0, 7), "$.records[0]: expected an object"),
    (lambda d: d["header"].update(version=300), "$.header: header version 300 must be one byte"),
    (lambda d: d["header"].update(ident=12345678), "$.header.ident: expected text"),
    (lambda d: d["header"].pop("access"), "$.header.access: expected a number"),
    (lambda d: d.update(control=256), "$.control: expected a number 0..255, got 256"),
    (lambda d: d.update(address="4"), "$.address: expected a number"),
    (lambda d: d.update(frame="huge"), "$.frame: 'huge' is not one of"),
    (lambda d: d["records"].extend(d["records"] * 6), "$: L would be"),
])
def test_encode_errors_name_the_json_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, shared: Path, change: Any, message: str
) -> None:
    document = _cyble_document(capsys, shared)
    change(document)
    path = tmp_path / "frame.json"
    path.write_text(json.dumps(document))
    code, out, err = run(capsys, "mbus", "encode", "--json", str(path))
    assert code == 2 and out == ""
    assert message in err, err


@pytest.mark.parametrize(("text", "message"), [
    ('{"control": 8,\n "address": }', "line 2 column 13: Expecting value"),
    ("", "holds no JSON"),
    ("[1]", "$[0]: expected an object describing one frame, got int"),
    ('{"frame": "ack"} {"frame": "short", "control": 64}', "$[1].address"),
])
def test_encode_bad_json(capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "frames.json"
    path.write_text(text)
    code, _, err = run(capsys, "mbus", "encode", "--json", str(path))
    assert code == 2 and message in err


def test_encode_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "mbus", "encode", "--json", str(tmp_path / "none.json"))
    assert code == 2 and "none.json" in err


# --- scan -----------------------------------------------------------------------------------------

ADDRESS_SECONDARY = 253


@dataclass
class FakeSlave:
    """Answers SND_NKE with E5, REQ_UD2 with its RSP_UD, and a matching selection with E5."""

    address: int
    reply: bytes
    secondary: SecondaryAddress
    selected: bool = False

    @classmethod
    def from_corpus(cls, raw: bytes, address: int, ident: str | None = None) -> FakeSlave:
        telegram = decode_telegram(raw)
        payload = telegram.payload
        assert isinstance(payload, VariableData) and isinstance(payload.header, LongHeader)
        header = payload.header if ident is None else replace(payload.header, ident=ident)
        reply = encode_telegram(Telegram(telegram.control, address, replace(payload, header=header)))
        return cls(address, reply, SecondaryAddress(header.ident, header.manufacturer, header.version, header.medium))

    def answer(self, frame: Frame) -> bytes | None:
        if isinstance(frame, LongFrame) and frame.address == ADDRESS_SECONDARY and frame.ci == 0x52:
            self.selected = decode_selection(frame.data).matches(self.secondary)
            return b"\xe5" if self.selected else None
        if not isinstance(frame, ShortFrame):
            return None
        if frame.address != self.address and not (frame.address == ADDRESS_SECONDARY and self.selected):
            return None
        function = frame.control & ~0x20  # FCB does not matter
        if function == 0x40:
            self.selected = self.selected and frame.address != ADDRESS_SECONDARY  # SND_NKE to 253 deselects
            return b"\xe5"
        return self.reply if function == 0x5B else None


@dataclass
class FakeBus:
    """Every slave hears every request; simultaneous replies collide bit by bit (wired AND)."""

    slaves: list[FakeSlave]
    requests: list[Frame] = field(default_factory=list)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        framer = Framer(accept=Direction.FROM_MASTER)
        while data := await reader.read(4096):
            for frame in framer.feed(data):
                self.requests.append(frame)
                replies = [reply for slave in self.slaves if (reply := slave.answer(frame))]
                if replies:
                    writer.write(collide(replies))
                    await writer.drain()
        writer.close()


def scan(capsys: pytest.CaptureFixture[str], bus: FakeBus, *argv: str) -> tuple[int, str, str]:
    async def scenario() -> int:
        server = await asyncio.start_server(bus.serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            url = f"tcp://127.0.0.1:{port}"
            return await asyncio.to_thread(main, ["mbus", "scan", "--port", url, *argv])

    code = asyncio.run(scenario())
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_reports_who_answers(capsys: pytest.CaptureFixture[str], shared: Path) -> None:
    bus = FakeBus([FakeSlave.from_corpus(read_hex(shared / FRAMES / CYBLE), 4)])
    code, out, err = scan(capsys, bus, "--from", "1", "--to", "6", "--retries", "0", "--timeout", "0.05")
    assert code == 0 and err == ""
    rows = out.splitlines()
    assert "primary addresses 1..6, 1 attempt of 0.05 s each" in rows[0]
    assert re.fullmatch(r"\s+4  ACW\s+10020387  0x14\s+gas \(0x03\)", rows[2])
    assert rows[-1] == "found 1 device, 0 collisions"
    nke = [f.address for f in bus.requests if isinstance(f, ShortFrame) and f.control == 0x40]
    req = [f.address for f in bus.requests if isinstance(f, ShortFrame) and f.control == 0x5B]
    assert nke == [1, 2, 3, 4, 5, 6] and req == [4]


def test_scan_reports_a_collision_when_two_slaves_share_an_address(
    capsys: pytest.CaptureFixture[str], shared: Path
) -> None:
    bus = FakeBus([
        FakeSlave.from_corpus(read_hex(shared / FRAMES / CYBLE), 4),
        FakeSlave.from_corpus(read_hex(shared / FRAMES / "EDC.hex"), 5),
        FakeSlave.from_corpus(read_hex(shared / FRAMES / "ACW_Itron-BM-plus-m.hex"), 5),
    ])
    code, out, _ = scan(capsys, bus, "--from", "3", "--to", "6", "--retries", "1", "--timeout", "0.05")
    assert code == 0
    rows = out.splitlines()
    assert any(re.fullmatch(r"\s+4  ACW\s+10020387 .*", row) for row in rows)
    assert any(re.fullmatch(r"\s+5  collision: garbled replies .*", row) for row in rows)
    assert rows[-1] == "found 1 device, 1 collision"
    req = [f.address for f in bus.requests if isinstance(f, ShortFrame) and f.control == 0x5B]
    assert req == [4, 5, 5]  # the garbled REQ_UD2 was tried again (--retries 1)


def test_scan_secondary_narrows_wildcards(capsys: pytest.CaptureFixture[str], shared: Path) -> None:
    cyble = read_hex(shared / FRAMES / CYBLE)
    bus = FakeBus([FakeSlave.from_corpus(cyble, 4), FakeSlave.from_corpus(cyble, 7, ident="19000001")])
    code, out, _ = scan(capsys, bus, "--secondary", "--retries", "0", "--timeout", "0.02")
    assert code == 0
    rows = out.splitlines()
    assert any(re.fullmatch(r"\s+4  ACW\s+10020387  0x14 .*", row) for row in rows)
    assert any(re.fullmatch(r"\s+7  ACW\s+19000001  0x14 .*", row) for row in rows)
    assert rows[-1] == "found 2 devices in 20 selections, 0 unresolved"  # 0..9, then 10..19 after "1" collided


@pytest.mark.parametrize(("argv", "message"), [
    (["--port", "tcp://127.0.0.1:1", "--from", "9", "--to", "3"], "--from 9 --to 3"),
    (["--port", "tcp://127.0.0.1:1", "--to", "251"], "0..250"),
    (["--port", "tcp://127.0.0.1:1", "--retries", "-1"], "--retries -1"),
    (["--port", "tcp://127.0.0.1:1", "--timeout", "0"], "--timeout 0"),
    (["--port", "http://meter"], "tcp://host:port"),
])
def test_scan_bad_arguments(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = run(capsys, "mbus", "scan", *argv)
    assert code == 2 and message in err


def test_scan_unreachable_gateway_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, _, err = run(capsys, "mbus", "scan", "--port", f"tcp://127.0.0.1:{port}", "--timeout", "0.05")
    assert code == 2 and f"tcp://127.0.0.1:{port}" in err
