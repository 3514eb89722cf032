"""The AMR profile status byte of every load-profile entry [P3-4.2.2 §4.2.5].

One byte, the same for the E-meter (0-0:96.10.2) and each M-Bus channel (0-x:96.10.3):

    bit7 PDN  power down: an all-phase power failure occurred
    bit5 CAD  clock adjusted by more than the synchronisation limit; also sets DNV
    bit3 DST  daylight saving time active for the entry's clock
    bit2 DNV  data not valid: not for billing (time shift, or nothing recorded in the period)
    bit1 CIV  clock invalid: the clock's power reserve ran out; also sets DNV
    bit0 ERR  critical error; also sets DNV

Bits 6 and 4 are not used in DSMR 4.2.2, so SYSTEM E2's "recovered value" has no bit here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import IntFlag


class AmrStatus(IntFlag):
    ERR = 0x01
    CIV = 0x02
    DNV = 0x04
    DST = 0x08
    CAD = 0x20
    PDN = 0x80


NONE = AmrStatus(0)
# "At the same time the DNV flag is set" [P3-4.2.2 §4.2.5] for CAD, CIV and ERR.
IMPLIES_DNV = AmrStatus.CAD | AmrStatus.CIV | AmrStatus.ERR


def entry_status(flags: AmrStatus, clock: datetime) -> AmrStatus:
    """``flags`` completed with DST for ``clock`` (local, aware) and the DNV that CAD/CIV/ERR imply."""
    status = flags
    if clock.dst() not in (None, timedelta(0)):
        status |= AmrStatus.DST
    else:
        status &= ~AmrStatus.DST
    if status & IMPLIES_DNV:
        status |= AmrStatus.DNV
    return status
