"""Alarms from E-meters, deduplicated while open (SYSTEM C1)."""

NAME = "alarms"
STATEMENTS = (
    """CREATE TABLE alarms (
        alarm_id {serial},
        emeter TEXT NOT NULL REFERENCES emeters (equipment_id),
        channel INTEGER NOT NULL CHECK (channel BETWEEN 0 AND 4),
        kind TEXT NOT NULL,
        raised_at {time} NOT NULL,
        acknowledged_at {time},
        closed_at {time}
    )""",
    "CREATE UNIQUE INDEX alarms_open ON alarms (emeter, channel, kind) WHERE closed_at IS NULL",
)
