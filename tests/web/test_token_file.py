"""The web token file (issue 15; web/token_file.py): made once, 0600, read back, never overwritten, never
seen empty."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import meterkast.web.token_file as module
from meterkast.errors import InvalidInput
from meterkast.web.token_file import load_or_create_token


def test_made_once_owner_only_then_read_back(tmp_path: Path) -> None:
    path = tmp_path / "web-token"
    token, made = load_or_create_token(path)
    assert made and len(token) >= 40 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(path) == (token, False)
    other = tmp_path / "other"
    assert load_or_create_token(other)[0] != token  # random, not derived


def test_a_file_others_can_read_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "web-token"
    path.write_text("a-token-chosen-by-the-owner-1234\n")
    path.chmod(0o644)
    assert load_or_create_token(path) == ("a-token-chosen-by-the-owner-1234", False)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["", "short\n", "two words that are long enough\n"])
def test_a_file_without_a_usable_token_is_refused_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "web-token"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=r"web-token.*delete it"):
        load_or_create_token(path)


def test_an_unwritable_place_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot create the web token file"):
        load_or_create_token(tmp_path / "missing-dir" / "web-token")


def test_the_file_never_exists_without_its_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second start (or ``run --show-token``) racing the first, or a crash in between, must never find
    the token file empty: the file appears with its token in it, or not at all (made aside, then linked)."""
    path = tmp_path / "web-token"
    seen: list[tuple[str, bool]] = []
    real = module.secrets.token_urlsafe

    def racing(nbytes: int) -> str:
        if path.exists():  # another process looking now must get a token, not "delete it"
            seen.append(load_or_create_token(path))
        return real(nbytes or 32)

    real_fsync = module.os.fsync

    def racing_fsync(descriptor: int) -> None:  # the token is being written: still nobody may see the file
        racing(0)
        real_fsync(descriptor)

    monkeypatch.setattr(module.secrets, "token_urlsafe", racing)
    monkeypatch.setattr(module.os, "fsync", racing_fsync)
    token, made = load_or_create_token(path)
    assert made and path.read_text().strip() == token
    assert seen == [] and sorted(p.name for p in tmp_path.iterdir()) == ["web-token"]


def test_a_crash_while_writing_leaves_no_empty_token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "web-token"

    def broken(nbytes: int) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module.secrets, "token_urlsafe", broken)
    with pytest.raises(OSError):
        load_or_create_token(path)
    monkeypatch.undo()
    token, made = load_or_create_token(path)  # the next start makes one, rather than refusing an empty file
    assert made and path.read_text().strip() == token


def test_made_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o777)  # even a umask that would leave the owner out: the file is 0600, readable again
    try:
        load_or_create_token(tmp_path / "web-token")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "web-token").stat().st_mode) == 0o600
