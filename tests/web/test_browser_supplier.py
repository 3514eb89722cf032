"""The supplier's invoice panel in a real headless browser (SYSTEM G4; manual §9, Drukaanpassing).

The dashboard over the fake Control (the real gas meter model), as in test_browser.py, whose fixtures
this reuses (skipped without chromium/Playwright unless METERKAST_REQUIRE_BROWSER is set). The panel
must show what ``/api/supplier`` answers: the 2015 pressure factor, the calorific value with its source,
and per period the metered volume, m³(n), MJ and kWh, for the profile and period chosen.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

from meterkast.web.app import create_app
from tests.web.fake_control import FakeControl
from tests.web.test_browser import Page, eventually, page, serve, table_column

__all__ = ["page"]  # the fixture, imported so that pytest finds it here


def api_supplier(base: str, query: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base}/api/supplier/{query}", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_the_supplier_panel_shows_the_corrected_volume_and_energy(page: Page, tmp_path: Path) -> None:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    with serve(create_app(FakeControl())) as base:
        page.goto(base)
        page.wait_for_selector("body[data-ready=true]")
        page.click("[data-jump='604800']")  # a week: daily values to invoice
        rows = eventually(lambda: (cells := table_column(page, "supplier-periods", 1)) and cells[0] != "" and
                          cells[0][0].isdigit() and cells, "daily periods in the supplier panel", page)
        view = api_supplier(base, "daily?by=reading")
        assert len(rows) == len(view["periods"]) >= 5
        assert rows[0] == view["periods"][-1]["metered_m3"]  # newest first, as the API gives it
        assert table_column(page, "supplier-periods", 2)[0] == "1.002160864"
        facts = page.text_content("#supplier-facts") or ""
        assert f"{view['total']['energy_kwh']} kWh" in facts and "35.17 MJ/m³(n)" in facts
        sources = " ".join(table_column(page, "supplier-parameters", 2))
        assert "ACM Codebesluit Administratieve Volumeherleiding" in sources and "SYSTEM G4" in sources

        page.click("[data-supplier-kind='hourly']")
        page.click("[data-supplier-by='day']")
        by_day = api_supplier(base, "hourly?by=day")
        eventually(lambda: table_column(page, "supplier-periods", 5)[:1] == [by_day["periods"][-1]["energy_kwh"]],
                   "hourly values summed per day", page)
        page.locator(".card-supplier").screenshot(path=str(tmp_path / "supplier.png"))
    assert problems == []
