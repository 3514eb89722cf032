"""The meter cupboard dashboard: a Starlette app over the ``Control`` protocol (issue 5; docs/web.md).

``create_app(control)`` (``app.py``) serves the JSON API (``api.py``: one table of routes with their
schemas), its OpenAPI 3.1 document (``openapi.py``) and the static page under ``static/``.
"""

from meterkast.web.app import create_app

__all__ = ["create_app"]
