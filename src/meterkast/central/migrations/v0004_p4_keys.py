"""P4 third parties, authorisations and audit log (SYSTEM C3); meter keys sealed at rest (SYSTEM C4)."""

NAME = "P4 and keys at rest"
STATEMENTS = (
    """CREATE TABLE third_parties (
        party_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        token_sha256 TEXT NOT NULL UNIQUE,
        registered_at {time} NOT NULL
    )""",
    """CREATE TABLE authorisations (
        authorisation_id {serial},
        party_id TEXT NOT NULL REFERENCES third_parties (party_id),
        connection TEXT NOT NULL REFERENCES connections (ean),
        scope TEXT NOT NULL CHECK (scope IN ('hourly', 'daily', 'monthly')),
        valid_from {time} NOT NULL,
        valid_to {time} NOT NULL,
        granted_at {time} NOT NULL,
        revoked_at {time},
        CHECK (valid_to > valid_from)
    )""",
    "CREATE INDEX authorisations_by_party ON authorisations (party_id, connection)",
    # No foreign key on connection: a refused request for an unknown EAN is audited too.
    """CREATE TABLE audit_log (
        entry_id {serial},
        attempted_at {time} NOT NULL,
        party_id TEXT,
        connection TEXT NOT NULL,
        scope TEXT NOT NULL,
        data_from {time} NOT NULL,
        data_to {time} NOT NULL,
        granted INTEGER NOT NULL CHECK (granted IN (0, 1)),
        reason TEXT NOT NULL,
        readings INTEGER NOT NULL
    )""",
    "CREATE INDEX audit_log_by_connection ON audit_log (connection, entry_id)",
    """CREATE TABLE meter_keys (
        equipment_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        nonce {blob} NOT NULL,
        sealed {blob} NOT NULL,
        stored_at {time} NOT NULL,
        PRIMARY KEY (equipment_id, kind, version)
    )""",
)
