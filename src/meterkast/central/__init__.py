"""The central system (CS): what it stores and the rules it keeps (SYSTEM C1–C4, issue 6).

``Store`` is the protocol; ``SqlStore`` / ``open_store`` the implementation for SQLite (default) and
PostgreSQL (production, through pg8000). The model lives in ``model``, the pure rules in ``rules``.
"""

from meterkast.central.keys_at_rest import KeySealer
from meterkast.central.model import (
    Alarm,
    AlarmKind,
    AuditEntry,
    Authorisation,
    AuthScope,
    Connection,
    Consent,
    ConsentLevel,
    EMeterRecord,
    Gap,
    GasMeterRecord,
    KeyKind,
    P4AccessRefused,
    P4Refusal,
    PeriodType,
    Reading,
    ThirdParty,
)
from meterkast.central.store import Store
from meterkast.central.store_sql import SqlStore, open_store

__all__ = [
    "Alarm", "AlarmKind", "AuditEntry", "AuthScope", "Authorisation", "Connection", "Consent", "ConsentLevel",
    "EMeterRecord", "Gap", "GasMeterRecord", "KeyKind", "KeySealer", "P4AccessRefused", "P4Refusal",
    "PeriodType", "Reading", "SqlStore", "Store", "ThirdParty", "open_store",
]
