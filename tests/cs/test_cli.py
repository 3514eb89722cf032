"""``meterkast cs …`` (commands/cs.py): one round over a simulated fleet, consent, alarms, a meters file."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterkast.cli import main
from meterkast.cs.fleet import connection_for


def store_args(tmp_path: Path) -> list[str]:
    return ["--store", f"sqlite:///{tmp_path / 'cs.db'}", "--master-key-file", str(tmp_path / "cs.key")]


def test_serve_once_reads_a_fleet_then_consent_and_alarms_work_on_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = store_args(tmp_path)
    assert main(["cs", "serve", "--fleet", "6", "--once", *args]) == 0
    out = capsys.readouterr().out
    assert "6 contacts, 0 failed" in out and "rows stored" in out and "reads refused for consent" in out
    assert (tmp_path / "cs.key").stat().st_mode & 0o777 == 0o600
    assert main(["cs", "alarms", *args]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 6 and all("new M-Bus device" in line for line in listed)
    first = listed[0].split("\t")[0]
    assert main(["cs", "ack", first, *args]) == 0
    assert "acknowledged" in capsys.readouterr().out
    assert main(["cs", "close", first, *args]) == 0
    assert "closed" in capsys.readouterr().out
    assert main(["cs", "alarms", *args]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5
    assert main(["cs", "consent", connection_for(6).ean, "none", *args]) == 0
    out = capsys.readouterr().out
    assert "consent none from" in out and "none" in out.splitlines()[-1]


def test_errors_are_named_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = store_args(tmp_path)
    assert main(["cs", "consent", "871687140000000018", "none", *args]) == 2
    assert "check digit" in capsys.readouterr().err
    assert main(["cs", "serve", "--meters", str(tmp_path / "missing.toml"), "--once", *args]) == 2
    assert "cannot read the meters file" in capsys.readouterr().err
    assert main(["cs", "close", "99", *args]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_serve_reports_meters_that_do_not_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meters = tmp_path / "meters.toml"
    meters.write_text(
        "[[meter]]\nemeter = 'E0031003239456716'\nconnection = '871687140000000019'\nhost = '127.0.0.1'\n"
        "port = 9\ninstalled_at = 2026-01-01T00:00:00Z\nconsent = 'standard'\n"
        "encryption_key = '000102030405060708090A0B0C0D0E0F'\nauthentication_key = 'D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF'\n"
        "gas = [{ channel = 1, meter = 'G0001123456789012', coupled_at = 2026-01-01T00:00:00Z }]\n"
    )
    assert main(["cs", "serve", "--meters", str(meters), "--once", "--timeout", "1", *store_args(tmp_path)]) == 0
    assert "1 contacts, 1 failed" in capsys.readouterr().out
