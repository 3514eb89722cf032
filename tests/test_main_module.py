"""``python -m meterkast`` runs the CLI (``meterkast.cli.main``): its exit codes and output."""

from __future__ import annotations

import subprocess
import sys

from meterkast import __version__


def test_python_m_meterkast_is_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "meterkast", "--version"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"meterkast {__version__}"


def test_python_m_meterkast_exits_2_on_bad_input() -> None:
    done = subprocess.run([sys.executable, "-m", "meterkast", "p1", "check", "--situation", "nope", "--consumer",
                           "jsonl", "-"], input="", capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "no situation 'nope'" in done.stderr
