"""CLI support: byte annotations and the JSON form of a telegram (both ways)."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import pytest

from meterkast.errors import CodecError, RecordError
from meterkast.mbus.annotate import annotate
from meterkast.mbus.application import decode_telegram
from meterkast.mbus.jsonio import from_json_dict, to_json_dict
from tests.mbus.corpus import CORPUS, golden_frames, read_hex

CYBLE = CORPUS / "test-frames" / "itron_cyble_m-bus_v1.4_gas.hex"


def test_annotations_cover_every_byte_in_order() -> None:
    for path in golden_frames():
        raw = read_hex(path)
        notes = annotate(raw)
        assert notes[0].start == 0 and notes[-1].end == len(raw)
        assert all(a.end == b.start for a, b in pairwise(notes)), path.name


def test_annotation_texts() -> None:
    raw = read_hex(CYBLE)
    lines = [n.render(raw) for n in annotate(raw)]
    assert lines[0].endswith("68 start")
    assert any(line.endswith("L=56 length (86 bytes C..data)") for line in lines)
    assert any(line.endswith("C=08 RSP_UD") for line in lines)
    assert any("DIF 0C: 8-digit BCD, instantaneous, storage 0" in line for line in lines)
    assert any("value 0.26 m³" in line for line in lines)
    assert lines[-1].endswith("16 stop")


def test_annotate_short_and_ack() -> None:
    assert [n.text for n in annotate(b"\xe5")] == ["E5 single character: acknowledgement"]
    assert [n.text for n in annotate(bytes.fromhex("105B015C16"))][1] == "C=5B REQ_UD2 FCV"


def test_annotate_bad_input_carries_offset() -> None:
    with pytest.raises(CodecError) as caught:
        annotate(bytes.fromhex("68 1B 1B 68 08 02 72 78 56 34 12 24 40 01 07 55 00 00 00 03 13 15 31 00 DA 02 3B 13 01"
                               " 8B 60 C3 16"))
    assert caught.value.offset == 31


@pytest.mark.parametrize("path", golden_frames(), ids=lambda p: p.name)
def test_json_round_trip(path: Path) -> None:
    raw = read_hex(path)
    telegram = decode_telegram(raw)
    document = json.loads(json.dumps(to_json_dict(telegram)))
    assert decode_telegram(from_json_dict(document)) == telegram


def test_json_shape() -> None:
    document = to_json_dict(decode_telegram(read_hex(CYBLE)))
    assert document["header"]["manufacturer"] == "ACW"
    volume = document["records"][4]
    assert volume | {"dib": "04", "vib": "14"} == volume
    assert (volume["value"], volume["unit"], volume["quantity"]) == ("0.26", "m³", "volume")
    assert (volume["function"], volume["storage"], volume["tariff"], volume["subunit"]) == ("instantaneous", 0, 0, 0)


def test_json_errors_are_record_errors() -> None:
    with pytest.raises(RecordError):
        from_json_dict({"control": 8})
    with pytest.raises(RecordError):
        from_json_dict({"control": 8, "address": 1, "ci": 0x78,
                        "records": [{"dib": "0C", "vib": "13", "value": "abc", "value_type": "decimal"}]})


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"type": "recrod", "dib": "04", "vib": "13", "value": "1"}, "record type 'recrod' is not record"),
        ({"type": "record", "dib": "", "vib": "13", "value": "1"}, "malformed"),
    ],
)
def test_bad_json_records_are_record_errors(record: dict[str, object], reason: str) -> None:
    document = {"control": 8, "address": 1, "ci": 0x72,
                "header": {"ident": "12345678", "manufacturer": "ITG", "version": 0x40, "medium": 3,
                           "access": 1, "status": 0, "configuration": 0},
                "records": [record]}
    with pytest.raises(RecordError, match=reason):
        from_json_dict(document)
