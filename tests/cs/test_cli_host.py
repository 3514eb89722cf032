"""``meterkast cs serve --host`` (issue 15): the fleet's P3 ports and P4 listen where asked; loopback only."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterkast.central import open_store
from meterkast.cli import main
from meterkast.commands.cs_run import _open_p4


def store_args(tmp_path: Path) -> list[str]:
    return ["--store", f"sqlite:///{tmp_path / 'cs.db'}", "--master-key-file", str(tmp_path / "cs.key")]


def test_a_fleet_on_every_interface_is_read_over_loopback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cs", "serve", "--fleet", "3", "--host", "0.0.0.0", "--once", *store_args(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 simulated E-meters on 0.0.0.0" in out and "3 contacts, 0 failed" in out


def test_p4_listens_on_the_address_given(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'cs.db'}")
    try:
        server, _ = _open_p4(store, "127.0.0.2", 0)
        assert server.sock.getsockname()[0] == "127.0.0.2"
        server.sock.close()
    finally:
        store.close()


def test_a_bad_host_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["cs", "serve", "--fleet", "1", "--host", "not a host"])
    assert exit_.value.code == 2 and "is not an address" in capsys.readouterr().err
