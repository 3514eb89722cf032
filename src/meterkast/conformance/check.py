"""Ground truth against a consumer's report: pass, or the first difference (docs/conformance.md).

``check(situation, truths, report)`` matches the consumer's records to the intact telegrams by their
``timestamp`` (0-0:1.0.0, compared as instants, so a consumer may write any UTC offset) and compares the
situation's ``fields``:
- a record for a telegram that was not sent intact (a CRC error, a cut-off telegram [P1-4.2.2 §5.1]) is
  a difference: the consumer accepted a telegram it had to discard;
- an intact telegram without a record is a difference (it was dropped or missed);
- a field is equal when both sides have no value, or both have the same value: numbers as ``Decimal``
  (``4512.118`` = ``4512.1180``), times as instants, texts exactly;
- ``latest=True`` (Home Assistant and MQTT states keep only the newest values): the report is one
  record, compared with the last intact telegram, timestamps included only if the consumer gives one.

Differences are listed in telegram order; the first is the one to look at. Sans-I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from meterkast.conformance.records import FIELDS, NUMBER, TIME, Record, moment, number
from meterkast.conformance.situations import Situation
from meterkast.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Result:
    situation: str
    compared: int  # telegrams compared
    differences: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.differences

    @property
    def first(self) -> str | None:
        return self.differences[0] if self.differences else None

    def line(self) -> str:
        """``PASS name (n telegrams)`` or ``FAIL name: first difference (+k more)``."""
        if self.passed:
            return f"PASS {self.situation} ({self.compared} telegrams)"
        more = f" (+{len(self.differences) - 1} more)" if len(self.differences) > 1 else ""
        return f"FAIL {self.situation}: {self.first}{more}"


def _same(name: str, expected: str | None, reported: str | None, where: str) -> bool:
    if expected is None or reported is None:
        return expected is None and reported is None
    kind = FIELDS[name]
    if kind == NUMBER:
        return number(expected, name, "truth") == number(reported, name, where)
    if kind == TIME:
        return moment(expected, name, "truth") == moment(reported, name, where)
    return expected == reported


def _compare(fields: Sequence[str], expected: Record, reported: Record, at: str, where: str) -> list[str]:
    out = []
    for name in fields:
        want, got = expected.get(name), reported.get(name)
        if not _same(name, want, got, where):
            shown = "nothing" if got is None else got
            out.append(f"telegram {at}: {name} should be {want or 'no value'}, the consumer reported {shown}")
    return out


def _instant(record: Record, where: str) -> datetime:
    text = record.get("timestamp")
    if text is None:
        raise InvalidInput(f"{where}: a record without 'timestamp' cannot be matched to a telegram")
    return moment(text, "timestamp", where)


def check(situation: Situation, truths: Sequence[Record], report: Sequence[Record], *,
          latest: bool = False, uncarried: frozenset[str] = frozenset()) -> Result:
    """Compare the intact telegrams' ``truths`` (in order) with the consumer's ``report``; ``uncarried``:
    fields the consumer's report format cannot carry (not compared)."""
    fields = tuple(f for f in situation.fields if f not in uncarried)
    if latest:
        if not truths:
            return Result(situation.name, 0)
        if len(report) != 1:
            return Result(situation.name, 0, (f"expected the consumer's current state, got {len(report)} records",))
        last, state = truths[-1], report[0]
        names = [n for n in fields if n != "timestamp" or "timestamp" in state]
        return Result(situation.name, 1, tuple(_compare(names, last, state, last.get("timestamp", "?"), "state")))
    by_time: dict[datetime, tuple[int, Record]] = {}
    differences: list[tuple[datetime, str]] = []
    for i, record in enumerate(report):
        key = _instant(record, f"record {i + 1}")
        if key in by_time:
            twice = f"reported twice (records {by_time[key][0]} and {i + 1})"
            differences.append((key, f"telegram {record['timestamp']}: {twice}"))
        by_time[key] = (i + 1, record)
    expected_times = set()
    for expected in truths:
        at = expected["timestamp"]
        key = moment(at, "timestamp", "truth")
        expected_times.add(key)
        found = by_time.get(key)
        if found is None:
            differences.append((key, f"telegram {at}: intact, but the consumer reported nothing for it"))
            continue
        differences += [(key, d) for d in _compare(fields, expected, found[1], at, f"record {found[0]}")]
    for key, (i, record) in by_time.items():
        if key not in expected_times:
            differences.append((key, f"telegram {record['timestamp']}: reported (record {i}), but it was not sent "
                                     "intact (CRC error, cut off, or never sent): it had to be discarded"))
    differences.sort(key=lambda item: item[0])
    return Result(situation.name, len(truths), tuple(d for _, d in differences))
