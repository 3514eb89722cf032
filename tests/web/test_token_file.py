"""The web token file (issue 15; web/token_file.py): made once, 0600, read back, never overwritten."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

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
