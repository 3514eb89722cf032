"""Which generation of DSMR gas meter: how often it stores the value the E-meter reads (issue 11 item 9).

- ``DSMR4``: the DSMR 4.0.5 gas meter of the Liander manual. It keeps "the last whole hour" value for P2
  [P2-4.0.7 §6.1]; the E-meter reads it once an hour (DSMR-M 4.5.5), and P1 "transfers … the latest
  received hourly value & timestamp" [P1-4.2.2 §6.3]. A DSMR 5 E-meter shows these hourly values as
  they come.
- ``SMR5``: an SMR 5 gas meter. "P1 transfers every second the latest received 5-minute value &
  timestamp" [P1-5.0.2 §7.3]; the example telegram, sent at 11:30:20, shows the value "captured by the G
  meter at … 11h25m00s" [P1-5.0.2 §6.13]. So the meter stores its register at every 5-minute mark of its
  clock and the E-meter receives each one. The SMR 5 P2 text is not among the specs: the 5-minute
  value travels over the same P2 frames as the hourly one (``46 6D`` time stamp, ``4C 13`` volume).

Sans-I/O: pure data and arithmetic on aware datetimes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

HOUR = timedelta(hours=1)
FIVE_MINUTES = timedelta(minutes=5)


class GasMeterVariant(Enum):
    DSMR4 = "dsmr4"
    SMR5 = "smr5"

    @property
    def value_period(self) -> timedelta:
        """How often the meter stores the value it sends over P2 (module docstring)."""
        return FIVE_MINUTES if self is GasMeterVariant.SMR5 else HOUR


def period_start(moment: datetime, period: timedelta) -> datetime:
    """The start of the ``period`` (a whole number of minutes dividing an hour) that holds ``moment``."""
    minutes = int(period.total_seconds()) // 60
    if period >= HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(minute=moment.minute - moment.minute % minutes, second=0, microsecond=0)


def is_period_mark(moment: datetime, period: timedelta) -> bool:
    """``moment`` is exactly on a ``period`` mark (xx:00 for an hour, xx:05, xx:10 … for 5 minutes)."""
    return period_start(moment, period) == moment
