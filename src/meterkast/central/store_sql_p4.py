"""P4 in SQL: third parties, authorisations and the audited access path (SYSTEM C3, DSMR-FACTS §5).

Rules this module keeps:
- a party's token is random and comes from the caller; the store keeps only its SHA-256 (a stolen
  database does not hand out access), and draws no randomness itself;
- an access is granted only if, at ``now``: the token names a party; that party holds an authorisation
  for the connection whose scope covers the one asked (``rules.COVERS``), within its period and not
  revoked (revocation takes effect at its instant); when the caller passes a meter number, it is that of
  a gas meter coupled to the connection at ``now`` (the number printed on the meter, spaces and case
  ignored: the party proves it knows the meter, DSMR-FACTS §5); the data asked for lies within the history depth
  (10 days hourly, 40 days daily, 13 months monthly) and not after ``now``; and the customer's consent
  allowed collecting it (SYSTEM C2);
- every attempt that names a well-formed request is written to the audit log, granted or refused, with
  the reason, in the same transaction that decides it; the customer lists it per connection;
- a refusal for an unknown connection reads like one for a connection without authorisation, so a
  party cannot probe which EAN codes exist; the meter number is checked only after the authorisation,
  so a party cannot probe meter numbers of connections it holds no authorisation for either;
- every refusal carries a ``P4Refusal`` code next to its text, so an API maps it without parsing text.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from meterkast.central import rules
from meterkast.central import store_sql_inventory as inv
from meterkast.central.model import (
    AuditEntry,
    Authorisation,
    AuthScope,
    Connection,
    P4Refusal,
    Reading,
    ThirdParty,
)
from meterkast.central.store_sql_db import Database, Row
from meterkast.central.store_sql_readings import check_consent, history_pairs, require_connection, select_readings
from meterkast.errors import ConsentRefused, InvalidInput

MIN_TOKEN_CHARS = 32  # e.g. secrets.token_urlsafe(32) gives 43
_PARTY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
Refusal = tuple[P4Refusal, str]
_AUTH_COLUMNS = "authorisation_id, party_id, connection, scope, valid_from, valid_to, granted_at, revoked_at"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def register_party(db: Database, party_id: str, name: str, token: str, at: datetime) -> ThirdParty:
    if not isinstance(party_id, str) or not _PARTY_ID.fullmatch(party_id):
        raise InvalidInput(f"party id {party_id!r} must be 1–64 letters, digits, '.', '_' or '-'")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"party name {name!r} must be a non-empty text")
    if not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS:
        raise InvalidInput(
            f"party token must be a random text of at least {MIN_TOKEN_CHARS} characters "
            "(e.g. secrets.token_urlsafe(32)); the token given is too short"
        )
    digest = token_hash(token)
    for existing_id, existing_name, existing_hash, registered in db.run(
        "SELECT party_id, name, token_sha256, registered_at FROM third_parties "
        "WHERE party_id = :party OR token_sha256 = :h",
        {"party": party_id, "h": digest},
    ):
        if (existing_id, existing_name, existing_hash) == (party_id, name, digest):
            return ThirdParty(party_id, name, db.dialect.time_from_db(registered))  # the same again
        if existing_id == party_id:
            raise InvalidInput(f"party id {party_id!r} is already registered with another name or token")
        raise InvalidInput(f"the token given for {party_id!r} is already in use; draw a new random token")
    db.run(
        "INSERT INTO third_parties (party_id, name, token_sha256, registered_at) VALUES (:party, :name, :h, :at)",
        {"party": party_id, "name": name, "h": digest, "at": db.dialect.time_to_db(at)},
    )
    return ThirdParty(party_id, name, at)


def party_for_token(db: Database, token: str) -> ThirdParty | None:
    """The registered party whose token has this SHA-256, or None (the token itself is never stored)."""
    rows = db.run("SELECT party_id, name, registered_at FROM third_parties WHERE token_sha256 = :h",
                  {"h": token_hash(token)})
    return None if not rows else ThirdParty(rows[0][0], rows[0][1], db.dialect.time_from_db(rows[0][2]))


def _authorisation(db: Database, row: Row) -> Authorisation:
    auth_id, party, ean, scope, valid_from, valid_to, granted, revoked = row
    t = db.dialect.time_from_db
    return Authorisation(
        int(auth_id), party, Connection(ean), AuthScope(scope), t(valid_from), t(valid_to), t(granted),
        t(revoked) if revoked is not None else None,
    )


def _select_authorisations(db: Database, where: str, params: dict[str, object]) -> list[Authorisation]:
    rows = db.run(f"SELECT {_AUTH_COLUMNS} FROM authorisations WHERE {where} ORDER BY authorisation_id", params)
    return [_authorisation(db, row) for row in rows]


def authorisations(db: Database, connection: Connection) -> list[Authorisation]:
    return _select_authorisations(db, "connection = :ean", {"ean": connection.ean})


def authorise(
    db: Database, party_id: str, connection: Connection, scope: AuthScope, span: tuple[datetime, datetime],
    *, at: datetime,
) -> Authorisation:
    if not isinstance(scope, AuthScope):
        raise InvalidInput(f"scope {scope!r} is not one of {[s.value for s in AuthScope]}")
    if span[1] <= span[0]:
        raise InvalidInput(
            f"authorisation period {span[0].isoformat()} – {span[1].isoformat()} ends before it begins"
        )
    if not db.run("SELECT 1 FROM third_parties WHERE party_id = :party", {"party": party_id}):
        raise InvalidInput(f"third party {party_id!r} is not registered; register_party first")
    require_connection(db, connection)
    to_db = db.dialect.time_to_db
    (auth_id,) = db.run(
        "INSERT INTO authorisations (party_id, connection, scope, valid_from, valid_to, granted_at) "
        "VALUES (:party, :ean, :scope, :vf, :vt, :at) RETURNING authorisation_id",
        {"party": party_id, "ean": connection.ean, "scope": scope.value, "vf": to_db(span[0]),
         "vt": to_db(span[1]), "at": to_db(at)},
    )[0]
    return Authorisation(int(auth_id), party_id, connection, scope, span[0], span[1], at)


def revoke(db: Database, authorisation_id: int, at: datetime) -> Authorisation:
    found = _select_authorisations(db, "authorisation_id = :id", {"id": authorisation_id})
    if not found:
        raise InvalidInput(f"authorisation {authorisation_id!r} does not exist")
    auth = found[0]
    if auth.revoked_at is not None:
        return auth  # revoked already: the first instant stands
    if at < auth.granted_at:
        raise InvalidInput(
            f"revocation at {at.isoformat()} lies before authorisation {authorisation_id} was granted "
            f"({auth.granted_at.isoformat()})"
        )
    db.run(
        "UPDATE authorisations SET revoked_at = :at WHERE authorisation_id = :id",
        {"at": db.dialect.time_to_db(at), "id": authorisation_id},
    )
    return _select_authorisations(db, "authorisation_id = :id", {"id": authorisation_id})[0]


def _authorisation_refusal(
    db: Database, party: str, connection: Connection, scope: AuthScope, *, now: datetime
) -> Refusal | None:
    covering = [
        auth for auth in _select_authorisations(db, "party_id = :party AND connection = :ean",
                                                {"party": party, "ean": connection.ean})
        if scope in rules.COVERS[auth.scope]
    ]
    if any(auth.in_force(now) for auth in covering):
        return None
    if not covering:
        return P4Refusal.NOT_AUTHORISED, (
            f"party {party!r} holds no authorisation for connection {connection} covering {scope.value} data"
        )
    last = covering[-1]
    if last.revoked_at is not None and last.revoked_at <= now:
        return P4Refusal.REVOKED, f"authorisation {last.authorisation_id} was revoked at {last.revoked_at.isoformat()}"
    return P4Refusal.OUTSIDE_PERIOD, (
        f"authorisation {last.authorisation_id} holds from {last.valid_from.isoformat()} to "
        f"{last.valid_to.isoformat()}, not at {now.isoformat()}"
    )


def normalise_meter_number(text: str) -> str:
    """A meter number as a person types it: spaces removed, upper case, the KIWA code's leading spaces
    restored (SYSTEM G13: 17 characters, a short KIWA code is padded with leading spaces)."""
    return "".join(text.split()).upper().rjust(17)


def _meter_refusal(db: Database, connection: Connection, meter_number: str, *, now: datetime) -> Refusal | None:
    """Refused unless ``meter_number`` is a gas meter coupled to ``connection`` at ``now`` (DSMR-FACTS §5)."""
    if not meter_number.strip():
        return P4Refusal.WRONG_METER_NUMBER, (
            f"no meter number was given; give the 17-character number printed on the gas meter of {connection}"
        )
    coupled = inv.couplings(
        db, "emeter IN (SELECT equipment_id FROM emeters WHERE connection = :ean)", {"ean": connection.ean}
    )
    if any(c.gas_meter == normalise_meter_number(meter_number) and c.coupled_at_instant(now) for c in coupled):
        return None
    # The number given is not repeated: the refusal must not help guessing, and it lands in the audit log.
    return P4Refusal.WRONG_METER_NUMBER, (
        f"the meter number given is not that of the gas meter at connection {connection}; give the 17-character "
        "number printed on the meter (KIWA code, serial number, year)"
    )


def _refusal(
    db: Database, party: str, connection: Connection, scope: AuthScope, span: tuple[datetime, datetime],
    *, now: datetime, meter_number: str | None,
) -> Refusal | None:
    """Why ``party`` may not have this data, or None when it may (all at ``now``)."""
    if span[1] > now:
        return P4Refusal.FUTURE_RANGE, (
            f"the request asks for data up to {span[1].isoformat()}, after now ({now.isoformat()})"
        )
    refusal = _authorisation_refusal(db, party, connection, scope, now=now)
    if refusal is None and meter_number is not None:
        refusal = _meter_refusal(db, connection, meter_number, now=now)
    if refusal is not None:
        return refusal
    oldest = rules.history_start(scope, now)
    if span[0] < oldest:
        return P4Refusal.HISTORY_DEPTH, (
            f"{scope.value} data goes back to {oldest.isoformat()} only (SYSTEM C3: 10 days hourly, 40 days "
            f"daily, 13 months monthly); the request starts at {span[0].isoformat()}"
        )
    try:
        check_consent(history_pairs(db, connection), connection, scope.period_type, span, ("passing on", now))
    except ConsentRefused as exc:
        return P4Refusal.NO_CONSENT, str(exc)
    return None


def access(
    db: Database, token: str, connection: Connection, scope: AuthScope, span: tuple[datetime, datetime],
    *, now: datetime, meter_number: str | None = None,
) -> tuple[list[Reading], Refusal | None]:
    """Decide, fetch and audit one P4 request; returns the readings and the refusal (None: granted).

    ``meter_number`` None skips the meter-number proof (callers inside the CS); the P4 API always passes one.
    """
    found = db.run("SELECT party_id FROM third_parties WHERE token_sha256 = :h", {"h": token_hash(token)})
    party: str | None = found[0][0] if found else None
    refusal: Refusal | None = (P4Refusal.UNKNOWN_TOKEN, "the token matches no registered third party") if (
        party is None
    ) else _refusal(db, party, connection, scope, span, now=now, meter_number=meter_number)
    reason = None if refusal is None else refusal[1]
    readings = select_readings(db, connection, scope.period_type, span) if reason is None else []
    to_db = db.dialect.time_to_db
    db.run(
        "INSERT INTO audit_log (attempted_at, party_id, connection, scope, data_from, data_to, granted, reason, "
        "readings) VALUES (:at, :party, :ean, :scope, :lo, :hi, :granted, :reason, :n)",
        {"at": to_db(now), "party": party, "ean": connection.ean, "scope": scope.value, "lo": to_db(span[0]),
         "hi": to_db(span[1]), "granted": int(reason is None), "reason": reason or "granted", "n": len(readings)},
    )
    return readings, refusal


def audit_log(db: Database, connection: Connection) -> list[AuditEntry]:
    require_connection(db, connection)
    t = db.dialect.time_from_db
    rows = db.run(
        "SELECT entry_id, attempted_at, party_id, connection, scope, data_from, data_to, granted, reason, readings "
        "FROM audit_log WHERE connection = :ean ORDER BY entry_id",
        {"ean": connection.ean},
    )
    return [
        AuditEntry(int(i), t(at), party, ean, AuthScope(scope), t(lo), t(hi), bool(granted), reason, int(n))
        for i, at, party, ean, scope, lo, hi, granted, reason, n in rows
    ]
