"""docs/conformance.md's situations table is the one the suite measures (it cannot drift).

Regenerate after changing a situation or an outcome: ``MK_WRITE_CONFORMANCE_DOC=1 pytest
tests/conformance/test_docs.py`` rewrites the block between the markers.
"""

from __future__ import annotations

import os
from pathlib import Path

from meterkast.conformance.doc import BEGIN, END, block, table
from meterkast.conformance.situations import BY_NAME
from tests.conformance.expected import DSMR_PARSER

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_doc_table_matches_the_measured_outcomes() -> None:
    expected = table(DSMR_PARSER)
    text = DOC.read_text(encoding="utf-8")
    if os.environ.get("MK_WRITE_CONFORMANCE_DOC"):
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:start] + "\n" + expected + "\n" + text[end:], encoding="utf-8")
        text = DOC.read_text(encoding="utf-8")
    assert block(text) == expected


def test_every_situation_has_an_expected_outcome() -> None:
    assert set(DSMR_PARSER) == set(BY_NAME)
