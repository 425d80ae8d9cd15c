"""Many targets at once in real Chromium against ``ssmux demo``: broadcast input, and "Run command…".

The same demo as ``test_browser_e2e.py`` (``ssmux demo --no-show``, Debian's Chromium). Keys typed with the
real keyboard into one terminal reach both tabs while broadcast is on, and each tab shows the banner; the
Run dialog runs one command on the three dev web servers. Fails on any console error of the page.
"""

from __future__ import annotations

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

from .test_browser_e2e import TIMEOUT_MS, Demo, demo, dev_id, expected_pairs, wait_for_text

pytestmark = pytest.mark.e2e
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright: pip install playwright")

__all__ = ["demo"]  # the fixture, shared with test_browser_e2e.py


def test_broadcast_and_run_command_in_chromium(demo: Demo) -> None:
    """Two tabs, broadcast on: a line typed in one shows in both, under the banner; then the Run dialog."""
    errors: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1300, "height": 800})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            page.on(
                "console", lambda message: errors.append(message.text) if message.type == "error" else None
            )
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(demo.url)
            page.get_by_role("button", name="Sync all").click()
            page.get_by_text(f"synced {expected_pairs()} pairs").wait_for()

            for name in ("web-3", "web-2"):
                page.locator(".ssmux-row", has_text=dev_id(name)).dblclick()
                page.locator(".q-tab", has_text=name).wait_for()
                wait_for_text(page, rf"ec2-user@{name}:~\$")

            page.locator(".q-btn:has(i:text('settings_input_antenna'))").click()
            page.get_by_role("button", name="Start broadcasting").click()
            banner = page.locator(".q-tab-panel:visible").get_by_text(
                "Broadcast on: keys typed here also go to"
            )
            banner.wait_for()
            page.locator(".q-tab-panel:visible .xterm").click()
            page.keyboard.type("echo both-$((6*7))\n")
            wait_for_text(page, r"^both-42$")
            page.locator(".q-tab", has_text="web-3").click()
            wait_for_text(page, r"^both-42$")
            page.locator(".q-tab-panel:visible").get_by_text(
                "Broadcast on: keys typed here also go to"
            ).wait_for()
            page.locator(".q-tab-panel:visible").get_by_role("button", name="Stop").click()
            banner.wait_for(state="hidden")

            page.locator(".q-btn:has(i:text('playlist_play'))").click()
            search = page.get_by_placeholder("Filter: name, id, tag, IP…")
            for name in ("web-2", "web-3"):
                search.fill(dev_id(name))
                page.get_by_role("checkbox", name=f"{name} · {dev_id(name)}").wait_for()
                page.get_by_role("button", name="All", exact=True).click()
            page.get_by_text("2 of ").wait_for()
            command = page.get_by_label("Command (run by sh on each target)")
            command.fill('echo "hi from $SSMUX_TARGET"')
            command.press("Enter")
            page.get_by_text("2 targets: 2 ok, 0 failed, 0 unreachable").wait_for()
            page.locator(".q-expansion-item", has_text=dev_id("web-3")).locator(".q-item").first.click()
            page.get_by_text("hi from web-3").wait_for()
            context.close()
        finally:
            browser.close()
    assert not errors, f"browser console errors: {errors}"
