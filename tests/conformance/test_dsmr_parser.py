"""dsmr_parser's own asyncio TCP reader through every conformance situation (issue 13 item 2).

For each situation in ``meterkast.conformance.situations`` the played telegrams go out of a loopback
``P1Server``; dsmr_parser's ``create_tcp_dsmr_reader`` (CRC checks on) reads them until the server closes;
its telegrams become consumer records (``dsmr_report``) and ``check`` compares them with the ground
truth. The outcome must be the one recorded in ``expected.DSMR_PARSER``: a pass, or dsmr_parser's known
first difference. docs/conformance.md shows the same table (test_docs.py keeps it from drifting).
"""

from __future__ import annotations

import asyncio

import pytest

from meterkast.conformance.check import check
from meterkast.conformance.play import play
from meterkast.conformance.situations import SITUATIONS, Situation
from tests.conformance.dsmr_report import read_with_dsmr_parser
from tests.conformance.expected import DSMR_PARSER


@pytest.mark.parametrize("situation", SITUATIONS, ids=lambda s: s.name)
def test_dsmr_parser_through_situation(situation: Situation) -> None:
    played = list(play(situation))
    report = asyncio.run(read_with_dsmr_parser(situation, played))
    result = check(situation, [p.truth for p in played if p.truth is not None], report)
    print(result.line())
    assert result.first == DSMR_PARSER[situation.name]
