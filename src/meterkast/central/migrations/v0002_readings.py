"""Gas readings keyed by (connection, gas meter, period type, capture time) (SYSTEM C1, E2)."""

NAME = "gas readings"
STATEMENTS = (
    """CREATE TABLE readings (
        connection TEXT NOT NULL REFERENCES connections (ean),
        gas_meter TEXT NOT NULL,
        period_type TEXT NOT NULL CHECK (period_type IN ('interval', 'daily', 'monthly')),
        capture_time {time} NOT NULL,
        channel INTEGER NOT NULL CHECK (channel BETWEEN 1 AND 4),
        value_m3 {decimal} NOT NULL,
        amr_status INTEGER NOT NULL CHECK (amr_status BETWEEN 0 AND 255),
        log_time {time} NOT NULL,
        PRIMARY KEY (connection, gas_meter, period_type, capture_time)
    )""",
    "CREATE INDEX readings_by_time ON readings (connection, period_type, capture_time)",
)
