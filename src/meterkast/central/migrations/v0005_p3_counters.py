"""The central system's own P3 invocation counter per E-meter (DSMR P3 §3.2.3.1; docs/p3.md "Counters").

``next_free`` is the first counter value not yet handed out: the CS reserves blocks below it before it uses
them, so a restarted CS starts at ``next_free`` and never repeats an IV under a meter's key. BIGINT: the
counter is an Unsigned32 and ``next_free`` may be 2^32.
"""

NAME = "P3 invocation counters of the central system"
STATEMENTS = (
    """CREATE TABLE p3_counters (
        emeter TEXT PRIMARY KEY,
        next_free BIGINT NOT NULL CHECK (next_free >= 0 AND next_free <= 4294967296)
    )""",
)
