"""The dashboard beyond loopback in a real browser: it logs in first (issue 15; web/auth.py, docs/run.md).

``meterkast run --host 127.0.0.2`` (a loopback address, but not the default one: the web app asks for
its token) in a subprocess; Debian's chromium, driven by Playwright as in ``test_browser.py`` (skipped
without it unless METERKAST_REQUIRE_BROWSER is set), is sent to the login form, is refused a wrong
token, logs in with the one ``run`` printed, and breaks the seal from the dashboard: a control call that
goes through only with the session cookie and the CSRF header the page adds. The same call made by the
page without that header is refused (403), and the session cookie is HttpOnly, SameSite=Strict and not
the token.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.web.test_browser import RUN_START, Page, eventually, page, pump  # noqa: F401 - page is a fixture

GENEROUS_S = 60.0


@contextmanager
def guarded_run(data: Path) -> Iterator[tuple[str, str]]:
    """``meterkast run`` with its web app on 127.0.0.2; yields its base URL and the token it printed."""
    command = [sys.executable, "-m", "meterkast.cli", "run", "--fresh", "--data", str(data), "--no-p1",
               "--host", "127.0.0.2", "--http-port", "0", "--speed", "1", "--start", RUN_START, "--seed", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=data.parent)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=pump, args=(process.stdout, lines), name="meterkast-run-stdout", daemon=True).start()
    try:
        base = token = None
        deadline = time.monotonic() + GENEROUS_S
        while token is None and time.monotonic() < deadline and process.poll() is None:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if web := re.search(r"^web: (http://127\.0\.0\.2:\d+)/", line):
                base = web.group(1)
            if shown := re.search(r"^web token \(shown this once.*\): (\S+)$", line):
                token = shown.group(1)
        if base is None or token is None:
            process.kill()
            raise AssertionError(f"meterkast run did not announce its web app: {process.communicate(timeout=10)[1]}")
        with urllib.request.urlopen(f"{base}/login", timeout=GENEROUS_S) as response:  # open: no token needed
            assert response.status == 200
        yield base, token
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
    assert process.returncode == 0


def test_the_browser_logs_in_then_controls_the_meter(page: Page, tmp_path: Path) -> None:  # noqa: F811 - fixture
    with guarded_run(tmp_path / "data") as (base, token):
        failed: list[str] = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.request.method} {r.url}") if r.status > 399
                else None)
        page.goto(base)
        assert page.url == f"{base}/login", "sent to the login form first"

        page.fill("#token", "not-the-token")
        page.click("#login")
        eventually(lambda: page.is_visible("#login-error"), "the refusal of a wrong token", page)
        assert failed == [f"401 POST {base}/login"]

        page.fill("#token", token)
        page.click("#login")
        page.wait_for_selector("body[data-ready=true]")
        assert page.url == f"{base}/" and token not in page.url

        session = next(c for c in page.context.cookies() if c["name"].startswith("meterkast_session_"))
        assert session["httpOnly"] and session["sameSite"] == "Strict" and session["value"] != token
        assert token not in str(page.context.cookies())

        page.click("#break-seal")  # a control call: cookie + X-CSRF-Token, added by the page
        eventually(lambda: page.text_content("#seal-state") == "broken", "the seal broken", page)

        # What a forged request could send: the cookie without the CSRF header.
        status = page.evaluate("""() => fetch('/api/meter/battery/drain', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: JSON.stringify({fraction: 0.5})})
            .then(r => r.status)""")
        assert status == 403
        assert failed == [f"401 POST {base}/login", f"403 POST {base}/api/meter/battery/drain"]
