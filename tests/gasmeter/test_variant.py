"""Gas meter variants (issue 11 item 9): how often the value for P2 is stored [P2-4.0.7 §6.1], [P1-5.0.2 §7.3]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from meterkast.gasmeter.variant import FIVE_MINUTES, HOUR, GasMeterVariant, is_period_mark, period_start

MOMENTS = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)).map(lambda d: d.replace(tzinfo=UTC))


def test_value_periods() -> None:
    assert GasMeterVariant.DSMR4.value_period == HOUR
    assert GasMeterVariant.SMR5.value_period == FIVE_MINUTES
    assert GasMeterVariant("smr5") is GasMeterVariant.SMR5


@given(moment=MOMENTS, period=st.sampled_from([FIVE_MINUTES, HOUR]))
def test_period_start_is_the_last_mark_at_or_before(moment: datetime, period: timedelta) -> None:
    start = period_start(moment, period)
    assert start <= moment < start + period
    assert is_period_mark(start, period)
    assert start.minute % (int(period.total_seconds()) // 60 % 60 or 60) == 0 and start.second == 0
    assert is_period_mark(moment, period) == (start == moment)
