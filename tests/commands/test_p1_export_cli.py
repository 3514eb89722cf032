"""``p1 parse`` and ``p1 read`` with ``--format csv|parquet`` (issue 13; docs/p1.md "Exports").

Telegrams of a simulated installation (DSMR 5) and the real dialects of ``shared/testdata`` go through the
command line; the files are read back with pyarrow (its Parquet reader, and its CSV reader with the
documented column types), and each row is compared with what dsmr_parser reads from the same telegram:
electricity registers 1-0:1.8.1/2 and the gas value and capture time 0-1:24.2.1 [P1-5.0.2 Table 6-3],
all as exact Decimals.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from dsmr_parser import telegram_specifications
from dsmr_parser.parsers import TelegramParser

from meterkast.cli import main
from meterkast.export.p1_rows import P1_COLUMNS
from meterkast.export.table import arrow_schema
from meterkast.sim.installation import Installation
from meterkast.sim.p1_source import P1Port
from tests.commands.test_p1_cli import START, capture


def around_first_gas_value(count: int) -> list[bytes]:
    """DSMR 5 telegrams from 00:59:55 UTC, each with the gas value the E-meter last read (SYSTEM E1)."""
    port = P1Port(Installation.build(START, random.Random(0)), "5")
    moment, out = START + timedelta(minutes=59, seconds=55), []
    for _ in range(count):
        _, data = port.telegram(moment)
        assert data is not None
        out.append(data)
        moment += port.interval
    return out


def dsmr_parser_values(telegram: bytes) -> dict[str, Any]:
    parsed = TelegramParser(telegram_specifications.V5).parse(telegram.decode("ascii"))
    # Before its first value a device has no 0-n:24.2.1 line at all [P1-5.0.2 §7.3]: dsmr_parser then has no
    # MBUS_METER_READING on the channel.
    gas = getattr(parsed.get_mbus_device_by_channel(1), "MBUS_METER_READING", None)
    return {
        "import_t1_kwh": parsed.ELECTRICITY_USED_TARIFF_1.value,
        "import_t2_kwh": parsed.ELECTRICITY_USED_TARIFF_2.value,
        "mbus1_value": None if gas is None else gas.value,
        "mbus1_time": None if gas is None else gas.datetime,
        "time": parsed.P1_MESSAGE_TIMESTAMP.value,
    }


def check_against_dsmr_parser(rows: list[dict[str, Any]], telegrams: list[bytes]) -> None:
    assert len(rows) == len(telegrams)
    for row, telegram in zip(rows, telegrams, strict=True):
        expected = dsmr_parser_values(telegram)
        assert row["import_t1_kwh"] == expected["import_t1_kwh"] and row["import_t2_kwh"] == expected["import_t2_kwh"]
        assert row["time"] == expected["time"]
        if expected["mbus1_time"] is not None and expected["mbus1_time"].year > 1970:
            assert row["mbus1_time"] == expected["mbus1_time"]
            assert row["mbus1_value"] == expected["mbus1_value"] and row["mbus1_unit"] == "m3"
        else:  # no value yet (no line, or the emptied form of a decoupled channel): empty cells, not a zero
            assert row["mbus1_time"] is None and row["mbus1_value"] is None
        assert row["crc_ok"] is True and row["mbus1_device_type"] == 3


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_parse_writes_a_table_that_pyarrow_reads_back_exactly(tmp_path: Path, fmt: str) -> None:
    telegrams = capture("5", 3) + around_first_gas_value(9)  # first the emptied channel, then values
    source = tmp_path / "capture.p1"
    source.write_bytes(b"".join(telegrams))
    out = tmp_path / f"telegrams.{fmt}"
    assert main(["p1", "parse", str(source), "--format", fmt, "--out", str(out)]) == 0
    schema = arrow_schema(P1_COLUMNS)
    if fmt == "parquet":
        table = pq.read_table(out)
        assert table.schema.equals(schema, check_metadata=False)
    else:
        table = pacsv.read_csv(out, convert_options=pacsv.ConvertOptions(column_types=schema, strings_can_be_null=True))
        assert table.column_names == [c.name for c in P1_COLUMNS]
    rows = table.to_pylist()
    check_against_dsmr_parser(rows, telegrams)
    assert {r["mbus1_value"] is None for r in rows} == {True, False}


def test_csv_to_stdout_and_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "capture.p1"
    source.write_bytes(b"".join(capture("4", 2)))
    assert main(["p1", "parse", str(source), "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split(",")[:3] == ["time", "header", "crc_ok"] and len(lines) == 3
    assert main(["p1", "parse", str(source), "--format", "jsonl"]) == 0
    objects = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["crc_ok"] for o in objects] == [True, True]


def test_every_real_dialect_exports(tmp_path: Path, shared: Path) -> None:
    """Fluvius, Q3D, Iskra, Sagemcom (Wh scaled to kWh), 2.2 …: one row each, decimals as sent."""
    folder = shared / "testdata" / "p1-dsmr_parser"
    files = sorted(p for p in folder.glob("*.txt") if "sagemcom" not in p.name)  # that one is encrypted there
    source = tmp_path / "all.p1"
    source.write_bytes(b"".join(p.read_bytes() for p in files))
    out = tmp_path / "all.parquet"
    assert main(["p1", "parse", str(source), "--format", "parquet", "--out", str(out)]) in (0, 1)
    rows = pq.read_table(out).to_pylist()
    assert len(rows) >= len(files)
    fluvius = next(r for r in rows if r["header"].startswith("FLU5"))
    assert fluvius["mbus1_value"] == Decimal("112.384") and fluvius["mbus2_device_type"] == 7
    q3d = next(r for r in rows if r["header"].startswith("ESY"))
    assert q3d["power_import_kw"] == Decimal("1.68821") and q3d["problem"] is None  # five decimals, all kept
    csv_out = tmp_path / "all.csv"
    main(["p1", "parse", str(source), "--format", "csv", "--out", str(csv_out)])
    assert ",112.384,m3," in csv_out.read_text(), "CSV keeps the digits as sent"


def test_read_writes_parquet_from_a_p1_port(tmp_path: Path) -> None:
    telegrams = around_first_gas_value(8)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                connection.sendall(b"".join(telegrams))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        out = tmp_path / "read.parquet"
        code = main(["p1", "read", f"tcp://127.0.0.1:{port}", "--count", "8", "--retries", "0",
                     "--format", "parquet", "--out", str(out)])  # fmt: skip
        thread.join(timeout=10)
    assert code == 0
    table = pq.read_table(out)
    assert table.schema.field("mbus1_value").type == pa.decimal128(18, 7)
    rows = table.to_pylist()
    check_against_dsmr_parser(rows, telegrams)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "parquet"], "--out FILE"),
        (["--out", "x.csv"], "--out goes with --format csv or parquet"),
    ],
)
def test_export_usage_errors(tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "capture.p1"
    source.write_bytes(capture("4", 1)[0])
    assert main(["p1", "parse", str(source), *argv]) == 2
    assert message in capsys.readouterr().err
