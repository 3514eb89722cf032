"""The dashboard shows which M-Bus device is on each channel, in a real headless browser (manual §8).

``meterkast run --scenario water-heat``: water on 0-1, gas on 0-2, heat on 0-3 [P1-4.2.2 §6.3–6.5]. The
E-meter card lists every channel with its device type (0-n:24.1.0), equipment identifier and last hourly
value in its unit; the gas facts follow the channel whose device type is 003, not channel 1. Skipped
without chromium, as ``test_browser`` is.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from tests.web.test_browser import api_state, eventually, meterkast_run, page, table_column

__all__ = ["page"]  # the fixture, shared with test_browser


def test_the_dashboard_lists_the_device_on_every_channel(page: Page, tmp_path: Path) -> None:
    with meterkast_run(tmp_path / "data", "--scenario", "water-heat") as base:
        page.goto(base)
        page.wait_for_selector("body[data-ready=true]")
        page.click("[data-jump='86400']")  # a day, so every channel has an hourly value
        eventually(lambda: all(v.endswith(("m³", "GJ")) for v in table_column(page, "mbus-channels", 3))
                   and len(table_column(page, "mbus-channels", 3)) == 3, "a value on each channel", page)
        assert table_column(page, "mbus-channels", 0) == ["0-1", "0-2", "0-3"]
        assert table_column(page, "mbus-channels", 1) == ["water 007", "gas 003", "heat 004"]
        assert table_column(page, "mbus-channels", 2) == ["W0001987654321024", "G0001123456789012",
                                                          "T0001876543210024"]
        values = table_column(page, "mbus-channels", 3)
        state = api_state(base)["emeter"]["channels"]
        assert values == [f"{state[0]['value_m3']} m³", f"{state[1]['value_m3']} m³", f"{state[2]['value_m3']} GJ"]
        facts = page.text_content("#emeter-facts") or ""
        assert "gas, channel 2" in facts and state[1]["value_m3"] in facts
