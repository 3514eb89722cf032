"""``METERKAST_*`` environment variables, and the old spelling ``MEETERKAST_*`` with a warning (issue 13)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from meterkast import environment
from meterkast.cs import keyfile

ROOT = Path(__file__).resolve().parents[1]
NAME = "METERKAST_SOME_SETTING"
OLD = "MEETERKAST_SOME_SETTING"


@pytest.fixture(autouse=True)
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(environment, "_warned", set())


def test_the_new_spelling_is_read_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert environment.get(NAME, environ={NAME: "new"}) == "new"
    assert caplog.records == []


def test_the_old_spelling_still_works_and_names_the_new_one(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="meterkast"):
        assert environment.get(NAME, environ={OLD: "old"}) == "old"
        assert environment.get(NAME, environ={OLD: "old"}) == "old"
    assert [r.getMessage() for r in caplog.records] == [
        f"{OLD} is the old spelling; it still works, but set {NAME} instead"  # once per process, not per read
    ]


def test_with_both_the_new_spelling_wins_and_the_old_is_named_as_ignored(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="meterkast"):
        assert environment.get(NAME, environ={NAME: "new", OLD: "old"}) == "new"
    assert "MEETERKAST_SOME_SETTING is ignored" in caplog.text


def test_unset_gives_the_default() -> None:
    assert environment.get(NAME, environ={}) is None
    assert environment.get(NAME, "x", environ={}) == "x"


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_a_flag_is_set_unless_empty_or_zero(value: str, expected: bool) -> None:
    assert environment.is_set(NAME, environ={OLD: value}) is expected
    assert environment.is_set(NAME, environ={NAME: value}) is expected


def test_only_meterkast_names_are_translated() -> None:
    with pytest.raises(ValueError, match="not a meterkast variable"):
        environment.get("HOME")


def test_the_cs_master_key_is_read_under_either_spelling(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = "11" * 32
    monkeypatch.delenv(keyfile.ENVIRONMENT, raising=False)
    monkeypatch.setenv("MEETERKAST_CS_MASTER_KEY", key)
    with caplog.at_level(logging.WARNING, logger="meterkast"):
        assert keyfile.load_or_create_master_key(tmp_path / "none.key") == bytes.fromhex(key)
    assert "set METERKAST_CS_MASTER_KEY instead" in caplog.text
    assert not (tmp_path / "none.key").exists()  # the variable, not a new file


def test_ci_still_requires_postgresql_the_browser_and_mqtt() -> None:
    """.ci/run must fail, not skip, when PostgreSQL, chromium or Mosquitto is missing (README, CI)."""
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    exported = set(re.findall(r"^export (METERKAST_\w+)=1\b", script, re.MULTILINE))
    assert {"METERKAST_REQUIRE_PG", "METERKAST_REQUIRE_BROWSER", "METERKAST_REQUIRE_MQTT"} <= exported
    assert "MEETERKAST" not in script


def test_no_committed_file_uses_the_old_spelling_but_the_fallbacks() -> None:
    allowed = {"src/meterkast/environment.py", "src/meterkast/cs/keyfile.py", "src/meterkast/commands/cs.py",
               ".ci/start-postgres", ".ci/install-browser", "tests/test_environment.py", "docs/architecture.md"}
    found = []
    for folder in ("src", "tests", "benchmarks", "docs", ".ci"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix not in {".png", ".pyc"} and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT).as_posix()
                if "MEETERKAST" in path.read_text(encoding="utf-8", errors="replace") and relative not in allowed:
                    found.append(relative)
    assert "MEETERKAST" not in (ROOT / "README.md").read_text(encoding="utf-8")
    assert found == []
