"""DSMR P2 (4.0.7 App. B1.5, DSMR-FACTS §2.6 c): the encrypted RSP_UD and its decrypted records."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from meterkast.mbus.application import Telegram, VariableData, decode_telegram, encode_telegram
from meterkast.mbus.dif import BCD8, INT32, Dib
from meterkast.mbus.header import LongHeader, encrypted_blocks, encryption_mode
from meterkast.mbus.records import DataRecord, IdleFiller, decode_records, encode_records
from meterkast.mbus.vif import Vib

RSP_UD = bytes.fromhex(
    "68 56 56 68 08 01 72 89 67 45 23 B4 38 40 03 F6 00 40 0F"
    "F1 80 C5 3E 07 68 C7 6A E6 E2 4A 98 BD D5 94 7F 62 27 32 BF 63 72 AA 2A A9 AF 6D 0F 0C 71"
    "FB 59 5D FE CC 67 2F D3 51 CC 00 A0 49 8D A5 FC 51 15 58 42 C7 76 F5 9B 31 9B 60 08 62 18"
    "3F 69 1A 68 04 FD 08 01 00 00 00 E5 16"
)
PLAINTEXT = bytes.fromhex(
    "2F 2F 01 FD 17 00 0D 78 11 39 38 37 36 35 34 33 32 31 30 31 31 58 58 58 58 58"
    "46 6D 00 00 0B 32 16 00 4C 13 91 03 00 00 89 40 FD 1A 01 01 FD 67 07" + " 2F" * 15
)


def test_encrypted_rsp_ud_splits_header_blocks_and_frame_counter() -> None:
    telegram = decode_telegram(RSP_UD)
    payload = telegram.payload
    assert isinstance(payload, VariableData)
    assert payload.header == LongHeader("23456789", "NET", 0x40, 0x03, 0xF6, 0x00, 0x0F40)
    assert payload.header.short_id == bytes.fromhex("89674523B4384003")
    assert (encryption_mode(0x0F40), encrypted_blocks(0x0F40)) == (15, 4)
    assert len(payload.encrypted) == 64
    (counter,) = payload.records
    assert isinstance(counter, DataRecord)
    assert (counter.quantity, counter.value) == ("access number", Decimal(1))
    assert encode_telegram(telegram) == RSP_UD


def test_decrypted_records_decode_to_the_expected_values() -> None:
    items = decode_records(PLAINTEXT)
    records = [i for i in items if isinstance(i, DataRecord)]
    assert sum(isinstance(i, IdleFiller) for i in items) == 17
    status, ident, stamp, volume, valve, config = records
    assert status.quantity == "error flags" and status.value == 0
    assert ident.value == "XXXXX110123456789"
    assert stamp.value == datetime(2009, 6, 18, 11, 0) and stamp.storage == 1
    assert (volume.value, volume.unit, volume.storage) == (Decimal("0.391"), "m³", 1)
    assert valve.value == 1 and valve.quantity == "digital output"
    assert config.value == 7 and config.quantity == "special supplier information"
    assert encode_records(items) == PLAINTEXT


def test_gas_meter_can_build_its_reply() -> None:
    records = (
        DataRecord(Dib.minimal(BCD8, storage=1), Vib(0x13), Decimal("0.391")),
        DataRecord(Dib(INT32), Vib(0x7D, (0x08,)), Decimal(2)),
    )
    header = LongHeader("23456789", "NET", 0x40, 0x03, 0x01, 0x00, 0x0000)
    raw = encode_telegram(Telegram(0x08, 0x01, VariableData(0x72, header, records)))
    assert raw[:7] == bytes.fromhex("68 1C 1C 68 08 01 72")
    assert raw[19:25] == bytes.fromhex("4C 13 91 03 00 00")
    assert decode_telegram(raw).payload == VariableData(0x72, header, records)
