"""Errors of the P4 API and the one table that turns them into HTTP answers (SYSTEM C3, C4).

::

    MeterkastError
    ├── ApiRefusal                 the API's own refusals: no/bad token (401), wrong connection (403),
    │                              unknown connection or authorisation (404), body too large (413)
    ├── InvalidInput
    │   └── FieldError             a request field is malformed, missing or unknown (422, names the field)
    └── CommandRefused
        └── ConsentRefused
            └── P4AccessRefused    the store refused a party's read (``REFUSAL_ANSWERS``: 401/403/422)

Rules this module keeps:
- every answer is ``{"error": code, "message": text}`` plus ``"field"`` when one field is to blame; the
  code is stable (``ERROR_CODES``), the message says what was wrong and why;
- ``answer_for`` maps only the errors above (and the store's ``ClockError``/``InvalidInput``, 422);
  anything else is a bug and propagates as a 500, never swallowed;
- 401 answers carry ``WWW-Authenticate: Bearer`` (RFC 6750 §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from meterkast.central.model import P4AccessRefused, P4Refusal
from meterkast.errors import ClockError, ConsentRefused, InvalidInput, MeterkastError

BEARER_CHALLENGE = 'Bearer realm="p4"'


class ApiRefusal(MeterkastError):
    """A refusal the API decides itself, with its HTTP status and stable code."""

    def __init__(
        self, status: int, code: str, message: str, *, field: str | None = None, challenge: bool = False
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = {"WWW-Authenticate": BEARER_CHALLENGE} if challenge or status == 401 else {}


class FieldError(InvalidInput):
    """One request field is malformed (``invalid_field``), missing or unknown; ``field`` names it."""

    def __init__(self, field: str, message: str, code: str = "invalid_field") -> None:
        super().__init__(message)
        self.field, self.code = field, code


# The store's refusal of a party read → (status, code, field to blame). Total over P4Refusal (tested).
REFUSAL_ANSWERS: dict[P4Refusal, tuple[int, str, str | None]] = {
    P4Refusal.UNKNOWN_TOKEN: (401, "invalid_token", None),
    P4Refusal.FUTURE_RANGE: (422, "future_range", "query.to"),
    P4Refusal.NOT_AUTHORISED: (403, "not_authorised", None),
    P4Refusal.REVOKED: (403, "authorisation_revoked", None),
    P4Refusal.OUTSIDE_PERIOD: (403, "authorisation_not_in_force", None),
    P4Refusal.WRONG_METER_NUMBER: (403, "wrong_meter_number", "header.X-Meter-Number"),
    P4Refusal.HISTORY_DEPTH: (403, "history_depth", "query.from"),
    P4Refusal.NO_CONSENT: (403, "no_consent", None),
}

# Codes the API itself gives (besides REFUSAL_ANSWERS), with their status.
API_CODES: dict[str, int] = {
    "ambiguous_body_length": 400,  # Transfer-Encoding and Content-Length both (io/http_limits.py)
    "missing_token": 401,  # no Authorization: Bearer header
    "invalid_authorization": 401,  # an Authorization header that is not "Bearer <token>"
    "invalid_token": 401,  # a token that names no admin, customer or party
    "token_in_url": 401,  # a credential in the query string: refused unread
    "wrong_connection": 403,  # a customer token used for another connection
    "unknown_connection": 404,
    "unknown_authorisation": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,  # the body did not arrive in time (io/http_limits.py, in front of the app)
    "body_too_large": 413,
    "headers_too_large": 431,  # request line and headers over the limit (io/http_limits.py)
    "malformed_json": 422,
    "invalid_field": 422,
    "missing_field": 422,
    "unknown_field": 422,
    "invalid_time": 422,
    "invalid_input": 422,
}
ERROR_CODES: tuple[str, ...] = tuple(sorted({*API_CODES, *(code for _, code, _ in REFUSAL_ANSWERS.values())}))


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)


def _answer(status: int, code: str, message: str, field: str | None = None, **headers: str) -> Answer:
    body = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    return Answer(status, body, dict(headers))


def answer_for(exc: MeterkastError) -> Answer | None:  # noqa: PLR0911 - one return per error kind reads best
    """The HTTP answer for an error the API maps, or None (then it is a bug: let it propagate)."""
    if isinstance(exc, ApiRefusal):
        return _answer(exc.status, exc.code, exc.message, exc.field, **exc.headers)
    if isinstance(exc, P4AccessRefused):
        status, code, blamed = REFUSAL_ANSWERS[exc.refusal]
        headers = {"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'} if status == 401 else {}
        return _answer(status, code, str(exc), blamed, **headers)
    if isinstance(exc, ConsentRefused):
        return _answer(403, "no_consent", str(exc))
    if isinstance(exc, FieldError):
        return _answer(422, exc.code, str(exc), exc.field)
    if isinstance(exc, ClockError):
        return _answer(422, "invalid_time", str(exc))
    if isinstance(exc, InvalidInput):
        return _answer(422, "invalid_input", str(exc))
    return None
