"""The situations table of docs/conformance.md, made from the situation table and measured outcomes.

``table({name: first difference or None})`` gives the Markdown table between the ``<!-- situations -->``
markers; a test (tests/conformance/test_docs.py) renders it from the dsmr_parser outcomes the suite
asserts and requires the document to hold exactly that text, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from meterkast.conformance.situations import SITUATIONS

BEGIN, END = "<!-- situations -->", "<!-- /situations -->"


def table(outcomes: Mapping[str, str | None]) -> str:
    rows = [
        "| situation | DSMR | telegrams | field situation | a correct consumer reports | dsmr_parser 1.11.2 |",
        "|---|---|---|---|---|---|",
    ]
    for s in SITUATIONS:
        first = outcomes.get(s.name)
        outcome = "PASS" if first is None else f"**FAIL**: {first}"
        version = f"{s.version}, encrypted" if s.encrypted else s.version
        rows.append(f"| `{s.name}` | {version} | {s.telegrams} | {s.title} | {s.expect} | {outcome} |")
    return "\n".join(rows)


def block(document: str) -> str:
    """The text between the markers (stripped)."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        return ""
    return document[start + len(BEGIN) : end].strip()
