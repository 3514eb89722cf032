"""meterkast: the Dutch smart gas metering chain, end to end.

Itron gas meter (SYSTEM G) → wired, encrypted M-Bus (P2, SYSTEM M) → DSMR E-meter and its P1 port
(SYSTEM E, P) → central system over P3 and third parties over P4 (SYSTEM C).
Nothing runs at import time; `meterkast.cli` is the composition root.
"""

__version__ = "0.1.0"
