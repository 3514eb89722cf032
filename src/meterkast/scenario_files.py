"""Scenario and weather files at the edge: read the text, hand it to the sans-I/O parsers (issue 5).

``load_scenario(name_or_path)`` takes a path to a TOML file, or the name of a scenario shipped in
``meterkast/scenarios/`` (``default``, ``dst-autumn``, ``meter-swap``, ``faults``, ``second-device``,
``smr5``);
None means ``default``, the embedded defaults of ``meterkast run``. ``load_weather()`` reads the packaged
De Bilt series (``meterkast/data/de_bilt_1991_2020.csv``). Reading goes through ``importlib.resources``,
so both work from a wheel as well as from a source tree.

Errors: a file that cannot be read, an unknown builtin name, or a file that breaks a rule all raise
``InvalidInput`` naming the file (``parse_scenario`` adds the key path and the rule).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from meterkast.errors import InvalidInput
from meterkast.sim.scenario import Scenario, parse_scenario
from meterkast.sim.weather import WeatherSeries, parse_weather_csv

DEFAULT_SCENARIO = "default"
WEATHER_FILE = "de_bilt_1991_2020.csv"
_PACKAGE = "meterkast"


def builtin_scenarios() -> list[str]:
    """Names of the scenarios shipped with the package."""
    folder = resources.files(_PACKAGE).joinpath("scenarios")
    return sorted(entry.name.removesuffix(".toml") for entry in folder.iterdir() if entry.name.endswith(".toml"))


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or "\\" in text or Path(text).exists()


def scenario_text(name_or_path: str | None) -> tuple[str, str]:
    """(source name for messages, TOML text) of a scenario file or builtin."""
    name = name_or_path or DEFAULT_SCENARIO
    if _looks_like_path(name):
        path = Path(name)
        try:
            return str(path), path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read scenario file {path}: {exc}") from exc
    if name not in builtin_scenarios():
        raise InvalidInput(
            f"no scenario file {name!r} and no builtin scenario of that name; builtins: "
            f"{', '.join(builtin_scenarios())} (or give a path ending in .toml)"
        )
    resource = resources.files(_PACKAGE).joinpath("scenarios", f"{name}.toml")
    return f"builtin scenario {name} (meterkast/scenarios/{name}.toml)", resource.read_text(encoding="utf-8")


def load_scenario(name_or_path: str | None) -> Scenario:
    """The validated scenario from a path or a builtin name (None: ``default``)."""
    source, text = scenario_text(name_or_path)
    return parse_scenario(text, source=source)


def load_weather() -> WeatherSeries:
    """The packaged De Bilt typical year (KNMI normals 1991–2020; source and licence in the file)."""
    resource = resources.files(_PACKAGE).joinpath("data", WEATHER_FILE)
    return parse_weather_csv(resource.read_text(encoding="utf-8"))
