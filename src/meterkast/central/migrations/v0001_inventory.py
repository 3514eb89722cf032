"""Connections, E-meters, gas meter couplings with history (SYSTEM M3), consent history (SYSTEM C2)."""

NAME = "inventory and consent"
STATEMENTS = (
    """CREATE TABLE connections (
        ean TEXT PRIMARY KEY CHECK (length(ean) = 18)
    )""",
    """CREATE TABLE emeters (
        equipment_id TEXT PRIMARY KEY,
        connection TEXT NOT NULL REFERENCES connections (ean),
        installed_at {time} NOT NULL
    )""",
    """CREATE TABLE gas_couplings (
        coupling_id {serial},
        emeter TEXT NOT NULL REFERENCES emeters (equipment_id),
        channel INTEGER NOT NULL CHECK (channel BETWEEN 1 AND 4),
        gas_meter TEXT NOT NULL,
        coupled_at {time} NOT NULL,
        decoupled_at {time},
        CHECK (decoupled_at IS NULL OR decoupled_at > coupled_at)
    )""",
    # At most one open coupling per channel, and a gas meter hangs on one channel at a time.
    "CREATE UNIQUE INDEX gas_couplings_open_channel ON gas_couplings (emeter, channel) WHERE decoupled_at IS NULL",
    "CREATE UNIQUE INDEX gas_couplings_open_meter ON gas_couplings (gas_meter) WHERE decoupled_at IS NULL",
    "CREATE INDEX gas_couplings_by_emeter ON gas_couplings (emeter, channel, coupled_at)",
    """CREATE TABLE consents (
        connection TEXT NOT NULL REFERENCES connections (ean),
        valid_from {time} NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('none', 'standard', 'detailed')),
        recorded_at {time} NOT NULL,
        PRIMARY KEY (connection, valid_from)
    )""",
)
