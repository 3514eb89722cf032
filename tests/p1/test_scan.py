"""``scan_telegrams`` on long captures: every telegram found, with its file line (review of issue 10:
line numbers and span lookups were quadratic, so a day of telegrams took minutes)."""

from __future__ import annotations

from meterkast.p1.scan import scan_telegrams
from tests.p1.corpus import by_name


def test_a_long_capture_gives_every_telegram_at_its_own_line() -> None:
    telegram = by_name("v5").data
    lines = telegram.count(b"\n")
    capture = b"noise\r\n" + telegram * 3000 + b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000001.000*kWh)\r\n"
    found = scan_telegrams(capture)
    assert len(found) == 3001
    assert [item.line for item in found[:3000]] == [2 + k * lines for k in range(3000)]
    assert found[0].problems[0].line == 1  # the noise before the first "/"
    assert found[-1].line == 2 + 3000 * lines and found[-1].telegram is not None  # cut off: its lines still read
    assert all(item.clean for item in found[1:3000])


def test_many_empty_telegrams_in_a_row_are_each_reported() -> None:
    found = scan_telegrams(b"/ABC5\r\n!" * 5000)
    assert len(found) == 5000
    assert [item.line for item in found[:3]] == [1, 2, 3]
