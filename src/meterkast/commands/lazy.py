"""Handlers imported when their command runs, not when the parser is built (issue 13 item 6).

``cli`` imports every commands module to build its parser, ``meterkast --help`` included; a module whose
handlers need the simulation, the stores, the servers or cryptography registers them through
``lazy_handler`` and keeps those imports in a module of its own, so that a quick command (``meter
identify``, ``mbus decode``, ``p1 parse``) starts without them (tests/commands/test_cli_startup.py).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Handler = Callable[[argparse.Namespace], int]


def lazy_handler(module: str, name: str) -> Handler:
    """A handler that imports ``module`` on its first call and runs its function ``name``."""

    def handler(args: argparse.Namespace) -> int:
        result: int = getattr(importlib.import_module(module), name)(args)
        return result

    handler.__name__ = handler.__qualname__ = name
    handler.__module__ = module
    return handler
