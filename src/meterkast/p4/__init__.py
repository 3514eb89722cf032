"""P4: the central system's API for third parties (issue 6; SYSTEM C3, C4; docs/p4.md).

``create_p4_app(store, clock=..., token_source=..., admin_token=...)`` (``app.py``) serves the routes of
``routes.py`` (one table: role, fields, answers, store call) and their OpenAPI 3.1 document
(``openapi.py``) at ``/p4/openapi.json``. The rules of P4 are the store's (``meterkast.central``).
"""

from meterkast.p4.app import RedactQueryString, create_p4_app
from meterkast.p4.customers import CustomerTokens, InMemoryCustomerTokens

__all__ = ["CustomerTokens", "InMemoryCustomerTokens", "RedactQueryString", "create_p4_app"]
