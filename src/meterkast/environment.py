"""meterkast's environment variables: ``METERKAST_*``, and the old spelling ``MEETERKAST_*`` (issue 13).

Early releases spelled the prefix with a double E. ``get("METERKAST_CS_MASTER_KEY")`` reads the new name;
when only the old one is set it still works, and a warning on stderr names the new one (once per name per
process), so that a deployment keeps running while its configuration is put right. When both are set the
new name wins and the old one is named as ignored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

PREFIX = "METERKAST_"
OLD_PREFIX = "MEETERKAST_"

log = logging.getLogger("meterkast")
_warned: set[str] = set()


def old_name(name: str) -> str:
    if not name.startswith(PREFIX):
        raise ValueError(f"{name!r} is not a meterkast variable ({PREFIX}…)")
    return OLD_PREFIX + name.removeprefix(PREFIX)


def get(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of ``name`` (``METERKAST_…``), else of its old spelling with a warning, else ``default``."""
    env = os.environ if environ is None else environ
    old = old_name(name)
    if name in env:
        if old in env:
            _warn_once(old, f"{old} is ignored: {name} is set too (meterkast now spells it {PREFIX}…)")
        return env[name]
    if old in env:
        _warn_once(old, f"{old} is the old spelling; it still works, but set {name} instead")
        return env[old]
    return default


def is_set(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """A flag such as ``METERKAST_REQUIRE_PG``: set to anything but empty or ``0``."""
    return get(name, "", environ) not in ("", "0")


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning("%s", message)
